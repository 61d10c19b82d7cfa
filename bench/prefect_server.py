"""A Prefect API server for the benchmark's pipeline runs (as in production).

In: a folder for its PREFECT_HOME. Out: a context manager yielding the API URL of a
`prefect server start` child process on a free loopback port (UI and background
services off), stopped (SIGTERM, then SIGKILL) when the bench ends. Without it,
every `fivestar run` starts a temporary server of its own (import + start ≈ 10–30 s
on a busy 2-core machine), which would swamp the warm and rerun figures; the nightly
deployment (`fivestar serve`) always talks to a running server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def client_env(api_url: str, home: Path) -> dict[str, str]:
    """Environment entries that point a Prefect client at the server."""
    return {**QUIET, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(home)}


@contextmanager
def prefect_server(base: Path, timeout_s: float = 240) -> Iterator[str]:
    base.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        QUIET,
        PREFECT_HOME=str(base / "home"),
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED="false",
        PREFECT_SERVER_SERVICES_FOREMAN_ENABLED="false",
    )
    log = base / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=base,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(api_url):
            if proc.poll() is not None:
                raise SystemExit(f"prefect server exited with {proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise SystemExit(f"prefect server not healthy after {timeout_s:.0f} s; see {log}")
            time.sleep(0.3)
        yield api_url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
