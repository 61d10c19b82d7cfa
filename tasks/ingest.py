"""Prefect tasks around the ingest stage: discover, then archive + read a period's files.

In/out as the wrapped functions in fivestar.ingest. No logic lives here.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from fivestar.config import Limits, Registry, Rulebook
from fivestar.ingest.discover import Discovery, FileVersion, archive_many, discover
from fivestar.ingest.parallel import prestart, read_many
from fivestar.ingest.read import ParsedWorkbook
from fivestar.validate.engine import rules_after_read
from fivestar.validate.inputs import Prior


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(
    raw_dir: Path,
    county_codes: frozenset[str],
    known: pd.DataFrame,
    period: str | None,
    county: str | None,
    force: bool,
    settle: float = 0.0,
) -> Discovery:
    # The clock is read here, not in discover(): there `now` is a parameter (tests set it).
    return discover(
        raw_dir,
        county_codes,
        known,
        period=period,
        county=county,
        force=force,
        now=time.time(),
        settle=settle,
    )


@task(name="archive-and-read", cache_policy=NO_CACHE)
def read_task(
    versions: list[FileVersion],
    archive_dir: Path,
    rb: Rulebook,
    limits: Limits,
    id_key: str,
    registry: Registry | None = None,
    priors: dict[str, Prior] | None = None,
) -> tuple[list[tuple[Path, ParsedWorkbook]], list[tuple[FileVersion, str]]]:
    """(archived path, parsed) for each version archived, in order; (version, error) for
    each that could not be archived (a full disk): not read, its county fails this run."""
    # Archive before reading: nothing received is ever lost, whatever the reader does.
    done, unarchived = archive_many(versions, archive_dir)
    if not done:
        return [], unarchived
    versions = [fv for fv, _ in done]
    archived = [a for _, a in done]
    items = [(a, fv.sha256) for fv, a in done]
    if registry is None or priors is None:
        parsed = read_many(items, rb, limits, id_key)
    else:  # the per-file validation rules run in the reader processes too
        args = [
            (fv.county_code, fv.period, fv.version, priors.get(fv.county_code, Prior())) for fv in versions
        ]
        parsed = read_many(
            items, rb, limits, id_key, then=rules_after_read, then_shared=(registry,), then_args=args
        )
    return list(zip(archived, parsed, strict=True)), unarchived


def prestart_readers(rb: Rulebook, limits: Limits, id_key: str, registry: Registry) -> None:
    """Spawn the reader processes now, for read_task(..., registry, priors) to take (a
    plain call, not a task): their imports overlap the flow's work before the reading."""
    prestart(rb, limits, id_key, then_shared=(registry,))
