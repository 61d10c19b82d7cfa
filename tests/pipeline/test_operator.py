"""The operator's night (issue 19 items 5-7): what a run shows and the tools around it.

In: the three-county province of tests/test_faults.py (one county's file made impossible
to archive: a directory where its archived copy goes, so that county fails while the
others load), the module's Prefect server (tests/servers.py), webhooks on a closed
loopback port, `fivestar` as a real process, the conftest warehouses (SQLite, PostgreSQL)
and the PostgreSQL client tools for a dump and restore.
Out: checks that
- the flow run ends Failed with "N accepted, M rejected, K failed alerts" when a county
  failed, publishes a Chinese markdown artifact and a table per period, names task runs
  after their counties, and reports progress (files read / loaded of the total);
- `fivestar run` exits 4 then (0 once the county loads), prints a summary that fits 80
  columns, and keeps HTTP request lines, GX's temporary-folder line, per-contact SMTP
  lines and "rulebook changed" on a fresh warehouse off the console;
- `fivestar status` and `fivestar runs` show the night; lateness follows the default deadline;
- a `pg_dump -Fc` of a loaded warehouse restores into a new database with the same
  `rpt_*` rows; `fivestar rekey` gives the rows a load with the new key gives, and refuses
  (changing nothing) with a key the warehouse was not loaded with; `fivestar roles` creates the roles; `python3 dev.py prefect` reaches the
  venv's Prefect; every command is in README's command table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import in_ci
from rich.console import Console
from servers import closed_port
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from test_faults import (  # noqa: F401  (template, make_province: fixtures)
    COUNTIES,
    PERIOD,
    A,
    B,
    C,
    Province,
    cli_env,
    make_province,
    run_flow,
    template,
)
from typer.testing import CliRunner

from fivestar.cli import EXIT_COUNTY_FAILED, app
from fivestar.console_tables import summary_table
from fivestar.deadlines import Deadlines
from fivestar.overview import county_status, is_late

ROOT = Path(__file__).resolve().parents[2]
VIEWS = (
    "rpt_branch_rating",
    "rpt_branch_star",
    "rpt_area_summary",
    "rpt_submission",
    "rpt_dq_issue",
    "rpt_points_tally",
)


def _file(p: Province, county: str) -> Path:
    return next((p.root / "raw" / PERIOD).glob(f"{county}_*.xlsx"))


def block_archive(p: Province, county: str) -> Path:
    """A directory where the county's archived copy goes: archiving it fails (as root too)."""
    sha = hashlib.sha256(_file(p, county).read_bytes()).hexdigest()
    blocker = p.root / "processed" / "archive" / sha[:2] / f"{sha}.xlsx"
    blocker.mkdir(parents=True)
    return blocker


def dead_webhooks(p: Province) -> None:
    port = closed_port()
    (p.root / "config" / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n"
        + "".join(f"{c},联系人,,http://127.0.0.1:{port}/hook/{c}\n" for c in COUNTIES),
        encoding="utf-8",
    )


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[Collected]:
    """fivestar's and GX's log records (on those loggers: Prefect's logging setup replaces
    the root logger's handlers when a flow starts)."""
    handler = Collected()
    loggers = [logging.getLogger(n) for n in ("fivestar", "great_expectations")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    progress = logging.getLogger("fivestar.progress")
    progress.setLevel(logging.INFO)
    # An in-process `fivestar run` without -v (another test, same worker) stops propagation.
    propagate, progress.propagate = progress.propagate, True
    try:
        yield handler
    finally:
        progress.propagate = propagate
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


# ----------------------------------------------------------------------------- Prefect
def test_a_failed_county_fails_the_flow_run_with_counts_artifacts_and_named_task_runs(
    make_province: Callable[..., Province],  # noqa: F811
    collected: Collected,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from flows.nightly import fivestar_run

    p = make_province()
    dead_webhooks(p)
    block_archive(p, B)
    state = fivestar_run(return_state=True)

    assert state.is_failed()
    assert re.fullmatch(
        rf"2 accepted, 0 rejected, [1-9]\d* failed alerts; 1 failed to process: {B} {PERIOD} v1",
        state.message,
    ), state.message
    result = state.result(raise_on_failure=False)
    assert {r["county_code"]: r["status"] for r in result["summary"]} == {
        A: "accepted",
        B: "failed",
        C: "accepted",
    }

    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    by_key = {a.key: a for a in artifacts}
    md = str(by_key["fivestar-run"].data)
    assert "五星支部数据处理结果" in md and "通过 2 份" in md and "处理失败 1 份" in md
    for code in (A, C):
        assert f"| {COUNTIES[code]} | {code} | 1 | 通过 |" in md  # county names, Chinese status
    feedback = next(r["feedback"] for r in result["summary"] if r["county_code"] == A)
    assert Path(feedback).exists() and f"`{feedback}`" in md
    assert "五星" in md and "cannot archive the file" in md  # star columns; IT's reason for B
    table = json.loads(by_key[f"fivestar-{PERIOD}"].data)
    assert {r["县（市、区）"]: r["状态"] for r in table} == {
        COUNTIES[A]: "通过",
        COUNTIES[B]: "处理失败",
        COUNTIES[C]: "通过",
    }
    assert all(r["反馈文件"] for r in table if r["代码"] != B)

    names = {t.name for t in tasks}
    assert any(n.startswith("read ") and A in n and B in n and C in n for n in names), names
    assert any(n.startswith("load ") and A in n and C in n for n in names), names

    progress = [r.progress for r in collected.records if hasattr(r, "progress")]
    assert progress and progress[-1].files == 3 and progress[-1].read == 3 and progress[-1].loaded == 3
    assert any(pr.read == 3 and pr.loaded < 3 for pr in progress)  # read, then loaded

    engine = create_engine(p.url)  # what `fivestar status` shows of this night
    try:
        night = {r.county_code: r for r in county_status(engine, COUNTIES, PERIOD, dt.datetime.now(dt.UTC))}
    finally:
        engine.dispose()
    assert night[A].alerts == "failed 1" and night[A].status == "accepted" and night[A].version == 1
    assert night[B].version is None and night[B].alerts == ""

    text_ = "\n".join(r.getMessage() for r in collected.records)
    assert "ephemeral docs site" not in text_
    assert "rulebook changed" not in text_  # a fresh warehouse has nothing to re-rate


def test_fivestar_run_exits_4_for_a_failed_county_and_status_and_runs_show_the_night(
    make_province: Callable[..., Province],  # noqa: F811
    prefect_api: str,  # noqa: F811
) -> None:
    p = make_province()
    blocker = block_archive(p, B)
    env = cli_env(
        **p.settings(), PREFECT_API_URL=prefect_api, PREFECT_HOME=str(p.root / ".prefect"), COLUMNS="80"
    )

    def fivestar(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "fivestar.cli", *args]
        return subprocess.run(cmd, env=env, cwd=p.root, capture_output=True, text=True, timeout=600)

    first = fivestar("run", "-v")
    out = first.stdout + first.stderr
    assert first.returncode == EXIT_COUNTY_FAILED, out[-3000:]
    assert f"{B} {PERIOD} v1 failed: cannot archive the file" in out
    table = [ln for ln in first.stdout.splitlines() if re.match(rf"\s*4105\d\d\s+{PERIOD}\s+1\s", ln)]
    assert len(table) == 3, first.stdout  # one row per county, the period whole
    # The table fits 80 columns (the lines after it, with a reason or a path, may wrap).
    assert max(len(ln) for ln in first.stdout.split(f"{B} {PERIOD} v1 failed")[0].splitlines()) <= 80
    assert "HTTP Request" not in out and "ephemeral docs site" not in out and "rulebook changed" not in out
    assert out.count("SMTP not configured") == 1, out  # two counties' contacts, one line
    assert "Traceback" not in out

    blocker.rmdir()
    second = fivestar("run")
    assert second.returncode == 0, second.stdout + second.stderr[-3000:]

    status = fivestar("status")
    assert status.returncode == 0, status.stderr
    rows = {ln.split()[0]: ln for ln in status.stdout.splitlines() if re.match(r"\s*4105\d\d ", ln)}
    assert set(rows) == {A, B, C}
    for code in (A, B, C):
        assert COUNTIES[code] in rows[code] and "accepted" in rows[code] and "on time" in rows[code]
    assert "11-20 17:0" in rows[A]  # received: the file's modification time (09:0x UTC), in Beijing time
    assert max(len(ln) for ln in status.stdout.split("late:")[0].splitlines()) <= 80, status.stdout

    runs = fivestar("runs", "--last", "5")
    assert runs.returncode == 0, runs.stderr
    assert runs.stdout.count("completed") == 2, runs.stdout
    one = fivestar("runs", "--last", "1")
    assert one.stdout.count("completed") == 1

    # The same query with "now" after the deadline and a county that never sent a file.
    engine = create_engine(p.url)
    try:
        after = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
        got = county_status(engine, {**COUNTIES, "410527": "内黄县"}, PERIOD, after)
    finally:
        engine.dispose()
    late = {r.county_code: r.late for r in got}
    assert late == {A: False, B: False, C: False, "410527": True}


def test_status_before_any_run_and_a_bad_period(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from testenv import drop_fivestar_settings

    drop_fivestar_settings(monkeypatch)
    monkeypatch.setenv("FIVESTAR_CONFIG_DIR", str(ROOT / "config"))
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'wh.db'}")
    monkeypatch.setenv("FIVESTAR_PROCESSED_DIR", str(tmp_path / "processed"))
    runner = CliRunner()
    res = runner.invoke(app, ["status"])
    assert res.exit_code == 0 and "No submission recorded yet" in res.output, res.output
    res = runner.invoke(app, ["runs"])
    assert res.exit_code == 0 and "No run recorded yet" in res.output, res.output
    res = runner.invoke(app, ["status", "--period", "2026-13"])
    assert res.exit_code == 2 and "YYYY-MM" in res.output and "Traceback" not in res.output
    dead = {"FIVESTAR_WAREHOUSE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"}
    for command in ("status", "runs"):
        res = runner.invoke(app, [command], env=dead)
        assert res.exit_code == 3 and "Warehouse unreachable" in res.output and "Traceback" not in res.output


def test_lateness_follows_the_configured_deadline() -> None:
    d = Deadlines().deadline("2026-12")
    assert (d.year, d.month, d.day, d.hour, d.minute, d.second) == (2027, 1, 5, 23, 59, 59)
    stored = Deadlines().deadline("2026-11").astimezone(dt.UTC).replace(tzinfo=None)  # naive UTC
    before = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert is_late("2026-11", [stored], before) is False  # at the deadline is on time
    assert is_late("2026-11", [stored + dt.timedelta(seconds=1)], before) is True
    assert is_late("2026-11", [], before) is None  # not due yet
    assert is_late("2026-11", [], dt.datetime(2026, 12, 6, tzinfo=dt.UTC)) is True
    later = Deadlines(deadline_day_of_next_month=10)  # a city's own deadline file
    assert is_late("2026-11", [stored + dt.timedelta(days=2)], before, later) is False


# ----------------------------------------------------------------------------- console
def test_the_summary_table_fits_80_columns_and_never_cuts_the_period() -> None:
    stars = {k: 1000 + i for i, k in enumerate(("5★", "4★", "3★", "2★", "1★", "0★"))}
    statuses = ["accepted", "accepted_with_warnings", "rejected", "superseded", "failed"]
    rows = [
        {"county_code": f"41052{i}", "period": "2026-11", "version": 12, "status": s, "errors": 1234,
         "warnings": 5678, **stars}
        for i, s in enumerate(statuses)
    ]  # fmt: skip
    console = Console(width=80, record=True, color_system=None)
    console.print(summary_table({"run_id": "20261204T020000-abcdef", "summary": rows}))
    lines = console.export_text().splitlines()
    assert max(len(ln) for ln in lines) <= 80
    body = [ln for ln in lines if re.match(r"\s*41052\d ", ln)]
    assert len(body) == len(rows) and all(" 2026-11 " in ln for ln in body), lines
    assert all("1005" in ln for ln in body)  # the 0★ count is still there, uncut


def test_rulebook_change_is_logged_only_when_there_is_something_to_re_rate(
    make_province: Callable[..., Province],  # noqa: F811
    collected: Collected,
) -> None:
    from fivestar.warehouse.derived import queue_all_if_rulebook_changed

    p = make_province()
    run_flow()
    collected.records.clear()
    engine = create_engine(p.url)
    try:
        assert queue_all_if_rulebook_changed(engine, "another rulebook")
    finally:
        engine.dispose()
    assert any("rulebook changed: 3 (county, year) pairs" in r.getMessage() for r in collected.records)


# ----------------------------------------------------------------------------- backup and restore
@pytest.mark.postgres
def test_a_pg_dump_of_a_loaded_warehouse_restores_with_the_same_report_rows(
    make_province: Callable[..., Province],  # noqa: F811
    pg_database: str,
    tmp_path: Path,
) -> None:
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if not (pg_dump and pg_restore):
        if in_ci():
            pytest.fail("pg_dump and pg_restore are required in CI (postgresql-client)")
        pytest.skip("pg_dump / pg_restore not installed")
    schema = f"wh_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(pg_database).update_query_dict({"options": f"-csearch_path={schema}"})
    p = make_province(url=url.render_as_string(hide_password=False))
    run_flow()
    before = _views(p.url)
    assert before["rpt_submission"] and before["rpt_branch_rating"]

    u = make_url(pg_database)
    conn_args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    dump = tmp_path / "warehouse.dump"
    subprocess.run([pg_dump, "-Fc", "-n", schema, "-f", str(dump), *conn_args, u.database], check=True)
    restored_db = f"{u.database}_restored"[:63]
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{restored_db}"')
    try:
        proc = subprocess.run(
            [pg_restore, "--no-owner", "-d", restored_db, *conn_args, str(dump)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        restored = u.set(database=restored_db).update_query_dict({"options": f"-csearch_path={schema}"})
        assert _views(restored.render_as_string(hide_password=False)) == before
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def _views(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every rpt_* view's rows, sorted."""
    engine = create_engine(url)
    try:
        views = sorted(v for v in inspect(engine).get_view_names() if v.startswith("rpt_"))
        assert set(VIEWS) <= set(views)
        with engine.connect() as conn:
            return {
                v: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {v}")).all()), key=repr) for v in views
            }
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- tools and docs
@pytest.mark.postgres
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_fivestar_roles_creates_the_reporting_role(warehouse_engine: Any, warehouse_url: str) -> None:
    from fivestar.warehouse.roles import drop_roles, role_names

    prefix = f"t{uuid.uuid4().hex[:8]}"
    names = role_names(prefix)
    try:
        res = CliRunner().invoke(
            app,
            ["roles", "--prefix", prefix],
            env={"FIVESTAR_ADMIN_URL": warehouse_url, "FIVESTAR_REPORTING_PASSWORD": "s3cret-pw"},
        )
        assert res.exit_code == 0, res.output
        assert f"reporting: {names['reporting']}" in res.output and "s3cret-pw" not in res.output
        with warehouse_engine.connect() as conn:
            grants = conn.execute(
                text(
                    "SELECT table_name FROM information_schema.role_table_grants "
                    "WHERE grantee = :r AND privilege_type = 'SELECT'"
                ),
                {"r": names["reporting"]},
            ).scalars()
            assert set(grants) >= set(VIEWS) and "submission" not in set(grants)
    finally:
        drop_roles(warehouse_engine, list(names.values()))


def test_fivestar_roles_on_sqlite_is_a_usage_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["roles"], env={"FIVESTAR_ADMIN_URL": f"sqlite:///{tmp_path / 'w.db'}"})
    assert res.exit_code == 2 and "PostgreSQL" in res.output and "Traceback" not in res.output


def test_dev_py_passes_prefect_commands_to_the_venv() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), "prefect", "version"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"Version:\s+3\.", proc.stdout), proc.stdout


def test_every_command_is_in_the_readme_command_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Command line", 1)[1].split("\n\n", 2)[1]
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"status", "runs", "roles", "rekey"} <= set(commands)
    missing = [c for c in commands if f"| `fivestar {c}" not in table]
    assert not missing, missing
    assert "`python3 dev.py prefect" in table
    assert os.path.exists(ROOT / "dev.py")


# ----------------------------------------------------------------------------- rotating the ID hash key
def _with_resident_ids(p: Province) -> None:
    """County A's workbook again, with two households numbered by their heads' ID numbers."""
    import random

    import wbfactory as W
    from fivestar.config import load_rulebook
    from fivestar.sample.inject import resident_id

    path = _file(p, A)
    mtime = path.stat().st_mtime
    brs = W.branches(A, 2, 1)
    rng = random.Random(7)
    day = dt.date(2026, 11, 3)
    ledger = [[day, brs[0]["code"], "支部", "", "ZB01", 2, ""]]
    ledger += [[day, brs[0]["code"], "户", resident_id(rng, A), "HH01", 2, ""] for _ in range(2)]
    W.write_workbook(path, load_rulebook(p.root / "config"), A, COUNTIES[A], PERIOD, brs, ledger=ledger)
    os.utime(path, (mtime, mtime))


def _pseudonyms(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ledger = conn.execute(
                text("SELECT subject_id FROM ledger WHERE subject_id LIKE 'IDH-%'")
            ).scalars()
            return set(ledger)
    finally:
        engine.dispose()


@pytest.fixture
def second_warehouse(warehouse_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Another empty warehouse of the same kind as `warehouse_url`."""
    if warehouse_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    db = request.getfixturevalue("pg_database")
    schema = f"second_{uuid.uuid4().hex[:10]}"
    admin = create_engine(db, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(db)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def test_rekey_rehashes_every_pseudonym_as_a_load_with_the_new_key_would(
    make_province: Callable[..., Province],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    warehouse_url: str,
    second_warehouse: str,
) -> None:
    p = make_province(url=warehouse_url, FIVESTAR_ID_HASH_KEY="old-key-0123456789abcdef")
    _with_resident_ids(p)
    run_flow()
    old = _pseudonyms(p.url)
    assert len(old) == 2

    res = CliRunner().invoke(app, ["rekey"], env={"FIVESTAR_NEW_ID_HASH_KEY": "new-key-0123456789abcdef"})
    assert res.exit_code == 0, res.output
    assert "re-keyed 2 pseudonyms" in res.output

    # The same files loaded afresh with the new key give the same report rows.
    fresh = second_warehouse
    monkeypatch.setenv("FIVESTAR_ID_HASH_KEY", "new-key-0123456789abcdef")
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", fresh)
    monkeypatch.setenv("FIVESTAR_PROCESSED_DIR", str(tmp_path / "fresh-processed"))
    run_flow()
    new = _pseudonyms(p.url)
    assert new == _pseudonyms(fresh) and not new & old
    # Run ids and processing times differ between the two loads (rpt_completeness: its as_of).
    drop = {"rpt_submission", "rpt_completeness"}
    rekeyed, loaded = _views(p.url), _views(fresh)
    assert {v: rows for v, rows in rekeyed.items() if v not in drop} == {
        v: rows for v, rows in loaded.items() if v not in drop
    }
    engine = create_engine(p.url)
    try:  # no old pseudonym left anywhere
        with engine.connect() as conn:
            for table, col in [
                ("ledger", "subject_id"),
                ("points_tally", "subject_id"),
                ("dq_issue", "value"),
            ]:
                found = conn.execute(text(f"SELECT {col} FROM {table} WHERE {col} LIKE 'IDH-%'")).scalars()
                assert not set(found) & old
    finally:
        engine.dispose()

    # With a key that is not the one the warehouse holds: refused, nothing changed.
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", p.url)
    monkeypatch.setenv("FIVESTAR_ID_HASH_KEY", "some-other-key-0123456789")
    res = CliRunner().invoke(app, ["rekey"], env={"FIVESTAR_NEW_ID_HASH_KEY": "third-key-0123456789abcd"})
    assert res.exit_code == 2 and "nothing was changed" in res.output, res.output
    assert _pseudonyms(p.url) == new
