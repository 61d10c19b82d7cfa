"""Per-file faults on the real filesystem: each is one county's problem, never the run's.

In: the three-county province of test_faults (real workbooks, SQLite warehouse, the
module's Prefect server), and for each fault the real thing:
- a workbook with mode 000, read by `fivestar run` as a process that really lacks the
  permission: root ignores file modes, so under root the process runs without the
  CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH capabilities (setpriv);
- a full disk while archiving: a 1 MB tmpfs mounted over processed/archive, too small
  for one county's (padded) workbook only;
- a workbook still being written (its first half, just modified) under a settle time;
- a file that changes between discovery and archiving;
- the archive and feedback folders under umask 022.
Out: the run completes (exit 0), the faulty county is reported failed (log in English,
CLI, the IT digest on a local HTTP receiver) or left for a later run, the others are
loaded, nothing half-written stays behind, and the next healthy run takes the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import in_ci
from test_faults import (  # noqa: F401  (template, make_province: fixtures)
    COUNTIES,
    PERIOD,
    A,
    B,
    C,
    Collected,
    Province,
    cli_env,
    full_disk,
    make_province,
    run_flow,
    template,
)

from fivestar.cli import EXIT_COUNTY_FAILED
from fivestar.ingest.discover import FileChanged, archive, discover

NO_DAC = ["--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-dac_override,-dac_read_search"]


def _file(p: Province, county: str) -> Path:
    return p.root / "raw" / PERIOD / f"{county}_{COUNTIES[county]}.xlsx"


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """A local HTTP receiver for webhooks: (port, [{path, json}])."""
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            n = int(self.headers.get("Content-Length", 0))
            bodies.append({"path": self.path, "json": json.loads(self.rfile.read(n) or b"{}")})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errcode":0}')

        def log_message(self, *a: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server.server_address[1], bodies
    server.shutdown()


# ----------------------------------------------------------------------------- unreadable file
def test_an_unreadable_workbook_is_its_countys_failure_and_the_run_goes_on(
    make_province: Callable[..., Province],  # noqa: F811
    prefect_api: str,  # noqa: F811
    receiver: tuple[int, list[dict[str, Any]]],
) -> None:
    port, bodies = receiver
    p = make_province()
    (p.root / "config" / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n"
        + "".join(f"{c},联系人,,http://127.0.0.1:{port}/county/{c}\n" for c in COUNTIES),
        encoding="utf-8",
    )
    os.chmod(_file(p, B), 0)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root reads any file: run without the capabilities that allow it
        prefix = ["setpriv", *NO_DAC]
        probe = (
            subprocess.run([*prefix, "cat", str(_file(p, B))], capture_output=True)
            if shutil.which("setpriv")
            else None
        )
        if probe is None or probe.returncode == 0:
            msg = "as root, this needs setpriv (util-linux) able to drop CAP_DAC_OVERRIDE"
            if in_ci():
                pytest.fail(msg + " (CI=true: it must run)")
            pytest.skip(msg)
    env = cli_env(
        **p.settings(FIVESTAR_IT_ALERT_WEBHOOK=f"http://127.0.0.1:{port}/it"),
        PREFECT_API_URL=prefect_api,
        PREFECT_HOME=str(p.root / ".prefect"),
    )
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "fivestar.cli", "run"],
        env=env,
        cwd=p.root,
        capture_output=True,
        timeout=600,
    )
    out = proc.stdout.decode() + proc.stderr.decode()
    # The others are loaded; exit 4 says a county's file could not be processed (README).
    assert proc.returncode == EXIT_COUNTY_FAILED, out[-4000:]
    assert "Traceback" not in out, out[-4000:]
    # Reported in English, with the reason: log line and the summary.
    assert f"county {B} {PERIOD} v1 failed: cannot read the file: [Errno 13] Permission denied" in out, out
    assert p.statuses() == {A: "accepted", C: "accepted"}  # the others are processed
    ((outcome, record),) = p.query("SELECT outcome, summary FROM run")
    assert outcome == "completed"
    failed = json.loads(record)["failed"]  # recorded in the warehouse's run record
    assert [(f["county_code"], f["version"], f["file_name"]) for f in failed] == [
        (B, 1, f"{B}_{COUNTIES[B]}.xlsx")
    ]
    # IT is told (the digest names the county and its file); the county gets no alert for it.
    digest = [b for b in bodies if b["path"] == "/it"]
    assert digest and B in json.dumps(digest[0]["json"], ensure_ascii=False)
    assert f"{B}_{COUNTIES[B]}.xlsx" in json.dumps(digest[0]["json"], ensure_ascii=False)
    assert sorted(b["path"] for b in bodies if b["path"].startswith("/county/")) == [
        f"/county/{A}",
        f"/county/{C}",
    ]

    os.chmod(_file(p, B), 0o644)  # IT fixes the permission: the next run takes the file
    again = run_flow()
    assert [(r["county_code"], r["version"], r["status"]) for r in again["summary"]] == [(B, 1, "accepted")]
    assert p.statuses() == {A: "accepted", B: "accepted", C: "accepted"}


# ----------------------------------------------------------------------------- full disk, one county
def _pad(path: Path, size: int) -> None:
    """Make the workbook `size` bytes bigger: an unreferenced stored part (an embedded scan)."""
    mtime = path.stat().st_mtime
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED) as z:
        z.writestr("xl/media/scan1.bin", os.urandom(size))
    os.utime(path, (mtime, mtime))


def test_a_full_disk_while_archiving_one_countys_file_fails_that_county_only(
    make_province: Callable[..., Province],  # noqa: F811
) -> None:
    p = make_province()
    _pad(_file(p, B), 1_500_000)  # does not fit a 1 MB disk; A's and C's (~20 KB) do
    archive_dir = p.root / "processed" / "archive"
    log = Collected()
    logging.getLogger("fivestar.pipeline").addHandler(log)
    with full_disk(archive_dir, size="1m") as filler:
        filler.unlink()  # an empty 1 MB disk
        try:
            result = run_flow()
        finally:
            logging.getLogger("fivestar.pipeline").removeHandler(log)
        rows = {r["county_code"]: r for r in result["summary"]}
        assert {c: r["status"] for c, r in rows.items()} == {A: "accepted", B: "failed", C: "accepted"}
        assert rows[B]["error"] == "cannot archive the file: [Errno 28] No space left on device"
        assert f"county {B} {PERIOD} v1 failed: cannot archive the file: [Errno 28]" in log.text
        assert p.statuses() == {A: "accepted", C: "accepted"}
        assert p.query("SELECT outcome FROM run") == [("completed",)]
        parts = [f for f in archive_dir.rglob("*") if f.is_file()]
        assert len(parts) == 2 and not [f for f in parts if f.name.endswith(".part")]  # no half copy
    again = run_flow()  # the disk has space again (the tmpfs is gone)
    assert [(r["county_code"], r["version"], r["status"]) for r in again["summary"]] == [(B, 1, "accepted")]
    assert p.statuses() == {A: "accepted", B: "accepted", C: "accepted"}


# ----------------------------------------------------------------------------- settle time
def test_a_file_still_being_written_waits_for_a_later_run(
    make_province: Callable[..., Province],  # noqa: F811
    receiver: tuple[int, list[dict[str, Any]]],
) -> None:
    port, bodies = receiver
    p = make_province(FIVESTAR_SETTLE_SECONDS="60", FIVESTAR_IT_ALERT_WEBHOOK=f"http://127.0.0.1:{port}/it")
    (p.root / "config" / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n"
        + "".join(f"{c},联系人,,http://127.0.0.1:{port}/county/{c}\n" for c in COUNTIES),
        encoding="utf-8",
    )
    now = time.time()
    for c in (A, C):  # delivered an hour ago
        os.utime(_file(p, c), (now - 3600, now - 3600))
    full = _file(p, B).read_bytes()
    _file(p, B).write_bytes(full[: len(full) // 2])  # the copy is half-way, modified just now
    log = Collected()
    logging.getLogger("fivestar.ingest").addHandler(log)
    try:
        first = run_flow()
    finally:
        logging.getLogger("fivestar.ingest").removeHandler(log)
    assert sorted((r["county_code"], r["status"]) for r in first["summary"]) == [
        (A, "accepted"),
        (C, "accepted"),
    ]
    assert first["waiting"] == [f"{PERIOD}/{B}_{COUNTIES[B]}.xlsx"]
    assert f"waiting for {PERIOD}/{B}_{COUNTIES[B]}.xlsx to settle" in log.text
    assert p.statuses() == {A: "accepted", C: "accepted"}  # not read, not rejected
    assert f"/county/{B}" not in [b["path"] for b in bodies]  # nobody tells the county it failed

    _file(p, B).write_bytes(full)  # the copy finished, more than the settle time ago
    os.utime(_file(p, B), (now - 120, now - 120))
    again = run_flow()
    assert [(r["county_code"], r["version"], r["status"]) for r in again["summary"]] == [(B, 1, "accepted")]
    assert again["waiting"] == []


def test_discovery_takes_a_file_once_it_has_settled(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / PERIOD).mkdir(parents=True)
    f = raw / PERIOD / f"{A}_x.xlsx"
    f.write_bytes(b"PK\x03\x04 some bytes")
    t = 1_800_000_000.0
    os.utime(f, (t, t))
    known = pd.DataFrame(columns=["county_code", "period", "version", "file_sha256"])

    def find(now: float, settle: float = 60) -> Any:
        return discover(raw, {A}, known, now=now, settle=settle)

    young = find(t + 59)
    assert young.versions == [] and young.waiting == [f"{PERIOD}/{A}_x.xlsx"]
    settled = find(t + 60)
    assert [v.county_code for v in settled.versions] == [A] and settled.waiting == []
    assert [v.county_code for v in find(t, settle=0).versions] == [A]  # 0: at once
    # A modification time in the future (a skewed or preserved timestamp) proves nothing:
    # the change time (set by this machine's clock just now) decides.
    os.utime(f, (t + 10**6, t + 10**6))
    real_now = time.time()
    assert find(real_now).waiting == [f"{PERIOD}/{A}_x.xlsx"]
    assert [v.county_code for v in find(real_now + 61).versions] == [A]


def test_a_file_that_changes_before_archiving_is_not_archived_under_the_old_hash(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / PERIOD).mkdir(parents=True)
    f = raw / PERIOD / f"{A}_x.xlsx"
    f.write_bytes(b"first part")
    known = pd.DataFrame(columns=["county_code", "period", "version", "file_sha256"])
    (fv,) = discover(raw, {A}, known).versions
    with f.open("ab") as fh:
        fh.write(b" and the rest")
    with pytest.raises(FileChanged):
        archive(fv, tmp_path / "archive")
    assert [p for p in (tmp_path / "archive").rglob("*") if p.is_file()] == []


def test_special_files_named_like_workbooks_never_block_discovery(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / PERIOD).mkdir(parents=True)
    os.mkfifo(raw / PERIOD / f"{A}_pipe.xlsx")  # opening it would block for ever
    (raw / PERIOD / f"{B}_folder.xlsx").mkdir()
    known = pd.DataFrame(columns=["county_code", "period", "version", "file_sha256"])
    found = discover(raw, {A, B}, known)
    assert found.versions == [] and found.failed == []
    assert sorted(found.unrecognised) == [f"{PERIOD}/{A}_pipe.xlsx", f"{PERIOD}/{B}_folder.xlsx"]


# ----------------------------------------------------------------------------- private archive
@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _modes(folder: Path) -> tuple[set[int], set[int]]:
    """(modes of folder and every folder below it, modes of every file below it)."""
    dirs = {stat.S_IMODE(folder.stat().st_mode)}
    files = set()
    for f in folder.rglob("*"):
        (dirs if f.is_dir() else files).add(stat.S_IMODE(f.stat().st_mode))
    return dirs, files


@pytest.mark.parametrize(("share", "dir_mode", "file_mode"), [("", 0o700, 0o600), ("1", 0o750, 0o640)])
def test_archive_and_feedback_are_private_whatever_the_umask(
    make_province: Callable[..., Province],  # noqa: F811
    share: str,
    dir_mode: int,
    file_mode: int,
) -> None:
    p = make_province(FIVESTAR_SHARE_GROUP=share) if share else make_province()
    # An archive left world-readable by an older version: closed by the next run.
    old = p.root / "processed" / "archive" / "00"
    old.mkdir(parents=True, mode=0o755)
    os.chmod(old.parent, 0o755)
    (old / "old.xlsx").write_bytes(b"x")
    os.chmod(old / "old.xlsx", 0o644)
    with _umask(0o022):
        result = run_flow()
    assert {r["status"] for r in result["summary"]} == {"accepted"}
    processed = p.root / "processed"
    archive_dirs, archive_files = _modes(processed / "archive")
    assert stat.S_IMODE((processed / "archive").stat().st_mode) == dir_mode
    assert archive_dirs - {0o755} == {dir_mode}  # only the old subfolder, behind the closed top
    assert archive_files - {0o644} == {file_mode} and len(list((processed / "archive").rglob("*.xlsx"))) == 4
    feedback_dirs, feedback_files = _modes(processed / "feedback")
    assert feedback_dirs == {dir_mode}
    assert feedback_files == {file_mode}
    assert len([f for f in (processed / "feedback").rglob("*") if f.is_file()]) == 6  # xlsx + html each


# ----------------------------------------------------------------------------- no county code in the name
def test_a_file_named_without_county_code_is_processed_for_its_county(
    make_province: Callable[..., Province],  # noqa: F811
    prefect_api: str,  # noqa: F811
    receiver: tuple[int, list[dict[str, Any]]],
) -> None:
    """Issue 15: `安阳县11月五星支部报表(修改版).xlsx` is taken for 410523 (its cover's code and
    its registered name agree), validated with a warning saying how to name it, and listed
    in the IT digest."""
    port, bodies = receiver
    p = make_province(FIVESTAR_IT_ALERT_WEBHOOK=f"http://127.0.0.1:{port}/it")
    unnamed = _file(p, B).with_name(f"{COUNTIES[B]}11月五星支部报表(修改版).xlsx")
    _file(p, B).rename(unnamed)
    result = run_flow()
    rows = {r["county_code"]: r for r in result["summary"]}
    assert rows[B]["status"] == "accepted_with_warnings", rows
    assert p.statuses() == {A: "accepted", B: "accepted_with_warnings", C: "accepted"}
    ((message,),) = p.query("SELECT message FROM dq_issue WHERE rule = 'file.name_without_code'")
    assert f"以后请把文件命名为“{B}_{unnamed.name}”" in message
    digest = json.dumps([b["json"] for b in bodies if b["path"] == "/it"], ensure_ascii=False)
    assert "文件名缺少县代码" in digest and f"应命名为{B}_{unnamed.name}" in digest


def test_an_ambiguous_unnamed_file_tells_each_county_how_to_name_it(
    make_province: Callable[..., Province],  # noqa: F811
    prefect_api: str,  # noqa: F811
    receiver: tuple[int, list[dict[str, Any]]],
) -> None:
    """Issue 15: a file named without a code whose name shows one county and whose cover
    another is not processed; both counties are told, once, the name to give it."""
    port, bodies = receiver
    p = make_province()
    (p.root / "config" / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n"
        + "".join(f"{c},联系人,,http://127.0.0.1:{port}/county/{c}\n" for c in COUNTIES),
        encoding="utf-8",
    )
    unnamed = _file(p, B).with_name(f"{COUNTIES[A]}11月报表.xlsx")  # A's name, B's cover
    _file(p, B).rename(unnamed)
    run_flow()
    assert B not in p.statuses()  # not processed: nobody knows whose it is
    told = {b["path"]: b["json"] for b in bodies if "unnamed_file" in json.dumps(b["json"])}
    assert set(told) == {f"/county/{A}", f"/county/{B}"}, [b["path"] for b in bodies]
    for county in (A, B):
        text = json.dumps(told[f"/county/{county}"], ensure_ascii=False)
        assert f"{county}_{unnamed.name}" in text and "请把文件改名为" in text
    n = len(bodies)
    run_flow()  # the file still lies there: nobody is told again
    assert not [b for b in bodies[n:] if "unnamed_file" in json.dumps(b["json"])]
