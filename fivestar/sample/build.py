"""Build the clean sheets of one county-month workbook, following submission.md.

In: the rulebook (sheet names, headers and column order all come from
`rb.sheets` / `rb.cover_fields`), a `County`, a period, the county's `Style` (how its
staff fill cells: codes as text or numbers, rates as 95 or as 95 % cells, date
styles, …) and the ledger state carried between months. Out: a `FileBuild` whose
sheets are ready to write, plus `meaning`, the value the validator will read from
each indicator cell (used by later months and by injections).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from fivestar.config import Rulebook
from fivestar.sample.province import Branch, County
from fivestar.sample.sheets import BLANK_STYLED, Row, Sheet, Styled
from fivestar.sample.values import (
    VETO_INDICATOR,
    Event,
    IndicatorDef,
    ItemDef,
    LedgerState,
    VetoEvent,
    branch_events,
    indicator_values,
    veto_events,
    ym,
)


def sheet_order(rb: Rulebook) -> tuple[str, ...]:
    """The data sheets in workbook order: the roster, one indicator sheet per type, the rest."""
    return tuple(rb.sheets)


WIDTHS = {"code": 16, "text": 14, "choice": 8, "date": 12}


@dataclass(frozen=True)
class Style:
    """How one county's staff fill the workbook; stable from month to month."""

    codes_as_numbers: bool
    percent_keys: frozenset[str]
    date_style: str  # cell | iso | slash | cn
    period_style: str  # iso | slash | cn | date
    blank_branch_id: bool  # 支部 events with 对象编号 left blank (else the 支部代码)
    cover_order: tuple[str, ...]
    cover_reordered: bool
    trailing_blank_rows: int  # formatted but empty template rows after the roster
    blank_row_in_roster: bool
    header_variant: bool  # half-width brackets, line breaks in headers (tolerated)
    headerless_empty_vetoes: bool  # an entirely empty 否决事项 sheet when there are no events
    explanations_sheet: bool  # keeps an (empty) 情况说明 sheet

    def variations(self) -> list[str]:
        out = []
        if self.codes_as_numbers:
            out.append("codes written as number cells")
        if self.percent_keys:
            out.append("rates in percent-formatted cells: " + ", ".join(sorted(self.percent_keys)))
        if self.date_style != "cell":
            out.append(f"dates as text ({self.date_style})")
        out.append(f"填报期间 as {self.period_style}")
        if self.cover_reordered:
            out.append("cover labels in a different row order")
        if self.trailing_blank_rows:
            out.append(f"{self.trailing_blank_rows} styled blank rows after the roster")
        if self.blank_row_in_roster:
            out.append("a fully blank row inside the roster")
        if self.header_variant:
            out.append("header variants: half-width brackets and line breaks")
        return out


# The first counties of every run show the main habits side by side (a three-county
# quickstart then has plain rates, percent cells and a mix); later counties draw at random.
SHOWCASE = (
    {"rates": "plain", "codes_as_numbers": False, "date_style": "cell", "period_style": "iso"},
    {"rates": "percent", "codes_as_numbers": True, "date_style": "cell", "period_style": "cn"},
    {"rates": "mixed", "codes_as_numbers": False, "date_style": "iso", "period_style": "date"},
    {"rates": "plain", "codes_as_numbers": False, "date_style": "cn", "period_style": "slash"},
)


def county_style(rb: Rulebook, county: County, index: int, seed: int, inject: bool) -> Style:
    rng = random.Random(f"{seed}|style|{county.code}")
    rate_keys = sorted(set(rb.indicators.loc[rb.indicators["value_type"] == "rate", "key"]))
    drawn = {
        "rates": rng.choices(["plain", "percent", "mixed"], [0.5, 0.25, 0.25])[0],
        "codes_as_numbers": rng.random() < 0.25,
        "date_style": rng.choices(["cell", "iso", "cn", "slash"], [0.7, 0.15, 0.1, 0.05])[0],
        "period_style": rng.choices(["iso", "cn", "date", "slash"], [0.5, 0.25, 0.15, 0.1])[0],
    }
    if index < len(SHOWCASE):
        drawn.update(SHOWCASE[index])
    mixed = frozenset(k for k in rate_keys if rng.random() < 0.5) or frozenset(rate_keys[:1])
    percent = {"plain": frozenset(), "percent": frozenset(rate_keys), "mixed": mixed}[drawn["rates"]]
    fields = [f["key"] for f in rb.cover_fields]
    order = list(fields)
    if rng.random() < 0.2:
        rng.shuffle(order)  # labels may come in any row order
    return Style(
        codes_as_numbers=drawn["codes_as_numbers"],
        percent_keys=percent,
        date_style=drawn["date_style"],
        period_style=drawn["period_style"],
        blank_branch_id=rng.random() < 0.7,
        cover_order=tuple(order),
        cover_reordered=order != fields,
        trailing_blank_rows=rng.choice([0, 0, 0, 20, 50]),
        blank_row_in_roster=rng.random() < 0.15,
        # Tolerated header variants only where problems are being injected anyway.
        header_variant=inject and index % 4 == 2,
        headerless_empty_vetoes=rng.random() < 0.1,
        explanations_sheet=rng.random() < 0.3,
    )


@dataclass
class Pending:
    """An injected problem; its cell is resolved once the sheets are final."""

    severity: str
    sheet_key: str
    row: Row | None
    column: str
    value: Any
    rule: str
    description: str
    branch_code: str = ""
    explained: bool = False
    at_header: bool = False  # the finding points at the column's header cell (row 1)


@dataclass
class FileBuild:
    rb: Rulebook
    county: County
    period: str
    style: Style
    sheets: dict[str, Sheet]
    meaning: dict[tuple[str, str], Any]
    defs: dict[str, list[IndicatorDef]]
    items: list[ItemDef]
    pending: list[Pending] = field(default_factory=list)
    variations: list[str] = field(default_factory=list)
    corrupt: bool = False
    explain: bool = False

    # ---- rendering helpers, shared with the injections --------------------------------------
    def code(self, code: str) -> Any:
        return int(code) if self.style.codes_as_numbers else code

    def rate(self, key: str, v: float) -> Any:
        if key in self.style.percent_keys:
            fmt = "0%" if float(v).is_integer() else "0.0%"
            return Styled(round(v / 100, 6), fmt)
        return number(v)

    def indicator_cell(self, d: IndicatorDef, v: Any) -> Any:
        if d.value_type == "rate":
            return self.rate(d.key, float(v))
        return number(v) if not isinstance(v, str) else v

    def date(self, y: int, m: int, d: int) -> Any:
        s = self.style.date_style
        if s == "iso":
            return f"{y:04d}-{m:02d}-{d:02d}"
        if s == "cn":
            return f"{y}年{m}月{d}日"
        if s == "slash":
            return f"{y}/{m}/{d}"
        return dt.date(y, m, d)

    def period_cell(self, period: str) -> Any:
        y, m = ym(period)
        s = self.style.period_style
        if s == "cn":
            return f"{y}年{m}月"
        if s == "slash":
            return f"{y}/{m:02d}"
        if s == "date":
            return Styled(dt.date(y, m, 1), 'yyyy"年"m"月"')
        return period

    def sheet_of_type(self, branch_type: str) -> str:
        return self.rb.indicator_sheet(branch_type).name

    def indicator_row(self, branch_code: str) -> tuple[str, Row] | None:
        for key in (s.name for s in self.rb.indicator_sheets):
            for r in self.sheets[key].rows:
                if isinstance(r.meta, Branch) and r.meta.code == branch_code:
                    return key, r
        return None


def number(v: Any) -> Any:
    """Whole floats as ints (Excel shows 95, not 95.0)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _widths(rb: Rulebook, key: str) -> list[int]:
    return [max(WIDTHS.get(c.type, 10), min(24, len(c.header) * 2)) for c in rb.sheets[key].columns]


def build_file(
    rb: Rulebook,
    county: County,
    period: str,
    style: Style,
    seed: int,
    events_per_branch: int,
    state: LedgerState,
    defs: dict[str, list[IndicatorDef]],
    items: list[ItemDef],
) -> FileBuild:
    y, m = ym(period)
    sheets: dict[str, Sheet] = {}
    cover = Sheet(rb.cover_sheet, None, widths=[18, 24])
    sheets["cover"] = cover
    for key in sheet_order(rb):
        spec = rb.sheets[key]
        sheets[key] = Sheet(spec.sheet, [c.header for c in spec.columns], widths=_widths(rb, key))
    fb = FileBuild(rb, county, period, style, sheets, {}, defs, items)

    contact = county.contacts[0]
    cover_values = {
        "county_code": fb.code(county.code),
        "county_name": county.name,
        "period": fb.period_cell(period),
        "submitter": contact.name,
        "phone": contact.phone,
        "email": contact.email,
    }
    labels = {f["key"]: f["label"] for f in rb.cover_fields}
    for k in style.cover_order:
        cover.rows.append(Row([labels[k], cover_values.get(k)], meta=k))

    vetoes = veto_events(rb, county, period, seed)
    veto_bump: dict[tuple[str, str], int] = {}
    for v in vetoes:
        key = VETO_INDICATOR.get(v.code)
        if key:
            veto_bump[(v.branch_code, key)] = veto_bump.get((v.branch_code, key), 0) + (
                1 if v.code != "V05" else 5
            )

    roster_cols = [c.key for c in rb.sheets["roster"].columns]
    for b in county.branches:
        vals = {
            "branch_code": fb.code(b.code),
            "branch_name": b.name,
            "branch_type": b.type,
            "township": b.township,
            "members": b.members,
            "households": b.households,
            "secretary_name": b.secretary,
            "secretary_age": b.secretary_age,
        }
        sheets["roster"].rows.append(Row([vals.get(k) for k in roster_cols], meta=b))
        values = indicator_values(defs[b.type], b, period, seed)
        for (code, key), bump in veto_bump.items():
            if code == b.code and key in values:
                values[key] = max(int(values[key]), bump)
        sheet_key = fb.sheet_of_type(b.type)
        ind_cols = [c.key for c in rb.sheets[sheet_key].columns]
        by_key = {d.key: d for d in defs[b.type]}
        cells = []
        for k in ind_cols:
            if k == "branch_code":
                cells.append(fb.code(b.code))
            elif k == "branch_name":
                cells.append(b.name)
            elif k in by_key:
                cells.append(fb.indicator_cell(by_key[k], values[k]))
                fb.meaning[(b.code, k)] = values[k]
            else:
                cells.append(None)
        sheets[sheet_key].rows.append(Row(cells, meta=b))
    if style.blank_row_in_roster and len(sheets["roster"].rows) > 4:
        mid = len(sheets["roster"].rows) // 2
        sheets["roster"].rows.insert(mid, Row([None] * len(roster_cols), meta=None))
    for _ in range(style.trailing_blank_rows):
        sheets["roster"].rows.append(Row([BLANK_STYLED] * len(roster_cols), meta=None))

    events: list[tuple[tuple[int, int, int, int], Event]] = []
    for bi, b in enumerate(county.branches):
        for e in branch_events(items, b, period, seed, events_per_branch, state, style.blank_branch_id):
            events.append(((e.day, e.rank, bi, e.seq), e))
    events.sort(key=lambda p: p[0])
    for _, e in events:
        sheets["ledger"].rows.append(ledger_row(fb, e))

    for v in vetoes:
        sheets["vetoes"].rows.append(veto_row(fb, v))
    if not vetoes and style.headerless_empty_vetoes:
        sheets["vetoes"].header = None  # an entirely empty sheet also means "no events"
        sheets["vetoes"].widths = []
    fb.variations = style.variations()
    return fb


def ledger_row(fb: FileBuild, e: Event) -> Row:
    y, m = ym(fb.period)
    date = fb.date(*(e.date_override or (y, m, e.day)))
    vals = {
        "event_date": date,
        "branch_code": fb.code(e.branch_code),
        "subject_type": e.subject_type,
        "subject_id": e.written_id if e.written_id is not None else e.subject,
        "item_code": e.item,
        "points": number(e.points),
        "note": e.note or None,
    }
    return Row([vals.get(c.key) for c in fb.rb.sheets["ledger"].columns], meta=e)


def veto_row(fb: FileBuild, v: VetoEvent) -> Row:
    y, m = ym(fb.period)
    vals = {
        "branch_code": fb.code(v.branch_code),
        "event_date": fb.date(*(v.date_override or (y, m, v.day))),
        "veto_code": v.code,
        "note": v.note or None,
    }
    return Row([vals.get(c.key) for c in fb.rb.sheets["vetoes"].columns], meta=v)


def header_variant(header: str) -> str:
    """How headers drift in real templates: half-width brackets, ％, a line break."""
    h = header.replace("（", "(").replace("）", ")").replace("%", "％")
    if "(" in h and len(h) > 8:
        h = h.replace("(", "\n(", 1)
    return h


def finalize_sheets(fb: FileBuild) -> list[Sheet]:
    """The sheets in workbook order, with display variants applied."""
    out = [fb.sheets["cover"]]
    vetoes = fb.sheets.get("vetoes")
    if vetoes is not None and vetoes.header is None:
        fb.variations.append(f"{vetoes.title} sheet entirely empty (no header)")
    for key in sheet_order(fb.rb):
        sh = fb.sheets.get(key)
        if sh is None:
            continue
        spec = fb.rb.sheets[key]
        if spec.branch_type and not spec.required and not sh.rows:
            continue  # an optional type's sheet: left out by a county without such branches
        if key == "explanations" and not sh.rows and not fb.style.explanations_sheet:
            continue  # optional sheet: most counties delete it
        if fb.style.header_variant and sh.header is not None:
            sh.display_header = [header_variant(h) for h in sh.header]
        out.append(sh)
    return out
