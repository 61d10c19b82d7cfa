"""Deterministic injection of known problems into generated workbooks.

In: the list of (county, month) files, the seed, and then one `FileBuild` at a time
with its `MonthContext` (is it the county's last generated month, what the validator
will hold as the previous accepted month). Out: a plan (which files stay clean, which
get warnings only, which get errors) and the problems themselves, each recorded as a
`Pending` issue on the `FileBuild`.

Shares are fixed (`ERROR_SHARE`, `WARNING_SHARE`, each at least one file when there
are three or more files). Errors go to the last generated month first, so an earlier
month a later one is compared with stays accepted. Problems whose effect would spill
into the next month (a rate written as 0.95, a jump, a falling 累计) are only put into
a county's last month, and the consequential warning they cause against the previous
month is recorded too. Each kind of problem is listed in `WARNING_KINDS` / `ERROR_KINDS`
with the finding the validator must raise; kinds rotate across files so a small run
still covers many of them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fivestar.sample.build import FileBuild
from fivestar.sample.inject.edits import Inject, MonthContext, resident_id
from fivestar.sample.inject.errors import (
    e_age_out_of_range,
    e_bad_type,
    e_bad_yesno,
    e_blank_submitter,
    e_code_not_in_roster,
    e_date_outside_month,
    e_duplicate_code,
    e_fraction_in_int,
    e_item_not_applicable,
    e_members_below_3,
    e_missing_indicator_row,
    e_non_numeric,
    e_overdraw,
    e_period_mismatch,
    e_rate_out_of_range,
    e_veto_invalid,
    e_wrong_points,
    s_corrupt,
    s_missing_column,
    s_missing_sheet,
)
from fivestar.sample.inject.warnings import (
    w_age_over_60,
    w_county_name_mismatch,
    w_cumulative_decrease,
    w_email_invalid,
    w_members_over_500,
    w_phone_blank,
    w_rate_fraction,
    w_rate_jump,
    w_satisfaction_all_100,
    w_text_number,
)
from fivestar.sample.inject.warnings_rows import (
    w_cap_overflow,
    w_extra_column,
    w_missing_from_roster,
    w_not_in_registry,
    w_resident_id,
)

__all__ = [
    "ERROR_KINDS",
    "ERROR_SHARE",
    "STRUCTURAL_KINDS",
    "WARNING_KINDS",
    "WARNING_SHARE",
    "FilePlan",
    "MonthContext",
    "inject",
    "plan_files",
    "resident_id",
]

ERROR_SHARE = 0.15
WARNING_SHARE = 0.25


@dataclass(frozen=True)
class FilePlan:
    category: str  # clean | warning | error
    index: int  # running number among files of the same category (drives the rotation)


def plan_files(
    files: list[tuple[int, int]], n_months: int, seed: int, inject: bool
) -> dict[tuple[int, int], FilePlan]:
    """Decide per (county index, month index) whether the file is clean, warns or errs."""
    plan = {f: FilePlan("clean", 0) for f in files}
    n = len(files)
    if not inject or n == 0:
        return plan
    n_err = max(1, int(ERROR_SHARE * n + 0.5)) if n >= 2 else 0
    n_warn = max(1, int(WARNING_SHARE * n + 0.5))
    n_err = min(n_err, n - n_warn) if n > 1 else 0
    rng = random.Random(f"{seed}|plan")
    last = [f for f in files if f[1] == n_months - 1]
    earlier = [f for f in files if f[1] != n_months - 1]
    rng.shuffle(last)
    rng.shuffle(earlier)
    errors = sorted((last + earlier)[:n_err])
    taken = set(errors)
    # The first warning file is a last month when possible: the kinds that only fit a
    # last month (a rate written as 0.95) then appear even in a small run.
    first = [f for f in last if f not in taken][:1]
    rest = [f for f in files if f not in taken and f not in first]
    rng.shuffle(rest)
    warnings = first + sorted(rest[: n_warn - len(first)])
    for i, f in enumerate(errors):
        plan[f] = FilePlan("error", i)
    for i, f in enumerate(warnings):
        plan[f] = FilePlan("warning", i)
    return plan


WARNING_KINDS: dict[str, Inject] = {
    "text_number": w_text_number,
    "rate_fraction": w_rate_fraction,
    "age_over_60": w_age_over_60,
    "resident_id": w_resident_id,
    "cap_overflow": w_cap_overflow,
    "not_in_registry": w_not_in_registry,
    "county_name_mismatch": w_county_name_mismatch,
    "satisfaction_all_100": w_satisfaction_all_100,
    "rate_jump": w_rate_jump,
    "extra_column": w_extra_column,
    "missing_from_roster": w_missing_from_roster,
    "members_over_500": w_members_over_500,
    "cumulative_decrease": w_cumulative_decrease,
    "phone_blank": w_phone_blank,
    "email_invalid": w_email_invalid,
}
ERROR_KINDS: dict[str, Inject] = {
    "rate_out_of_range": e_rate_out_of_range,
    "bad_type": e_bad_type,
    "blank_submitter": e_blank_submitter,
    "duplicate_code": e_duplicate_code,
    "missing_indicator_row": e_missing_indicator_row,
    "wrong_points": e_wrong_points,
    "date_outside_month": e_date_outside_month,
    "non_numeric": e_non_numeric,
    "period_mismatch": e_period_mismatch,
    "item_not_applicable": e_item_not_applicable,
    "overdraw": e_overdraw,
    "fraction_in_int": e_fraction_in_int,
    "bad_yesno": e_bad_yesno,
    "age_out_of_range": e_age_out_of_range,
    "code_not_in_roster": e_code_not_in_roster,
    "veto_invalid": e_veto_invalid,
    "members_below_3": e_members_below_3,
}
STRUCTURAL_KINDS: dict[str, Inject] = {
    "missing_column": s_missing_column,
    "missing_sheet": s_missing_sheet,
    "corrupt_file": s_corrupt,
}


def _rotate(
    kinds: dict[str, Inject], start: int, want: int, fb: FileBuild, ctx: MonthContext, rng: random.Random
) -> None:
    names_ = list(kinds)
    done = 0
    for k in range(len(names_)):
        if done >= want:
            break
        if kinds[names_[(start + k) % len(names_)]](fb, ctx, rng):
            done += 1


def inject(fb: FileBuild, plan: FilePlan, ctx: MonthContext, seed: int) -> None:
    """Apply the planned problems to one file (nothing for a clean file)."""
    rng = random.Random(f"{seed}|inject|{fb.county.code}|{fb.period}")
    i = plan.index
    if plan.category == "warning":
        want = 3 if i % 3 == 2 else 2
        _rotate(WARNING_KINDS, 2 * i, want, fb, ctx, rng)
        fb.explain = i % 2 == 0
    elif plan.category == "error":
        if i % 5 == 4:  # every fifth rejected file is broken as a whole
            _rotate(STRUCTURAL_KINDS, i // 5, 1, fb, ctx, rng)
        else:
            _rotate(ERROR_KINDS, 3 * i, 3 if i % 2 else 2, fb, ctx, rng)
