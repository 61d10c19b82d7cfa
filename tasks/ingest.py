"""Prefect tasks around the ingest stage: discover, archive + read.

In/out as the wrapped functions in fivestar.ingest. No logic lives here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from fivestar.config import Limits, Rulebook
from fivestar.ingest.discover import Discovery, FileVersion, archive, discover
from fivestar.ingest.read import ParsedWorkbook, read_workbook


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(raw_dir: Path, county_codes: frozenset[str], known: pd.DataFrame, period: str | None, county: str | None, force: bool) -> Discovery:
    return discover(raw_dir, county_codes, known, period=period, county=county, force=force)


@task(name="archive-and-read", cache_policy=NO_CACHE)
def read_task(versions: list[FileVersion], archive_dir: Path, rb: Rulebook, limits: Limits, id_key: str) -> list[tuple[Path, ParsedWorkbook]]:
    out = []
    for fv in versions:
        archived = archive(fv, archive_dir)  # before reading: nothing received is ever lost
        out.append((archived, read_workbook(archived, rb, limits, file_key=fv.sha256, id_key=id_key)))
    return out
