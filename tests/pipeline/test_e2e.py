"""End to end: a generated province through the real flow, on SQLite and PostgreSQL.

In: `fivestar.sample.generate` output (5 counties × 2 months, with known injected
problems) and a fresh warehouse. Out: assertions that every submission gets the
status the generator intended, every rpt_* view is filled, a second run changes
nothing, and the `fivestar run` command itself works and prints its summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from fivestar.sample import generate
from fivestar.warehouse.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
VIEWS = (
    "rpt_branch_rating",
    "rpt_branch_star",
    "rpt_area_summary",
    "rpt_submission",
    "rpt_dq_issue",
    "rpt_points_tally",
)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("province")
    generate(out, "2026-11", counties=5, seed=7, months=2, branches_per_county=(25, 45), events_per_branch=6)
    return out


def _env(monkeypatch: pytest.MonkeyPatch, province: Path, url: str, processed: Path) -> None:
    monkeypatch.setenv("FIVESTAR_RAW_DIR", str(province / "raw"))
    monkeypatch.setenv("FIVESTAR_CONFIG_DIR", str(province / "config"))
    monkeypatch.setenv("FIVESTAR_PROCESSED_DIR", str(processed))
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", url)


def dump_views(url: str) -> dict[str, str]:
    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        for v in VIEWS:
            df = pd.read_sql(text(f"SELECT * FROM {v}"), conn)
            df = df.drop(columns=[c for c in ("received_at", "processed_at") if c in df.columns])
            out[v] = df.sort_values(list(df.columns)).to_csv(index=False)
    engine.dispose()
    return out


def test_generated_province_end_to_end(
    warehouse_url: str, province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.nightly import fivestar_run

    _env(monkeypatch, province, warehouse_url, tmp_path / "processed")
    result = fivestar_run.fn()
    manifest = json.loads((province / "manifest.json").read_text(encoding="utf-8"))
    expected = {(f["county_code"], f["period"]): f["expected_status"] for f in manifest["files"]}
    got = {(r["county_code"], r["period"]): r["status"] for r in result["summary"]}
    assert got == expected
    assert {"accepted", "accepted_with_warnings", "rejected"} <= set(got.values())

    first = dump_views(warehouse_url)
    for v in VIEWS:
        assert first[v].count("\n") > 1, f"{v} is empty"
    # Every rejected submission has at least one error finding with a cell or a sheet named.
    issues = pd.read_csv(pd.io.common.StringIO(first["rpt_dq_issue"]), dtype=str)
    rejected = [k for k, s in got.items() if s == "rejected"]
    for county, period in rejected:
        mine = issues[
            (issues["county_code"] == county) & (issues["period"] == period) & (issues["severity"] == "error")
        ]
        assert len(mine) > 0 and mine["message"].str.len().min() > 4

    again = fivestar_run.fn()
    assert again["summary"] == []
    assert dump_views(warehouse_url) == first


def test_cli_run_prints_summary(province: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        FIVESTAR_RAW_DIR=str(province / "raw"),
        FIVESTAR_CONFIG_DIR=str(province / "config"),
        FIVESTAR_PROCESSED_DIR=str(tmp_path / "processed"),
        FIVESTAR_WAREHOUSE_URL=f"sqlite:///{tmp_path / 'wh.db'}",
    )
    cmd = [sys.executable, "-m", "fivestar.cli", "run", "--period", "2026-10"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2026-10" in proc.stdout and "accepted" in proc.stdout
    assert "2026-11" not in proc.stdout  # --period selects only that month
    archived = list((tmp_path / "processed" / "archive").rglob("*.xlsx"))
    assert len(archived) == 5


def test_cli_unreachable_warehouse_fails_fast(tmp_path: Path, province: Path) -> None:
    env = dict(os.environ)
    env.update(
        FIVESTAR_RAW_DIR=str(province / "raw"),
        FIVESTAR_CONFIG_DIR=str(province / "config"),
        FIVESTAR_PROCESSED_DIR=str(tmp_path / "processed"),
        FIVESTAR_WAREHOUSE_URL="postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/none",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fivestar.cli", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 3
    assert "unreachable" in proc.stdout.lower()
    assert "s3cret-pw" not in proc.stdout + proc.stderr


def test_derive_in_small_batches_gives_the_same_views(
    warehouse_url: str, province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counties are derived in batches (on PostgreSQL, this process and a helper process
    take batches from one queue): one county per batch must give exactly the views of
    the run's batching, whoever computed which batch."""
    import time

    from fivestar import derive as derive_mod
    from fivestar.context import open_context
    from fivestar.pipeline import derive_stage
    from fivestar.runtime.local import LocalExecutor
    from flows.nightly import fivestar_run

    _env(monkeypatch, province, warehouse_url, tmp_path / "processed")
    fivestar_run.fn()
    first = dump_views(warehouse_url)
    ctx = open_context()
    try:
        with ctx.engine.begin() as conn:
            run_id = conn.execute(text("SELECT MIN(run_id) FROM branch_rating")).scalar_one()
            conn.execute(text("UPDATE meta SET value = 'stale' WHERE key = 'rulebook_hash'"))
        monkeypatch.setattr(derive_mod, "BATCH_COUNTIES", 1)
        here: list[list[str]] = []  # batches computed in this process (the helper's are not seen)
        real = derive_stage.derive_batch

        def spy(engine, rb, batch, *args, **kwargs):
            here.append(list(batch.counties))
            time.sleep(1.0)  # slower than the helper: it must take some of the batches
            return real(engine, rb, batch, *args, **kwargs)

        monkeypatch.setattr(derive_stage, "derive_batch", spy)
        with LocalExecutor() as executor:
            executor.prepare(("fivestar.derive",))
            done = derive_stage.derive_all(ctx, executor, run_id)
    finally:
        ctx.engine.dispose()
    assert len({c for c, _ in done}) == 5
    if warehouse_url.startswith("postgresql"):
        assert 1 <= len(here) < 5  # the rest in the helper process
    else:
        assert len(here) == 5
    assert dump_views(warehouse_url) == first
