"""Prefect tasks: thin wrappers around the stage functions in fivestar/."""
