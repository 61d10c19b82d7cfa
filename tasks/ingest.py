"""Prefect tasks around the ingest stage: discover, then archive + read a period's files.

In/out as the wrapped functions in fivestar.ingest. No logic lives here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from fivestar.config import Limits, Registry, Rulebook
from fivestar.ingest.discover import Discovery, FileVersion, archive, discover
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
) -> Discovery:
    return discover(raw_dir, county_codes, known, period=period, county=county, force=force)


@task(name="archive-and-read", cache_policy=NO_CACHE)
def read_task(
    versions: list[FileVersion],
    archive_dir: Path,
    rb: Rulebook,
    limits: Limits,
    id_key: str,
    registry: Registry | None = None,
    priors: dict[str, Prior] | None = None,
) -> list[tuple[Path, ParsedWorkbook]]:
    # Archive before reading: nothing received is ever lost, whatever the reader does.
    archived = [archive(fv, archive_dir) for fv in versions]
    items = [(a, fv.sha256) for a, fv in zip(archived, versions, strict=True)]
    if registry is None or priors is None:
        parsed = read_many(items, rb, limits, id_key)
    else:  # the per-file validation rules run in the reader processes too
        args = [
            (fv.county_code, fv.period, fv.version, priors.get(fv.county_code, Prior())) for fv in versions
        ]
        parsed = read_many(
            items, rb, limits, id_key, then=rules_after_read, then_shared=(registry,), then_args=args
        )
    return list(zip(archived, parsed, strict=True))


def prestart_readers(rb: Rulebook, limits: Limits, id_key: str, registry: Registry) -> None:
    """Spawn the reader processes now, for read_task(..., registry, priors) to take (a
    plain call, not a task): their imports overlap the flow's work before the reading."""
    prestart(rb, limits, id_key, then_shared=(registry,))
