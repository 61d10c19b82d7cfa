"""Run safety of the whole pipeline, on SQLite and PostgreSQL (marker `prefect_server`).

In: a generated province (tests/wbfactory.py): three counties × two months of county
workbooks with fixed modification times, the repository rulebook, a registry; a Prefect
server started once for the module (loopback, own PREFECT_HOME); the conftest
`warehouse_url` (a SQLite file, or a fresh PostgreSQL schema per test).
Out: checks on ordered CSV dumps of the six rpt_* views that
- a second run changes nothing (byte-identical views);
- a correction changes only its county's rows and its county/city/province summaries,
  and supersedes the older version; a rejected correction leaves the older one current;
- two `fivestar run` processes started together load every version once;
- `kill -9` in the middle of a run, then another run, equals one uninterrupted run;
- `--force` reprocesses under existing version numbers; `--county`/`--period` select;
- a rulebook change re-rates from the warehouse without reading any file again.
The pipeline runs in-process (`fivestar_run.fn`) except where separate processes are the
point. One uninterrupted run per backend is made once per module and copied into each
test's warehouse (a SQLite backup, or INSERT … SELECT between PostgreSQL schemas).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import flows  # noqa: F401  (Prefect defaults for these machines: no telemetry, quiet logs)
import wbfactory as W
from fivestar.config import load_rulebook
from testenv import clean_env, drop_fivestar_settings

pytestmark = pytest.mark.prefect_server

ROOT = Path(__file__).resolve().parents[2]
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
PROCESS_TIMEOUT_S = 600  # one `fivestar run` process; generous for a busy CI machine

VIEWS = (
    "rpt_branch_rating",
    "rpt_branch_star",
    "rpt_area_summary",
    "rpt_submission",
    "rpt_dq_issue",
    "rpt_points_tally",
)
VOLATILE = ("processed_at", "run_id", "as_of")  # differ between two runs over the same files, by design

PROVINCE, CITY = "410000", "410500"
A, B, C = "410522", "410523", "410526"
COUNTIES = {A: "林州市", B: "安阳县", C: "滑县"}
P1, P2 = "2026-10", "2026-11"
BRANCHES = {A: W.branches(A, 3, 1), B: W.branches(B, 2, 1), C: W.branches(C, 2, 0)}
A_VILLAGE2 = BRANCHES[A][1]["code"]  # two stars with the generated values; ZBGY scores 76 of 80


# ----------------------------------------------------------------------------- Prefect server


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


# ----------------------------------------------------------------------------- view dumps
@dataclass(frozen=True)
class View:
    """One rpt_* view: its columns and its rows, sorted by every column."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        w.writerows([_cell(v) for v in r] for r in self.rows)
        return buf.getvalue()

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]

    def without(self, *columns: str) -> View:
        keep = [i for i, c in enumerate(self.columns) if c not in columns]
        return View(tuple(self.columns[i] for i in keep), tuple(tuple(r[i] for i in keep) for r in self.rows))

    def only(self, pred: Callable[[dict[str, Any]], bool]) -> View:
        return View(self.columns, tuple(r for r, d in zip(self.rows, self.dicts(), strict=True) if pred(d)))


def _cell(v: Any) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v)


Dump = dict[str, View]


def dump(url: str, exclude: tuple[str, ...] = ()) -> Dump:
    """Every rpt_* view, without `exclude` columns, ordered by all remaining columns."""
    engine = create_engine(url)
    out: Dump = {}
    try:
        with engine.connect() as conn:
            for view in VIEWS:
                names = list(conn.exec_driver_sql(f"SELECT * FROM {view} WHERE 1 = 0").keys())
                cols = [c for c in names if c not in exclude]
                order = ", ".join(str(i) for i in range(1, len(cols) + 1))
                rows = conn.exec_driver_sql(f"SELECT {', '.join(cols)} FROM {view} ORDER BY {order}").all()
                out[view] = View(tuple(cols), tuple(tuple(r) for r in rows))
    finally:
        engine.dispose()
    return out


def csvs(d: Dump) -> dict[str, str]:
    return {v: d[v].csv() for v in VIEWS}


def county_of(view: str, row: dict[str, Any]) -> str:
    """Which county (or, in rpt_area_summary, which area) a view row belongs to."""
    if view == "rpt_area_summary":
        return str(row["area_code"])
    if view in ("rpt_branch_star", "rpt_points_tally"):
        return str(row["branch_code"])[:6]
    return str(row["county_code"])


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()


def submissions(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT county_code, period, version, status FROM rpt_submission ORDER BY 1, 2, 3")


def processed(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(county, period, version, status when loaded) of each version a run processed."""
    return sorted((r["county_code"], r["period"], int(r["version"]), r["status"]) for r in result["summary"])


def versions(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(county, period, version) of each version a run processed."""
    return [r[:3] for r in processed(result)]


# ----------------------------------------------------------------------------- the province
def _mtime(period: str, minutes: int) -> float:
    y, m = (int(x) for x in period.split("-"))
    return dt.datetime(y, m, 20, 9, 0).timestamp() + 60 * minutes


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config/ and raw/ of the generated province (copied into each test)."""
    root = tmp_path_factory.mktemp("province")
    cfg = root / "config"
    shutil.copytree(ROOT / "config", cfg, ignore=shutil.ignore_patterns("registry.csv", "submitters.csv"))
    W.registry_frame(COUNTIES, BRANCHES).to_csv(cfg / "registry.csv", index=False)
    (cfg / "submitters.csv").write_text("county_code,name,email,webhook_url\n", encoding="utf-8")
    rb = load_rulebook(cfg)
    for period in (P1, P2):
        y, m = (int(x) for x in period.split("-"))
        for i, (code, name) in enumerate(COUNTIES.items()):
            ledger = [[dt.date(y, m, 3), BRANCHES[code][0]["code"], "支部", "", "ZB01", 2, ""]]
            path = W.write_workbook(
                root / "raw" / period / f"{code}_{name}_{period}.xlsx",
                rb,
                code,
                name,
                period,
                BRANCHES[code],
                ledger=ledger,
            )
            os.utime(path, (_mtime(period, i), _mtime(period, i)))
    return root


@dataclass
class Province:
    """A test's copy of the province, wired to its warehouse through FIVESTAR_* settings."""

    root: Path
    url: str
    api_url: str

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def processed(self) -> Path:
        return self.root / "processed"

    @property
    def backend(self) -> str:
        return make_url(self.url).get_backend_name()

    def settings(self) -> dict[str, str]:
        return {
            "FIVESTAR_RAW_DIR": str(self.raw),
            "FIVESTAR_CONFIG_DIR": str(self.config),
            "FIVESTAR_PROCESSED_DIR": str(self.processed),
            "FIVESTAR_WAREHOUSE_URL": self.url,
            # `fivestar run` on PostgreSQL refuses the built-in key; in-process runs use the same.
            "FIVESTAR_ID_HASH_KEY": "fivestar-test-id-hash-key",
        }

    def run(self, **params: Any) -> dict[str, Any]:
        """One pipeline run in this process (the flow function, tasks through Prefect)."""
        from flows.nightly import fivestar_run

        return fivestar_run.fn(**params)

    def start_cli(self, log: Path, *args: str) -> subprocess.Popen[bytes]:
        """`fivestar run ARGS` as a separate process (talking to the module's Prefect server)."""
        env = clean_env()
        env.update(QUIET)
        env.update(self.settings(), PREFECT_API_URL=self.api_url, PREFECT_HOME=str(self.root / ".prefect"))
        with log.open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "fivestar.cli", "run", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )

    def add_file(
        self,
        county: str,
        period: str,
        suffix: str,
        *,
        values: dict[tuple[str, str], Any] | None = None,
        edit: Callable[[Any], None] | None = None,
        day: int = 1,
    ) -> Path:
        """A later file for a county-month (a correction), `day` days after the first."""
        rb = load_rulebook(self.config)
        name = f"{county}_{COUNTIES[county]}_{period}_{suffix}.xlsx"
        path = W.write_workbook(
            self.raw / period / name,
            rb,
            county,
            COUNTIES[county],
            period,
            BRANCHES[county],
            values=values,
            edit=edit,
        )
        t = _mtime(period, 24 * 60 * day)
        os.utime(path, (t, t))
        return path

    def dump(self, exclude: tuple[str, ...] = ()) -> Dump:
        return dump(self.url, exclude)


def _isolate(mp: pytest.MonkeyPatch, province: Province) -> None:
    drop_fivestar_settings(mp)
    for k, v in province.settings().items():
        mp.setenv(k, v)


@pytest.fixture
def new_province(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_api: str
) -> Callable[[str], Province]:
    """Copy the province into tmp_path, point FIVESTAR_* at it and at `url`."""

    def make(url: str) -> Province:
        root = tmp_path / "province"
        shutil.copytree(template, root)  # copy2: modification times (version order) are kept
        p = Province(root, url, prefect_api)
        _isolate(monkeypatch, p)
        return p

    return make


@pytest.fixture
def province(new_province: Callable[[str], Province], warehouse_url: str) -> Province:
    """The province with an empty warehouse (SQLite or PostgreSQL)."""
    return new_province(warehouse_url)


# ----------------------------------------------------------------------------- baselines
@dataclass
class Baseline:
    """One uninterrupted run over the template province, kept for the module."""

    url: str
    processed: Path
    result: dict[str, Any]

    def dump(self, exclude: tuple[str, ...] = ()) -> Dump:
        return dump(self.url, exclude)


def _pg_schema(url: str) -> str:
    options = str(make_url(url).query.get("options", ""))
    return options.split("search_path=", 1)[1].split()[0]


def _pg_url_for_schema(db_url: str, schema: str) -> str:
    u = make_url(db_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return u.render_as_string(hide_password=False)


def _admin_exec(db_url: str, sql: str) -> None:
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def baselines() -> dict[str, Baseline]:
    return {}


@pytest.fixture
def baseline(
    province: Province,
    baselines: dict[str, Baseline],
    template: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Baseline:
    """The module's uninterrupted run on the province's backend (made on first use)."""
    backend = province.backend
    if backend not in baselines:
        root = tmp_path_factory.mktemp(f"baseline-{backend}")
        if backend == "sqlite":
            url = f"sqlite:///{root / 'warehouse.db'}"
        else:
            db_url = request.getfixturevalue("pg_database")  # dropped with the module's database
            schema = f"base_{uuid.uuid4().hex[:10]}"
            _admin_exec(db_url, f'CREATE SCHEMA "{schema}"')
            url = _pg_url_for_schema(db_url, schema)
        shutil.copytree(template, root / "province")
        base = Province(root / "province", url, province.api_url)
        with pytest.MonkeyPatch.context() as mp:
            _isolate(mp, base)
            result = base.run()
        assert len(result["summary"]) == 6, result["summary"]
        baselines[backend] = Baseline(url, base.processed, result)
    return baselines[backend]


def clone_warehouse(src: str, dst: str) -> None:
    """Copy every table of warehouse `src` into the empty warehouse `dst` (same backend)."""
    if make_url(src).get_backend_name() == "sqlite":
        target = Path(str(make_url(dst).database))
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(str(make_url(src).database)) as s, sqlite3.connect(target) as d:
            s.backup(d)
        return
    from fivestar.warehouse import ensure_schema, make_engine

    src_schema, dst_schema = _pg_schema(src), _pg_schema(dst)
    engine = make_engine(dst)
    try:
        ensure_schema(engine)
        with engine.begin() as conn:
            tables = conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = :s AND table_type = 'BASE TABLE' ORDER BY 1"
                ),
                {"s": src_schema},
            ).scalars()
            for t in list(tables):
                cols = conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
                    ),
                    {"s": src_schema, "t": t},
                ).scalars()
                c = ", ".join(f'"{x}"' for x in cols)
                conn.exec_driver_sql(
                    f'DELETE FROM "{dst_schema}"."{t}"'
                )  # e.g. meta, as ensure_schema wrote it
                conn.exec_driver_sql(
                    f'INSERT INTO "{dst_schema}"."{t}" ({c}) SELECT {c} FROM "{src_schema}"."{t}"'
                )
    finally:
        engine.dispose()


@pytest.fixture
def loaded(province: Province, baseline: Baseline) -> Province:
    """The province after one uninterrupted run (a copy of the module's baseline)."""
    clone_warehouse(baseline.url, province.url)
    shutil.copytree(baseline.processed, province.processed, dirs_exist_ok=True)
    return province


# ----------------------------------------------------------------------------- tests
def test_second_run_leaves_every_view_byte_identical(loaded: Province, baseline: Baseline) -> None:
    before = csvs(loaded.dump())
    assert before == csvs(baseline.dump())  # the copy is exact
    assert all(before[v].count("\n") > 1 for v in VIEWS if v != "rpt_dq_issue"), "views unexpectedly empty"
    result = loaded.run()
    assert processed(result) == []
    assert csvs(loaded.dump()) == before


def test_flow_run_deriving_ahead_on_the_helper_equals_the_in_process_run(
    province: Province, baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow run itself (not `.fn`), a chunk per county: on PostgreSQL the helper
    process derives each loaded chunk while the next ones load, the final pass the rest.
    Same views and derived pairs as the baseline, which derives everything at the end."""
    import fivestar.pipeline.period
    from fivestar.pipeline.derive_stage import DeriveAhead
    from flows.nightly import fivestar_run

    monkeypatch.setattr(fivestar.pipeline.period, "CHUNK", 1)
    derived_ahead: list[tuple[str, int]] = []
    real_stop, real_collect = DeriveAhead.stop, DeriveAhead.collect

    def stop(self: DeriveAhead) -> set[str]:
        deadline = time.monotonic() + 60  # let the helper start every chunk handed to it
        while any(not (f.running() or f.done()) for _, f in self.handed) and time.monotonic() < deadline:
            time.sleep(0.05)
        return real_stop(self)

    def collect(self: DeriveAhead) -> tuple[list[tuple[str, int]], bool]:
        out = real_collect(self)
        derived_ahead.extend(out[0])
        return out

    monkeypatch.setattr(DeriveAhead, "stop", stop)
    monkeypatch.setattr(DeriveAhead, "collect", collect)
    result = fivestar_run()
    assert processed(result) == processed(baseline.result)
    assert result["derived"] == baseline.result["derived"]
    assert csvs(province.dump(VOLATILE)) == csvs(baseline.dump(VOLATILE))
    if province.backend == "postgresql":
        assert derived_ahead and set(derived_ahead) <= {tuple(p) for p in result["derived"]}
    else:  # SQLite has one writer: everything is derived in the final pass
        assert derived_ahead == []


def test_correction_changes_only_its_county_and_its_summaries(loaded: Province) -> None:
    before = loaded.dump()
    loaded.add_file(A, P2, "更正", values={(A_VILLAGE2, "meeting_rate"): 100.0})  # 96 → 100
    result = loaded.run()
    assert processed(result) == [(A, P2, 2, "accepted")]
    after = loaded.dump()

    ancestors = {A, CITY, PROVINCE}
    for view in VIEWS:
        mine = ancestors if view == "rpt_area_summary" else {A}
        b = before[view].only(lambda r, v=view, m=mine: county_of(v, r) not in m)
        a = after[view].only(lambda r, v=view, m=mine: county_of(v, r) not in m)
        if view == "rpt_area_summary":
            # Every row carries the province's share for its year and type: that may move.
            b, a = b.without("province_three_plus_share"), a.without("province_three_plus_share")
        assert a.csv() == b.csv(), f"{view}: rows of other counties changed"

    summary = {(r["area_code"], r["branch_type"]): r for r in after["rpt_area_summary"].dicts()}
    for r in summary.values():
        assert r["province_three_plus_share"] == summary[(PROVINCE, r["branch_type"])]["three_plus_share"]

    # The corrected branch gains 支部过硬星 (76 → 80 points) and a level; its areas count it.
    def star(d: Dump) -> dict[str, Any]:
        (row,) = [
            r
            for r in d["rpt_branch_star"].dicts()
            if r["branch_code"] == A_VILLAGE2 and r["star_code"] == "ZBGY"
        ]
        return row

    def level(d: Dump) -> int:
        (row,) = [r for r in d["rpt_branch_rating"].dicts() if r["branch_code"] == A_VILLAGE2]
        return int(row["star_level"])

    assert (star(before)["total_score"], bool(star(before)["awarded"])) == (76.0, False)
    assert (star(after)["total_score"], bool(star(after)["awarded"])) == (80.0, True)
    assert level(after) == level(before) + 1
    changed_stars = set(after["rpt_branch_star"].rows) - set(before["rpt_branch_star"].rows)
    assert {r[after["rpt_branch_star"].columns.index("branch_code")] for r in changed_stars} == {A_VILLAGE2}
    old = {(r["area_code"], r["branch_type"]): r for r in before["rpt_area_summary"].dicts()}
    for area in ancestors:
        for btype in ("村", "全部"):
            n, o = summary[(area, btype)], old[(area, btype)]
            assert (n["three_star"], n["two_star"]) == (o["three_star"] + 1, o["two_star"] - 1), (area, btype)
        assert summary[(area, "社区")] == old[(area, "社区")]

    assert [r for r in submissions(loaded.url) if r[0] == A] == [
        (A, P1, 1, "accepted"),
        (A, P2, 1, "superseded"),
        (A, P2, 2, "accepted"),
    ]


def test_rejected_correction_leaves_older_version_current(loaded: Province) -> None:
    before = loaded.dump()

    def bad(wb: Any) -> None:
        wb["村指标"]["C2"] = 150  # 三会一课完成率 above 100: an error

    loaded.add_file(A, P2, "更正", edit=bad)
    result = loaded.run()
    assert processed(result) == [(A, P2, 2, "rejected")]
    after = loaded.dump()
    for view in ("rpt_branch_rating", "rpt_branch_star", "rpt_area_summary", "rpt_points_tally"):
        assert after[view].csv() == before[view].csv(), f"{view} changed after a rejected correction"
    new_subs = set(after["rpt_submission"].rows) - set(before["rpt_submission"].rows)
    assert set(before["rpt_submission"].rows) <= set(after["rpt_submission"].rows)
    assert [
        (r["county_code"], r["period"], r["version"], r["status"])
        for r in View(after["rpt_submission"].columns, tuple(new_subs)).dicts()
    ] == [(A, P2, 2, "rejected")]
    issues = [r for r in after["rpt_dq_issue"].dicts() if r["severity"] == "error"]
    assert issues and {(r["county_code"], r["period"], r["version"]) for r in issues} == {(A, P2, 2)}
    assert any(r["sheet"] == "村指标" and r["cell"] == "C2" for r in issues), issues
    assert [r for r in submissions(loaded.url) if r[0] == A] == [
        (A, P1, 1, "accepted"),
        (A, P2, 1, "accepted"),
        (A, P2, 2, "rejected"),
    ]
    # The rejected version is recorded once: the next run does not retry it.
    assert processed(loaded.run()) == []
    assert csvs(loaded.dump()) == csvs(after)


def test_two_runs_started_together_load_every_version_once(
    province: Province, baseline: Baseline, tmp_path: Path
) -> None:
    logs = [tmp_path / f"run{i}.log" for i in range(2)]
    procs = [province.start_cli(log) for log in logs]
    for proc, log in zip(procs, logs, strict=True):
        try:
            proc.wait(timeout=PROCESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            pytest.fail(f"`fivestar run` did not finish in {PROCESS_TIMEOUT_S} s:\n{_tail(log)}")
        assert proc.returncode == 0, _tail(log)
    outputs = [log.read_text(errors="replace") for log in logs]
    # One run did the work; the other waited for the lock and found nothing new.
    assert sum("Nothing new to process." in out for out in outputs) == 1, outputs
    assert query(province.url, "SELECT COUNT(*), COUNT(DISTINCT file_sha256) FROM submission") == [(6, 6)]
    assert query(province.url, "SELECT outcome, COUNT(*) FROM run GROUP BY outcome") == [("completed", 2)]
    assert csvs(province.dump(VOLATILE)) == csvs(baseline.dump(VOLATILE))


def test_kill_9_during_a_run_then_rerun_equals_one_uninterrupted_run(
    province: Province, baseline: Baseline, tmp_path: Path
) -> None:
    log = tmp_path / "killed.log"
    proc = province.start_cli(log)
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    engine = create_engine(province.url)
    try:
        while True:  # kill as soon as the first version is committed
            if proc.poll() is not None:
                pytest.fail(f"the run ended (rc {proc.returncode}) before it could be killed:\n{_tail(log)}")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"no version loaded after {PROCESS_TIMEOUT_S} s:\n{_tail(log)}")
            try:
                with engine.connect() as conn:
                    if conn.exec_driver_sql("SELECT COUNT(*) FROM submission").scalar_one() >= 1:
                        break
            except Exception:  # schema not created yet, or the database is busy
                pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        engine.dispose()
    assert proc.returncode == -signal.SIGKILL
    # The kill interrupted the run: it never finished, and not everything was loaded.
    assert query(province.url, "SELECT outcome FROM run") == [("running",)]
    loaded_before = query(province.url, "SELECT COUNT(*) FROM submission")[0][0]
    assert 1 <= loaded_before < 6

    result = province.run()
    assert len(result["summary"]) == 6 - loaded_before
    assert query(province.url, "SELECT COUNT(*), COUNT(DISTINCT file_sha256) FROM submission") == [(6, 6)]
    assert csvs(province.dump(VOLATILE)) == csvs(baseline.dump(VOLATILE))


def test_force_reprocesses_under_existing_version_numbers(loaded: Province) -> None:
    before = loaded.dump()
    result = loaded.run(force=True)
    assert processed(result) == sorted((c, p, 1, "accepted") for c in COUNTIES for p in (P1, P2))
    after = loaded.dump()
    for view in VIEWS:
        if view != "rpt_submission":
            assert after[view].csv() == before[view].csv(), f"{view} changed by --force"
    assert (
        after["rpt_submission"].without(*VOLATILE).csv() == before["rpt_submission"].without(*VOLATILE).csv()
    )
    assert {r["run_id"] for r in after["rpt_submission"].dicts()} == {result["run_id"]}


def test_county_and_period_select_only_those_files(loaded: Province) -> None:
    change = {(BRANCHES[A][0]["code"], "meeting_rate"): 100.0}
    loaded.add_file(A, P1, "更正", values=change)
    loaded.add_file(A, P2, "更正", values=change)
    loaded.add_file(B, P2, "更正", values={(BRANCHES[B][0]["code"], "meeting_rate"): 100.0})

    assert processed(loaded.run(county=A, period=P2)) == [(A, P2, 2, "accepted")]
    assert processed(loaded.run(period=P1)) == [(A, P1, 2, "accepted")]
    # --county with --force: B's recorded versions under their numbers, plus its new file.
    forced = loaded.run(county=B, force=True)
    assert versions(forced) == [(B, P1, 1), (B, P2, 1), (B, P2, 2)]
    assert submissions(loaded.url) == [
        (A, P1, 1, "superseded"),
        (A, P1, 2, "accepted"),
        (A, P2, 1, "superseded"),
        (A, P2, 2, "accepted"),
        (B, P1, 1, "accepted"),
        (B, P2, 1, "superseded"),
        (B, P2, 2, "accepted"),
        (C, P1, 1, "accepted"),
        (C, P2, 1, "accepted"),
    ]
    touched = query(
        loaded.url,
        f"SELECT county_code, period, version FROM rpt_submission WHERE run_id = '{forced['run_id']}' ORDER BY 1, 2, 3",
    )
    assert touched == [(B, P1, 1), (B, P2, 1), (B, P2, 2)]
    assert processed(loaded.run()) == []


def test_rulebook_change_rerates_without_reading_files(loaded: Province) -> None:
    before = loaded.dump()
    rulebook = loaded.config / "rulebook.yaml"
    content = rulebook.read_text(encoding="utf-8")
    assert content.count("award_threshold: 80") == 1
    rulebook.write_text(content.replace("award_threshold: 80", "award_threshold: 75"), encoding="utf-8")

    result = loaded.run()
    assert processed(result) == []  # no file read again
    assert {c for c, _year in result["derived"]} == set(COUNTIES)
    after = loaded.dump()
    for view in ("rpt_submission", "rpt_dq_issue", "rpt_points_tally"):
        assert after[view].csv() == before[view].csv(), f"{view} changed by a rulebook change"
    assert after["rpt_branch_star"].csv() != before["rpt_branch_star"].csv()
    old = {(r["branch_code"], r["star_code"]): r for r in before["rpt_branch_star"].dicts()}
    new = {(r["branch_code"], r["star_code"]): r for r in after["rpt_branch_star"].dicts()}
    assert old.keys() == new.keys()
    for key, n in new.items():
        assert n["total_score"] == old[key]["total_score"], key
        expect = n["total_score"] >= 75 and not n["vetoed"] and not n["gate_failed"]
        assert bool(n["awarded"]) == bool(expect), (key, n, old[key])
    assert any(bool(new[k]["awarded"]) and not bool(old[k]["awarded"]) for k in new)
    levels = {r["branch_code"]: r["star_level"] for r in before["rpt_branch_rating"].dicts()}
    assert all(r["star_level"] >= levels[r["branch_code"]] for r in after["rpt_branch_rating"].dicts())


def test_versions_loaded_by_a_crashed_run_are_still_alerted(
    new_province: Callable[[str], Province], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fivestar.pipeline.run

    p = new_province(f"sqlite:///{tmp_path / 'wh' / 'warehouse.db'}")
    # A contact per county whose webhook fails its precheck: one alert record, no network.
    (p.config / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n"
        + "".join(f"{c},联系人,,ftp://example.invalid/{c}\n" for c in COUNTIES),
        encoding="utf-8",
    )

    def crash(*_a: Any, **_k: Any) -> None:
        raise KeyboardInterrupt("simulated crash after the loads, before alerts")

    with monkeypatch.context() as mp:
        mp.setattr(fivestar.pipeline.run, "derive_all", crash)
        with pytest.raises(KeyboardInterrupt):
            p.run(period=P1)
    assert len(submissions(p.url)) == 3
    p.run(period=P1)
    alerted = query(
        p.url, "SELECT DISTINCT county_code, period, version FROM alert_delivery ORDER BY 1, 2, 3"
    )
    assert alerted == [(c, P1, 1) for c in sorted(COUNTIES)]


def test_runs_on_an_up_to_date_warehouse_execute_no_ddl(loaded: Province) -> None:
    """The schema is at head and no view changed: two runs create, alter or drop nothing
    (every statement through SQLAlchemy, seen by its before_cursor_execute event)."""
    import re

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    ddl: list[str] = []
    seen: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)
        if re.match(r"\s*(CREATE|ALTER|DROP)\b", statement, re.IGNORECASE):
            ddl.append(statement)

    event.listen(Engine, "before_cursor_execute", watch)
    try:
        loaded.run()
        loaded.run()
    finally:
        event.remove(Engine, "before_cursor_execute", watch)
    assert seen and ddl == []
