"""The rpt_* reporting views, each defined once in sql/views/: its SQL beside its columns.

In: `sql/views/<name>.sql` (one `CREATE VIEW <name> AS …;`, with `{{PLACEHOLDER}}`s per
dialect like the other scripts) and `sql/views/<name>.yml`: a `description`, the
`contract` columns (interfaces.md "Reporting views": they come first, in this order, and
are never removed or reordered) and the `extra` columns after them, each with its meaning;
`county_copy: false` for a view that aggregates every county (roles.py makes no
county-scoped copy of it).
Out: `load_views()`, the views in creation order (a view after the views it reads, found
from the names in its SQL), which `schema.ensure_schema` applies (hash per view: a view
is replaced only when its SQL changed) and the tests compare with the live columns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from fivestar.warehouse import dialect

VIEWS_DIR = Path(__file__).resolve().parents[2] / "sql" / "views"


@dataclass(frozen=True)
class ViewColumn:
    name: str
    description: str


@dataclass(frozen=True)
class ViewSpec:
    """One reporting view: name, what a row is, its columns and its SQL file."""

    name: str
    description: str
    contract: tuple[ViewColumn, ...]
    extra: tuple[ViewColumn, ...]
    sql: str  # the file's text, placeholders not yet rendered
    county_copy: bool = True  # False: no county-scoped copy (it aggregates every county)

    @property
    def contract_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.contract)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in (*self.contract, *self.extra))

    def statement(self, dialect_name: str) -> str:
        """The CREATE VIEW statement for `dialect_name` (comments stripped, as hashed)."""
        statements = dialect.split_statements(dialect.render_sql(self.sql, dialect_name))
        if len(statements) != 1 or not re.match(rf"CREATE\s+VIEW\s+{self.name}\s", statements[0], re.I):
            raise ValueError(f"sql/views/{self.name}.sql must hold exactly one CREATE VIEW {self.name}")
        return statements[0]


def _columns(entries: list[dict] | None) -> tuple[ViewColumn, ...]:
    return tuple(ViewColumn(str(e["name"]), str(e.get("description", "")).strip()) for e in entries or [])


def _read(sql_file: Path) -> ViewSpec:
    meta_file = sql_file.with_suffix(".yml")
    if not meta_file.is_file():
        raise FileNotFoundError(f"{sql_file.name} has no {meta_file.name} naming its columns")
    meta = yaml.safe_load(meta_file.read_text(encoding="utf-8")) or {}
    if meta.get("name") != sql_file.stem:
        raise ValueError(f"{meta_file.name}: name must be {sql_file.stem!r}")
    return ViewSpec(
        name=sql_file.stem,
        description=str(meta.get("description", "")).strip(),
        contract=_columns(meta.get("contract")),
        extra=_columns(meta.get("extra")),
        sql=sql_file.read_text(encoding="utf-8"),
        county_copy=bool(meta.get("county_copy", True)),
    )


def load_views(views_dir: Path = VIEWS_DIR) -> list[ViewSpec]:
    """Every view of `views_dir`, each after the views its SQL names (then by file name)."""
    specs = {f.stem: _read(f) for f in sorted(views_dir.glob("*.sql"))}
    code = {name: " ".join(dialect.split_statements(s.sql)) for name, s in specs.items()}  # no comments
    deps = {
        name: {other for other in specs if other != name and re.search(rf"\b{other}\b", code[name])}
        for name in specs
    }
    ordered: list[ViewSpec] = []
    done: set[str] = set()
    while len(done) < len(specs):
        ready = [n for n in specs if n not in done and deps[n] <= done]
        if not ready:
            raise ValueError(f"views read each other in a cycle: {sorted(set(specs) - done)}")
        done.add(ready[0])
        ordered.append(specs[ready[0]])
    return ordered


def view_contracts(views_dir: Path = VIEWS_DIR) -> dict[str, tuple[str, ...]]:
    """{view name: its contract columns}, in creation order."""
    return {v.name: v.contract_names for v in load_views(views_dir)}


def views_digest(views_dir: Path = VIEWS_DIR) -> str:
    """One sha256 over the view SQL files of `views_dir`: a revision that applies
    the views records it (VIEWS_SHA256), so a test notices views changed without a revision."""
    h = hashlib.sha256()
    for f in sorted(views_dir.glob("*.sql")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()
