"""Ingest: discover, archive and read county workbooks."""
