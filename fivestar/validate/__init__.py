"""Validation: GX suites per sheet plus cross-sheet rules → findings."""
