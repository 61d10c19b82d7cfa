"""Faults against the real components: warehouse down or lost, disk full, SMTP down.

In: a three-county province (wbfactory), the module's Prefect server (test_runs'
`prefect_api` fixture), and for each fault the real thing:
- the warehouse unreachable at start: a closed port on 127.0.0.1 (PostgreSQL) and a
  SQLite path that cannot exist — `fivestar run` itself, as a process;
- the warehouse lost mid-run: PostgreSQL behind a TCP proxy on loopback that the test
  stops (every connection cut, new ones refused) while one county loads, and starts
  again — sooner (the retry with backoff succeeds) or later (that county-month is
  rolled back and reported, the next run loads it) or never during the run (the run
  fails; the next one completes everything). The shared PostgreSQL server itself is
  never touched;
- a full disk: a 1 MB tmpfs mounted over processed/feedback or processed/archive and
  filled up (root is needed; without it the tests skip, except with CI=true);
- SMTP down: a closed port, then an aiosmtpd server on that port for the next run.
Out: for each, the run's reported outcome, the warehouse contents (nothing half-loaded)
and that the next healthy run completes the work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import in_ci
from servers import free_port
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import wbfactory as W
from fivestar.config import load_rulebook
from testenv import clean_env, drop_fivestar_settings

ROOT = Path(__file__).resolve().parents[2]
A, B, C = "410522", "410523", "410526"
COUNTIES = {A: "林州市", B: "安阳县", C: "滑县"}
PERIOD = "2026-11"
FAST_FAIL_S = 45  # process start, imports and the failed connect, on a busy 2-core machine


def cli_env(**settings: str) -> dict[str, str]:
    env = clean_env()
    env.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "COLUMNS": "200"})
    env.update(settings)
    return env


# ----------------------------------------------------------------------------- a small province
@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults-province")
    cfg = root / "config"
    shutil.copytree(ROOT / "config", cfg, ignore=shutil.ignore_patterns("registry.csv", "submitters.csv"))
    brs = {c: W.branches(c, 2, 1) for c in COUNTIES}
    W.registry_frame(COUNTIES, brs).to_csv(cfg / "registry.csv", index=False)
    (cfg / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n" + "".join(f"{c},联系人,c{c}@example.org,\n" for c in COUNTIES),
        encoding="utf-8",
    )
    rb = load_rulebook(cfg)
    t0 = dt.datetime(2026, 11, 20, 9).timestamp()
    for i, (c, name) in enumerate(COUNTIES.items()):
        p = W.write_workbook(
            root / "raw" / PERIOD / f"{c}_{name}.xlsx",
            rb,
            c,
            name,
            PERIOD,
            brs[c],
            ledger=[[dt.date(2026, 11, 3), brs[c][0]["code"], "支部", "", "ZB01", 2, ""]],
        )
        os.utime(p, (t0 + i, t0 + i))
    return root


@dataclass
class Province:
    root: Path
    url: str

    def settings(self, **extra: str) -> dict[str, str]:
        return {
            "FIVESTAR_RAW_DIR": str(self.root / "raw"),
            "FIVESTAR_CONFIG_DIR": str(self.root / "config"),
            "FIVESTAR_PROCESSED_DIR": str(self.root / "processed"),
            "FIVESTAR_WAREHOUSE_URL": self.url,
            **extra,
        }

    def query(self, sql: str, url: str | None = None) -> list[tuple[Any, ...]]:
        engine = create_engine(url or self.url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql)).all()]
        finally:
            engine.dispose()

    def statuses(self, url: str | None = None) -> dict[str, str]:
        return dict(self.query("SELECT county_code, status FROM submission ORDER BY 1", url))


@pytest.fixture
def make_province(
    template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefect_api: str,  # noqa: F811
) -> Callable[..., Province]:
    def make(url: str | None = None, **extra: str) -> Province:
        root = tmp_path / "province"
        shutil.copytree(template, root)
        p = Province(root, url or f"sqlite:///{root / 'warehouse.db'}")
        drop_fivestar_settings(monkeypatch)
        for k, v in p.settings(**extra).items():
            monkeypatch.setenv(k, v)
        return p

    return make


def run_flow(**params: Any) -> dict[str, Any]:
    from flows.nightly import fivestar_run

    return fivestar_run.fn(**params)


# ----------------------------------------------------------------------------- unreachable at start
@pytest.mark.parametrize(
    "url",
    [
        pytest.param(
            "postgresql+psycopg://fivestar:s3cret@127.0.0.1:{port}/warehouse", id="postgresql-closed-port"
        ),
        pytest.param("sqlite:////dev/null/no/such/folder/warehouse.db", id="sqlite-impossible-path"),
    ],
)
def test_unreachable_warehouse_fails_fast_with_a_clear_message(
    template: Path, tmp_path: Path, url: str
) -> None:
    url = url.format(port=free_port())
    env = cli_env(
        FIVESTAR_RAW_DIR=str(template / "raw"),
        FIVESTAR_CONFIG_DIR=str(template / "config"),
        FIVESTAR_PROCESSED_DIR=str(tmp_path / "processed"),
        FIVESTAR_WAREHOUSE_URL=url,
        PREFECT_HOME=str(tmp_path / ".prefect"),
    )
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "fivestar.cli", "run"], env=env, cwd=tmp_path, capture_output=True, timeout=300
    )
    elapsed = time.monotonic() - t0
    out = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 3, out[-3000:]
    assert "Warehouse unreachable" in out and "Cannot" in out, out
    assert "Check FIVESTAR_WAREHOUSE_URL" in out
    assert "Traceback" not in out, out
    assert "s3cret" not in out
    assert elapsed < FAST_FAIL_S, elapsed
    # Failing fast means before Prefect starts a server or records a flow run.
    assert not list((tmp_path / ".prefect").glob("*.db")), list((tmp_path / ".prefect").iterdir())
    assert not (tmp_path / "processed").exists()


# ----------------------------------------------------------------------------- lost mid-run
class Proxy:
    """A TCP proxy on 127.0.0.1 to the PostgreSQL server; stop() cuts every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accepting: threading.Thread | None = None

    def start(self) -> None:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(64)
        self._listener = ls
        self._accepting = threading.Thread(target=self._accept, args=(ls,), daemon=True)
        self._accepting.start()

    def stop(self) -> None:
        ls, self._listener = self._listener, None
        if ls is not None:
            with contextlib.suppress(OSError):
                ls.shutdown(socket.SHUT_RDWR)
            ls.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        if self._accepting is not None:
            self._accepting.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._listener is not None

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()
            with self._lock:
                self._conns -= {a, b}


@pytest.fixture
def pg_behind_proxy(pg_database: str) -> Iterator[tuple[str, str, Proxy]]:
    """(URL through the proxy, direct URL, proxy) for a fresh schema of the module database."""
    schema = f"f_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    direct = make_url(pg_database).update_query_dict({"options": f"-csearch_path={schema}"})
    proxy = Proxy((direct.host or "127.0.0.1", direct.port or 5432))
    proxy.start()
    try:
        via = direct.set(host="127.0.0.1", port=proxy.port)
        yield via.render_as_string(hide_password=False), direct.render_as_string(hide_password=False), proxy
    finally:
        proxy.stop()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def _cut_during_load(
    monkeypatch: pytest.MonkeyPatch,
    proxy: Proxy,
    county: str,
    *,
    back_after_s: float | None,
    back_on: str | None,
) -> dict[str, float]:
    """Stop the proxy when `county` starts loading; start it again after `back_after_s`
    seconds, or when county `back_on` starts loading (None: never during this run)."""
    import fivestar.submission

    real = fivestar.submission.load_submission
    seen: dict[str, float] = {}

    def load(engine: Any, fv: Any, *args: Any, **kw: Any) -> Any:
        if fv.county_code == county and county not in seen:
            seen[county] = time.monotonic()
            proxy.stop()
            if back_after_s is not None:
                threading.Timer(back_after_s, proxy.start).start()
        if back_on and fv.county_code == back_on and not proxy.running:
            seen[back_on] = time.monotonic()
            proxy.start()
        return real(engine, fv, *args, **kw)

    monkeypatch.setattr(fivestar.submission, "load_submission", load)
    return seen


@pytest.mark.postgres
def test_a_short_loss_is_bridged_by_retry_with_backoff(
    make_province: Callable[..., Province],
    pg_behind_proxy: tuple[str, str, Proxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    via, direct, proxy = pg_behind_proxy
    p = make_province(via)
    _cut_during_load(monkeypatch, proxy, B, back_after_s=1.0, back_on=None)
    result = run_flow()
    assert sorted((r["county_code"], r["status"]) for r in result["summary"]) == [
        (A, "accepted"),
        (B, "accepted"),
        (C, "accepted"),
    ]
    assert p.statuses(direct) == {A: "accepted", B: "accepted", C: "accepted"}
    assert p.query("SELECT outcome FROM run", direct) == [("completed",)]


@pytest.mark.postgres
def test_a_county_whose_load_outlasts_the_retries_is_rolled_back_reported_and_loaded_next_run(
    make_province: Callable[..., Province],
    pg_behind_proxy: tuple[str, str, Proxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    via, direct, proxy = pg_behind_proxy
    p = make_province(via)
    seen = _cut_during_load(monkeypatch, proxy, B, back_after_s=None, back_on=C)
    result = run_flow()
    rows = {r["county_code"]: r for r in result["summary"]}
    assert rows[B]["status"] == "failed", rows
    assert rows[A]["status"] == rows[C]["status"] == "accepted"
    assert seen[C] - seen[B] >= 3.0  # B was retried with backoff before giving up
    # Rolled back: nothing of B's version is in the warehouse; A and C are complete.
    assert p.statuses(direct) == {A: "accepted", C: "accepted"}
    for table in ("dq_issue", "roster", "indicator_value", "ledger"):
        assert p.query(f"SELECT count(*) FROM {table} WHERE county_code = '{B}'", direct) == [(0,)], table
    assert p.query("SELECT outcome FROM run", direct) == [("completed",)]
    monkeypatch.undo()  # the real loader, and the settings are set again below
    make_settings = p.settings()
    for k, v in make_settings.items():
        monkeypatch.setenv(k, v)
    again = run_flow()
    assert [(r["county_code"], r["version"], r["status"]) for r in again["summary"]] == [(B, 1, "accepted")]
    assert p.statuses(direct) == {A: "accepted", B: "accepted", C: "accepted"}


@pytest.mark.postgres
def test_a_warehouse_lost_for_good_fails_the_run_and_the_next_run_completes_it(
    make_province: Callable[..., Province],
    pg_behind_proxy: tuple[str, str, Proxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.exc import DBAPIError

    via, direct, proxy = pg_behind_proxy
    p = make_province(via)
    import fivestar.warehouse.retry as retry
    import flows.nightly

    # Keep the doomed retries short (their backoff is proven by the test above).
    monkeypatch.setattr(retry, "BASE_DELAY_S", 0.1)
    monkeypatch.setattr(flows.nightly, "RETRY_DELAY_S", 0)
    flows.nightly.stage_task.cache_clear()
    _cut_during_load(monkeypatch, proxy, B, back_after_s=None, back_on=None)
    with pytest.raises(DBAPIError):
        run_flow()
    assert p.statuses(direct) == {A: "accepted"}  # B and C: nothing half-loaded
    proxy.start()
    monkeypatch.undo()
    flows.nightly.stage_task.cache_clear()
    for k, v in p.settings().items():
        monkeypatch.setenv(k, v)
    again = run_flow()
    assert sorted((r["county_code"], r["status"]) for r in again["summary"]) == [
        (B, "accepted"),
        (C, "accepted"),
    ]
    assert p.statuses(direct) == {A: "accepted", B: "accepted", C: "accepted"}
    assert ("completed",) in p.query("SELECT outcome FROM run", direct)


# ----------------------------------------------------------------------------- disk full
class Collected(logging.Handler):
    """Log records of one logger (Prefect's logging setup keeps them from pytest's caplog)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextlib.contextmanager
def full_disk(folder: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `folder`, filled up by a filler file; unmounted after."""
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        msg = f"cannot mount a tmpfs ({proc.stderr.strip()}): the disk-full test needs root"
        if in_ci():
            pytest.fail(msg + " (CI=true: it must run)")
        pytest.skip(msg)
    filler = folder / ".filler"
    try:
        with filler.open("wb", buffering=0) as fh:  # unbuffered: nothing left to flush at close
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError as e:
                assert e.errno == errno.ENOSPC
        yield filler
    finally:
        # Lazy: a file object still open on it (a failed writer's) must not keep it mounted.
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_disk_full_while_writing_feedback_commits_nothing_and_the_next_run_completes(
    make_province: Callable[..., Province],
) -> None:
    p = make_province()
    feedback = p.root / "processed" / "feedback"
    log = Collected()
    logging.getLogger("fivestar.pipeline").addHandler(log)
    with full_disk(feedback) as filler:
        try:
            result = run_flow()
        finally:
            logging.getLogger("fivestar.pipeline").removeHandler(log)
        rows = {r["county_code"]: r for r in result["summary"]}
        assert {c: r["status"] for c, r in rows.items()} == {A: "failed", B: "failed", C: "failed"}
        for c in COUNTIES:  # reported, with the reason, per county
            assert f"county {c} {PERIOD} v1 failed: [Errno 28] No space left on device" in log.text
        assert p.statuses() == {}  # the load is not committed
        assert p.query("SELECT outcome FROM run") == [("completed",)]
        assert not [f for f in feedback.rglob("*") if f.is_file() and f != filler]  # no half-written file
        filler.unlink()  # space again
        again = run_flow()
        assert sorted((r["county_code"], r["version"], r["status"]) for r in again["summary"]) == [
            (A, 1, "accepted"),
            (B, 1, "accepted"),
            (C, 1, "accepted"),
        ]
        assert len(list(feedback.rglob("*.xlsx"))) == 3
    assert p.statuses() == {A: "accepted", B: "accepted", C: "accepted"}


def test_disk_full_while_archiving_commits_nothing_and_the_next_run_completes(
    make_province: Callable[..., Province],
) -> None:
    p = make_province()
    archive = p.root / "processed" / "archive"
    with full_disk(archive) as filler:
        result = run_flow()  # each county's file is that county's failure; the run completes
        rows = {r["county_code"]: r for r in result["summary"]}
        assert {c: r["status"] for c, r in rows.items()} == {A: "failed", B: "failed", C: "failed"}
        assert {r["error"] for r in rows.values()} == {
            "cannot archive the file: [Errno 28] No space left on device"
        }
        assert p.statuses() == {}
        assert p.query("SELECT outcome FROM run") == [("completed",)]
        assert not [f for f in archive.rglob("*") if f.is_file() and f != filler]  # no partial copy left
        filler.unlink()
        again = run_flow()
        assert sorted((r["county_code"], r["status"]) for r in again["summary"]) == [
            (A, "accepted"),
            (B, "accepted"),
            (C, "accepted"),
        ]
        assert len([f for f in archive.rglob("*.xlsx")]) == 3
    assert p.statuses() == {A: "accepted", B: "accepted", C: "accepted"}


def test_a_failed_county_is_reported_with_its_reason(tmp_path: Path) -> None:
    from fivestar.summary import build_summary
    from fivestar.warehouse import ensure_schema, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    ensure_schema(engine)
    row = {
        "county_code": A,
        "period": PERIOD,
        "version": 1,
        "status": "failed",
        "errors": None,
        "warnings": None,
    }
    summary = build_summary(engine, [{**row, "error": "[Errno 28] No space left on device"}])
    engine.dispose()
    assert summary.to_dict("records")[0].get("error") == "[Errno 28] No space left on device"


# ----------------------------------------------------------------------------- SMTP down
def test_smtp_down_records_failed_alerts_without_touching_the_load_and_the_next_run_resends(
    make_province: Callable[..., Province],
) -> None:
    from aiosmtpd.controller import Controller

    port = free_port()
    p = make_province(FIVESTAR_SMTP_HOST="127.0.0.1", FIVESTAR_SMTP_PORT=str(port))
    result = run_flow()
    assert sorted((r["county_code"], r["status"]) for r in result["summary"]) == [
        (A, "accepted"),
        (B, "accepted"),
        (C, "accepted"),
    ]
    assert p.statuses() == {A: "accepted", B: "accepted", C: "accepted"}
    outcomes = p.query(
        "SELECT county_code, outcome, count(*) FROM alert_delivery GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert [(c, o) for c, o, _ in outcomes] == [(A, "failed"), (B, "failed"), (C, "failed")]
    assert all(
        "refused" in e.lower() or "connect" in e.lower()
        for (e,) in p.query("SELECT error FROM alert_delivery")
    )

    class Collector:
        def __init__(self) -> None:
            self.envelopes: list[Any] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            self.envelopes.append(envelope)
            return "250 OK"

    handler = Collector()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        again = run_flow()  # nothing new to process: only the undelivered alerts
        assert again["summary"] == []
        rcpts = sorted(rcpt for e in handler.envelopes for rcpt in e.rcpt_tos)
        assert rcpts == [f"c{c}@example.org" for c in sorted(COUNTIES)]
        sent = p.query("SELECT county_code, version FROM alert_delivery WHERE outcome = 'sent' ORDER BY 1")
        assert sent == [(A, 1), (B, 1), (C, 1)]
        third = run_flow()  # delivered alerts are never sent twice
        assert third["summary"] == [] and len(handler.envelopes) == 3
    finally:
        ctl.stop()


# ----------------------------------------------------------------------------- per-file timeout
def test_a_file_slower_than_the_per_file_timeout_is_rejected_and_the_run_goes_on(
    make_province: Callable[..., Province],
) -> None:
    """A 1,048,576-row sheet of 2 cells a row (≈ 83 MB of XML: well over 10 s to read
    on these machines) against a 3 s per-file limit; the good files take well under 1 s."""
    from corpus import containers

    p = make_province()
    limits = p.root / "config" / "limits.yaml"
    limits.write_text(
        limits.read_text(encoding="utf-8").replace("per_file_timeout_s: 300", "per_file_timeout_s: 3")
    )
    assert "per_file_timeout_s: 3\n" in limits.read_text(encoding="utf-8")
    slow = next((p.root / "raw" / PERIOD).glob(f"{B}_*.xlsx"))
    good = slow.read_bytes()
    slow.unlink()
    containers.with_huge_sheet(slow, good, "积分台账", 1_048_576, cells_per_row=2)
    t0 = time.monotonic()
    result = run_flow()
    elapsed = time.monotonic() - t0
    rows = {r["county_code"]: r["status"] for r in result["summary"]}
    assert rows == {A: "accepted", B: "rejected", C: "accepted"}
    issues = p.query(f"SELECT rule, message FROM dq_issue WHERE county_code = '{B}'")
    assert issues == [
        ("file.timeout", "文件处理超时，请检查文件是否异常（如大量空白格式行、超大图片）后重新保存上报")
    ]
    assert elapsed < 120, elapsed  # the stalled read was cut, and its feedback is summary-only


def test_the_cli_reports_a_warehouse_lost_during_the_run_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError
    from typer.testing import CliRunner

    import flows.nightly
    from fivestar.cli import app

    def lost(**_: Any) -> dict[str, Any]:  # what the flow raises when retries are exhausted
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(flows.nightly, "fivestar_run", lost)
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")  # reachable at start
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 3, result.output
    assert "warehouse" in result.output.lower() and "Traceback" not in result.output
