"""What one run was asked to do: the period / county / force parameters, checked.

In: the values as an operator typed them, on the `fivestar run` command line or as
Prefect deployment parameters (`-p county=410522` arrives as the integer 410522,
`-p period=2026-11` as text; `now` as `YYYY-MM-DDTHH:MM[:SS]`, Asia/Shanghai). Out: a
`RunParams` with a 6-digit county code, a `YYYY-MM` period and the run's clock, or an
`InvalidRunParameter` whose message says what to type.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
COUNTY = re.compile(r"^\d{6}$")
NOW = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")
SHANGHAI = ZoneInfo("Asia/Shanghai")


class InvalidRunParameter(ValueError):
    """A run parameter that cannot be used (English, for the operator)."""


@dataclass(frozen=True)
class RunParams:
    period: str | None = None
    county: str | None = None
    force: bool = False
    now: str | None = None  # the run's clock, YYYY-MM-DDTHH:MM:SS Asia/Shanghai (None: the real one)

    def as_dict(self) -> dict[str, str | bool | None]:
        out: dict[str, str | bool | None] = {
            "period": self.period,
            "county": self.county,
            "force": self.force,
        }
        if self.now is not None:
            out["now"] = self.now
        return out

    def clock(self) -> dt.datetime | None:
        """`now` as an aware datetime (Asia/Shanghai), or None for the real clock."""
        return None if self.now is None else parse_now(self.now)


def parse_now(value: str) -> dt.datetime:
    """`YYYY-MM-DDTHH:MM[:SS]` (Asia/Shanghai wall clock) as an aware datetime."""
    text = str(value).strip()
    if not NOW.match(text):
        raise InvalidRunParameter(f"now {text!r} is not a time written YYYY-MM-DDTHH:MM[:SS] (Asia/Shanghai)")
    try:
        return dt.datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=SHANGHAI)
    except ValueError as exc:
        raise InvalidRunParameter(f"now {text!r} is not a valid time ({exc})") from exc


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    text = str(value).strip()
    return text or None


def parse_run_params(
    period: object = None, county: object = None, force: object = False, now: object = None
) -> RunParams:
    """Normalise what was typed; raise InvalidRunParameter with the expected form."""
    p, c, n = _text(period), _text(county), _text(now)
    if n is not None:
        n = parse_now(n).replace(tzinfo=None).isoformat(timespec="seconds")
    if p is not None and not PERIOD.match(p):
        raise InvalidRunParameter(f"period {p!r} is not a month written YYYY-MM (e.g. 2026-11)")
    if c is not None and not COUNTY.match(c):
        raise InvalidRunParameter(f"county {c!r} is not a 6-digit county code (e.g. 410522)")
    if isinstance(force, str):
        if force.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise InvalidRunParameter(f"force {force!r} is not true or false")
        force = force.strip().lower() in ("true", "1", "yes")
    return RunParams(period=p, county=c, force=bool(force), now=n)


def check_registered(params: RunParams, county_codes: Collection[str]) -> None:
    """A named county must be in the registry: a typo would otherwise process nothing, silently."""
    if params.county is not None and params.county not in county_codes:
        raise InvalidRunParameter(f"county {params.county} is not a county in registry.csv")
