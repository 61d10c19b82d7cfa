"""The rpt_* views as defined in sql/views/: SQL beside a YAML of their columns.

In: sql/views/<name>.sql + <name>.yml (fivestar.warehouse.views), applied to an empty
warehouse on SQLite and PostgreSQL; README.md. Out: checks that each view's live columns
are its contract columns in order followed by its documented extras, that every column
says what it means, that the views are created after the views they read, and that the
README's views table lists every view.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from fivestar.warehouse.views import VIEWS_DIR, load_views

ROOT = Path(__file__).resolve().parents[2]
VIEWS = load_views()


def test_every_view_has_sql_and_yaml() -> None:
    assert {p.stem for p in VIEWS_DIR.glob("*.sql")} == {p.stem for p in VIEWS_DIR.glob("*.yml")}
    assert {v.name for v in VIEWS} >= {
        "rpt_branch_rating", "rpt_branch_star", "rpt_area_summary", "rpt_submission", "rpt_dq_issue",
        "rpt_points_tally",
    }  # fmt: skip
    for v in VIEWS:
        assert v.name.startswith("rpt_") and v.description, v.name
        assert v.contract, f"{v.name}: no contract columns"
        assert len(set(v.column_names)) == len(v.column_names), f"{v.name}: a column listed twice"
        assert all(c.description for c in (*v.contract, *v.extra)), f"{v.name}: a column without meaning"


def test_views_come_after_the_views_they_read() -> None:
    seen: set[str] = set()
    for v in VIEWS:
        body = v.statement("sqlite")
        read = {o.name for o in VIEWS if o.name != v.name and re.search(rf"\b{o.name}\b", body)}
        assert read <= seen, (v.name, read - seen)
        seen.add(v.name)


def test_live_columns_are_the_contract_then_the_extras(warehouse_engine: Engine) -> None:
    with warehouse_engine.connect() as conn:
        for v in VIEWS:
            cols = tuple(conn.execute(sa.text(f"SELECT * FROM {v.name} WHERE 1 = 0")).keys())
            assert cols[: len(v.contract)] == v.contract_names, v.name
            assert cols == v.column_names, f"{v.name}: columns not documented in {v.name}.yml"


def test_readme_lists_every_view() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(rpt_[a-z_]+)` \|", readme, flags=re.MULTILINE))
    assert listed == {v.name for v in VIEWS}


@pytest.mark.parametrize("bad", ["two", "wrong-name"])
def test_a_malformed_view_file_is_refused(tmp_path: Path, bad: str) -> None:
    (tmp_path / "rpt_x.sql").write_text(
        "CREATE VIEW rpt_x AS SELECT 1 AS a;\n"
        + ("CREATE VIEW rpt_y AS SELECT 2 AS b;\n" if bad == "two" else ""),
        encoding="utf-8",
    )
    name = "rpt_x" if bad == "two" else "rpt_z"
    (tmp_path / "rpt_x.yml").write_text(f"name: {name}\ncontract: [{{name: a, description: one}}]\n")
    with pytest.raises(ValueError):
        for v in load_views(tmp_path):
            v.statement("sqlite")
