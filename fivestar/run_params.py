"""What one run was asked to do: the period / county / force parameters, checked.

In: the values as an operator typed them, on the `fivestar run` command line or as
Prefect deployment parameters (`-p county=410522` arrives as the integer 410522,
`-p period=2026-11` as text). Out: a `RunParams` with a 6-digit county code and a
`YYYY-MM` period, or an `InvalidRunParameter` whose message says what to type.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
COUNTY = re.compile(r"^\d{6}$")


class InvalidRunParameter(ValueError):
    """A run parameter that cannot be used (English, for the operator)."""


@dataclass(frozen=True)
class RunParams:
    period: str | None = None
    county: str | None = None
    force: bool = False

    def as_dict(self) -> dict[str, str | bool | None]:
        return {"period": self.period, "county": self.county, "force": self.force}


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    text = str(value).strip()
    return text or None


def parse_run_params(period: object = None, county: object = None, force: object = False) -> RunParams:
    """Normalise what was typed; raise InvalidRunParameter with the expected form."""
    p, c = _text(period), _text(county)
    if p is not None and not PERIOD.match(p):
        raise InvalidRunParameter(f"period {p!r} is not a month written YYYY-MM (e.g. 2026-11)")
    if c is not None and not COUNTY.match(c):
        raise InvalidRunParameter(f"county {c!r} is not a 6-digit county code (e.g. 410522)")
    if isinstance(force, str):
        if force.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise InvalidRunParameter(f"force {force!r} is not true or false")
        force = force.strip().lower() in ("true", "1", "yes")
    return RunParams(period=p, county=c, force=bool(force))


def check_registered(params: RunParams, county_codes: Collection[str]) -> None:
    """A named county must be in the registry: a typo would otherwise process nothing, silently."""
    if params.county is not None and params.county not in county_codes:
        raise InvalidRunParameter(f"county {params.county} is not a county in registry.csv")
