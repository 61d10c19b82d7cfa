"""Bench case `correction`: from a corrected file landing to its feedback e-mail.

In: the loaded province of the earlier cases (raw folder, config, warehouse and the
pipeline's environment) and one county. Out: seconds from a corrected copy of the
county's workbook landing in the raw folder (an atomic rename, as a copy tool ends) to
its feedback e-mail arriving at a loopback SMTP sink, for `REPEATS` corrections in a
row, taken by one `fivestar watch` process (started first; its first look, which finds
nothing new, is not timed). The figures include the settle time the watch honours
(SETTLE_S) and its look interval (INTERVAL_S). Reminders are off for the case: it times
a correction, not the calendar of the day the bench runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.data import corrected_copy

REPEATS = 3
SETTLE_S = 5.0  # FIVESTAR_SETTLE_SECONDS of the case (production default 60; see the README)
INTERVAL_S = 1.0  # FIVESTAR_WATCH_INTERVAL_SECONDS of the case
READY = "watch: waiting for new files"
TIMEOUT_S = 900.0


class Sink:
    """A loopback SMTP server noting when each message arrived and its subject."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrived: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        from bench.dead import closed_port

        self.port = closed_port()  # free right now: the sink takes it
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        import email
        from email import policy

        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.arrived.append((time.time(), str(msg["Subject"])))
        return "250 OK"

    def stop(self) -> None:
        self.controller.stop()


@contextmanager
def _watch(env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fivestar.cli", "watch"],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _until(what: str, check: Any, log: Path, proc: subprocess.Popen[bytes]) -> None:
    end = time.monotonic() + TIMEOUT_S
    while time.monotonic() < end:
        if check():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)  # polling the sink and the log of another process
    tail = log.read_text(errors="replace")[-3000:]
    raise SystemExit(f"bench case correction: {what} not seen (watch exit {proc.poll()}):\n{tail}")


def correction_to_mail(
    env: dict[str, str], cwd: Path, raw: Path, period: str, county: str, work: Path
) -> list[float]:
    """Seconds from landing to feedback e-mail for REPEATS corrections of `county`."""
    work.mkdir(parents=True, exist_ok=True)
    sink = Sink()
    log = work / "watch.log"
    wenv = dict(env)
    wenv.update(
        FIVESTAR_SMTP_HOST="127.0.0.1",
        FIVESTAR_SMTP_PORT=str(sink.port),
        FIVESTAR_SETTLE_SECONDS=str(SETTLE_S),
        FIVESTAR_WATCH_INTERVAL_SECONDS=str(INTERVAL_S),
        FIVESTAR_REMINDERS="false",
    )
    target = next((raw / period).glob(f"{county}*.xlsx"))
    out: list[float] = []
    try:
        with _watch(wenv, cwd, log) as proc:
            _until("the first look", lambda: READY in log.read_text(errors="replace"), log, proc)
            for _ in range(REPEATS):
                readies = log.read_text(errors="replace").count(READY)
                staged = work / target.name
                corrected_copy(target, staged)
                os.replace(staged, target)  # the file lands
                landed = time.time()
                seen = len(sink.arrived)

                def mailed(seen: int = seen) -> bool:
                    return any(county in s for _, s in sink.arrived[seen:])

                _until("the feedback e-mail", mailed, log, proc)
                out.append(next(t for t, s in sink.arrived[seen:] if county in s) - landed)
                # The run is over (its alert stage sent the mail; the summary follows) before the next drop.
                _until(
                    "the end of the run",
                    lambda r=readies: log.read_text(errors="replace").count(READY) > r,
                    log,
                    proc,
                )
    finally:
        sink.stop()
    return out
