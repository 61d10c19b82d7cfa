"""Rulebook, workbook layout, registry and submitters, read from the config folder.

In: a config directory (FIVESTAR_CONFIG_DIR) holding rulebook.yaml, branch_types.csv,
stars.csv, indicators.csv, points_items.csv, vetoes.csv, workbook.yaml, limits.yaml,
registry.csv and submitters.csv. Out: immutable `Rulebook`, `Registry` and
`Limits` objects, plus a hash of the rulebook files (a change recomputes ratings).
Branch types are data (branch_types.csv, read by `config_types.py`): stars, points
items and vetoes name the types they apply to, one row per type.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from fivestar.config_types import (
    BRANCH_TYPE_COLUMNS,
    BranchType,
    ConfigError,
    expand_sheets,
    item_tables,
    legacy_branch_types,
    read_branch_types,
    star_tables,
    veto_tables,
)

RULEBOOK_FILES = (
    "rulebook.yaml",
    "branch_types.csv",
    "stars.csv",
    "indicators.csv",
    "points_items.csv",
    "vetoes.csv",
    "workbook.yaml",
)


REGISTRY_COLUMNS = ("code", "name", "level", "parent_code", "branch_type", "township")
SUBMITTERS_COLUMNS = ("county_code", "name", "email", "webhook_url")
# Line breaks and other control characters typed into a cell (Alt+Enter in Excel): they
# would split e-mail headers and log lines, so config text never keeps them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

log = logging.getLogger(__name__)


def _decode(path: Path) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK: Excel on Chinese Windows)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"config file missing: {path}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ConfigError(f"{path} is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8")


def _read_csv(path: Path, required: tuple[str, ...] = ()) -> pd.DataFrame:
    # Everything as text: codes keep leading zeros; numbers are converted where needed.
    try:
        df = pd.read_csv(io.StringIO(_decode(path)), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"{path} is not a readable CSV file: {str(exc).splitlines()[0]}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ConfigError(f"{path} lacks column(s) {', '.join(missing)} (expected {', '.join(required)})")
    return df


def _clean_text(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Control characters removed and spaces trimmed in every cell (logged once per file)."""
    cleaned = df.apply(lambda col: col.str.replace(_CONTROL, "", regex=True).str.strip())
    changed = int((cleaned != df.apply(lambda col: col.str.strip())).to_numpy().sum())
    if changed:
        log.warning("%s: removed line breaks or control characters from %d cell(s)", path, changed)
    return cleaned


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(_decode(path))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    type: str  # code | text | choice | int | num | rate | yesno | date
    optional: bool = False
    choices: tuple[str, ...] = ()
    star_code: str | None = None
    basis: str | None = None  # 本月 | 累计 | 期末 for indicators


@dataclass(frozen=True)
class SheetSpec:
    name: str  # key: roster, village_indicators, ...
    sheet: str  # Chinese sheet name in the workbook
    columns: tuple[Column, ...]
    required: bool = True
    may_be_empty: bool = False
    branch_type: str | None = None

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


@dataclass(frozen=True)
class Rulebook:
    """The 考核评价办法 plus the workbook layout it reads."""

    directory: Path
    settings: dict[str, Any]
    stars: pd.DataFrame  # code, name (one row per star)
    indicators: pd.DataFrame  # branch_type, star_code, key, header, value_type, basis, rule, lo, hi
    items: pd.DataFrame  # code, name, subject_type, points, cap, kind (one row per item)
    vetoes: pd.DataFrame  # code, name (one row per veto)
    workbook: dict[str, Any]
    hash: str
    branch_types: tuple[BranchType, ...] = ()
    star_types: pd.DataFrame = field(default_factory=pd.DataFrame)  # branch_type, star_code
    item_stars: pd.DataFrame = field(default_factory=pd.DataFrame)  # item_code, branch_type, star_code
    veto_stars: pd.DataFrame = field(default_factory=pd.DataFrame)  # veto_code, branch_type, stars

    # ---- branch types ------------------------------------------------------
    @property
    def types(self) -> tuple[str, ...]:
        """The configured branch type names, in configuration order (村, 社区, …)."""
        return tuple(t.name for t in self.branch_types)

    def branch_type(self, name: str) -> BranchType | None:
        return next((t for t in self.branch_types if t.name == name), None)

    # ---- stars -------------------------------------------------------------
    def star_name(self, code: str) -> str:
        return str(self.stars.set_index("code").at[code, "name"])

    def stars_for(self, branch_type: str) -> list[str]:
        st = self.star_types
        return st.loc[st["branch_type"] == branch_type, "star_code"].tolist()

    # ---- indicators --------------------------------------------------------
    def indicators_for(self, branch_type: str) -> pd.DataFrame:
        return self.indicators[self.indicators["branch_type"] == branch_type].reset_index(drop=True)

    # ---- points items ------------------------------------------------------
    def item_star(self, item_code: str, branch_type: str) -> str | None:
        return self.item_star_map.get((item_code, branch_type))

    @cached_property
    def item_star_map(self) -> dict[tuple[str, str], str]:
        """(item code, branch type) → the star its points count for."""
        s = self.item_stars
        return dict(zip(zip(s["item_code"], s["branch_type"], strict=True), s["star_code"], strict=True))

    def item_applies(self, item_code: str, branch_type: str) -> bool:
        """A redemption applies to every type; another item where it feeds a star of the type."""
        return item_code in self.redeem_codes or (item_code, branch_type) in self.item_star_map

    @cached_property
    def redeem_codes(self) -> frozenset[str]:
        return frozenset(self.items.loc[self.items["kind"] == "redeem", "code"])

    # ---- vetoes ------------------------------------------------------------
    def vetoed_stars(self, veto_code: str, branch_type: str) -> list[str] | None:
        """Stars a veto removes for that branch type; None when it does not apply."""
        v = self.veto_stars
        hit = v.loc[(v["veto_code"] == veto_code) & (v["branch_type"] == branch_type), "stars"]
        spec = str(hit.iloc[0]) if len(hit) else ""
        if not spec:
            return None
        if spec == "ALL":
            return self.stars_for(branch_type)
        return spec.split("|")

    # ---- workbook layout ---------------------------------------------------
    @cached_property
    def sheets(self) -> dict[str, SheetSpec]:
        out: dict[str, SheetSpec] = {}
        for name, spec in expand_sheets(self.workbook["sheets"], self.branch_types):
            cols = [
                Column(
                    key=c["key"],
                    header=c["header"],
                    type=c["type"],
                    optional=bool(c.get("optional", False)),
                    choices=self.types
                    if c.get("choices_from") == "branch_types"
                    else tuple(c.get("choices", ())),
                )
                for c in spec["columns"]
            ]
            btype = spec.get("branch_type")
            if btype:
                for r in self.indicators_for(btype).itertuples():
                    cols.append(
                        Column(
                            key=r.key,
                            header=r.header,
                            type=r.value_type,
                            star_code=r.star_code,
                            basis=r.basis,
                        )
                    )
            out[name] = SheetSpec(
                name=name,
                sheet=spec["sheet"],
                columns=tuple(cols),
                required=bool(spec.get("required", True)),
                may_be_empty=bool(spec.get("may_be_empty", False)),
                branch_type=btype,
            )
        return out

    @property
    def cover_sheet(self) -> str:
        return str(self.workbook["cover"]["sheet"])

    @property
    def cover_fields(self) -> list[dict[str, str]]:
        return list(self.workbook["cover"]["fields"])

    def indicator_sheet(self, branch_type: str) -> SheetSpec:
        return next(s for s in self.sheets.values() if s.branch_type == branch_type)

    @property
    def indicator_sheets(self) -> list[SheetSpec]:
        """One indicator sheet per configured branch type, in configuration order."""
        return [self.indicator_sheet(t) for t in self.types]


@dataclass(frozen=True)
class Registry:
    """Official regions and branches (registry.csv) and alert contacts (submitters.csv)."""

    regions: pd.DataFrame  # code, name, level, parent_code, branch_type, township
    submitters: pd.DataFrame  # county_code, name, email, webhook_url

    @cached_property
    def counties(self) -> pd.DataFrame:
        return self.regions[self.regions["level"] == "county"].reset_index(drop=True)

    @cached_property
    def county_codes(self) -> frozenset[str]:
        return frozenset(self.counties["code"])

    @cached_property
    def branches(self) -> pd.DataFrame:
        return self.regions[self.regions["level"] == "branch"].reset_index(drop=True)

    def county_name(self, code: str) -> str | None:
        hit = self.counties.loc[self.counties["code"] == code, "name"]
        return str(hit.iloc[0]) if len(hit) else None

    def branches_of(self, county_code: str) -> pd.DataFrame:
        b = self.branches
        return b[b["parent_code"] == county_code].reset_index(drop=True)

    def contacts_of(self, county_code: str) -> pd.DataFrame:
        s = self.submitters
        return s[s["county_code"] == county_code].reset_index(drop=True)


@dataclass(frozen=True)
class Limits:
    max_uncompressed_mb: float = 100
    max_compression_ratio: float = 100
    max_rows_per_sheet: int = 200_000
    per_file_timeout_s: float = 300
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationThresholds:
    """Data-quality warning thresholds (config/validation.yaml; these defaults without it)."""

    rate_jump_points: float = 30.0  # a rate moving more than this from last month
    satisfaction_indicator: str = "satisfaction_rate"
    satisfaction_min_branches: int = 10  # the all-100 check needs at least this many branches
    satisfaction_max_share_100: float = 0.9  # warn when MORE than this share report exactly 100


def load_validation_thresholds(config_dir: str | Path) -> ValidationThresholds:
    p = config_folder(config_dir) / "validation.yaml"
    raw = (read_yaml(p) or {}) if p.exists() else {}
    fields = ValidationThresholds.__dataclass_fields__
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"{p}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(fields)})")
    try:
        return ValidationThresholds(**{k: type(getattr(ValidationThresholds, k))(v) for k, v in raw.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{p}: {exc}") from exc


def rulebook_hash(config_dir: Path) -> str:
    h = hashlib.sha256()
    for name in RULEBOOK_FILES:
        p = config_dir / name
        h.update(name.encode())
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()


def config_folder(config_dir: str | Path) -> Path:
    """The config folder, checked: a ConfigError names it when it is missing or no folder."""
    d = Path(config_dir)
    if not d.is_dir():
        raise ConfigError(f"config folder not found: {d} (FIVESTAR_CONFIG_DIR)")
    return d


def load_rulebook(config_dir: str | Path) -> Rulebook:
    d = config_folder(config_dir)
    workbook = read_yaml(d / "workbook.yaml")
    bt_path = d / "branch_types.csv"
    types = (
        read_branch_types(_read_csv(bt_path, BRANCH_TYPE_COLUMNS), bt_path)
        if bt_path.exists()
        else legacy_branch_types(workbook)
    )
    stars, star_types = star_tables(_read_csv(d / "stars.csv"), types, d / "stars.csv")
    items, item_stars = item_tables(_read_csv(d / "points_items.csv"), types, d / "points_items.csv")
    vetoes, veto_stars = veto_tables(_read_csv(d / "vetoes.csv"), types, d / "vetoes.csv")
    return Rulebook(
        directory=d,
        settings=read_yaml(d / "rulebook.yaml") or {},
        stars=stars,
        indicators=_read_csv(d / "indicators.csv"),
        items=items,
        vetoes=vetoes,
        workbook=workbook,
        hash=rulebook_hash(d),
        branch_types=types,
        star_types=star_types,
        item_stars=item_stars,
        veto_stars=veto_stars,
    )


def load_registry(config_dir: str | Path) -> Registry:
    d = config_folder(config_dir)
    path = d / "registry.csv"
    regions = _clean_text(_read_csv(path, REGISTRY_COLUMNS[:4]), path)
    for col in REGISTRY_COLUMNS[4:]:  # set on branch rows only; a county-only registry may omit them
        if col not in regions.columns:
            regions[col] = ""
    sub_path = d / "submitters.csv"
    subs = (
        _clean_text(_read_csv(sub_path, SUBMITTERS_COLUMNS[:1]), sub_path)
        if sub_path.exists()
        else pd.DataFrame(columns=list(SUBMITTERS_COLUMNS))
    )
    for col in SUBMITTERS_COLUMNS[1:]:
        if col not in subs.columns:
            subs[col] = ""
    return Registry(regions=regions, submitters=subs)


def load_limits(config_dir: str | Path) -> Limits:
    p = config_folder(config_dir) / "limits.yaml"
    raw = (read_yaml(p) or {}) if p.exists() else {}
    known = {k: raw.pop(k) for k in list(raw) if k in Limits.__dataclass_fields__ and k != "extra"}
    return Limits(**known, extra=raw)
