"""Loopback servers and a small province for the alert tests (budget, digest, markdown).

In: a folder, county codes and their contacts. Out: config + raw workbooks for one
period, the FIVESTAR_* environment of a pipeline run, and three kinds of peers on
127.0.0.1: a robot/webhook receiver that answers, a server that accepts connections and
never answers (a hung SMTP server or robot), and a closed port.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import wbfactory as W
from fivestar.config import load_rulebook

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-11"


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Hang:
    """Accepts every connection and never sends a byte; `on_accept` runs per connection."""

    def __init__(self, on_accept: Callable[[], None] | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.on_accept = on_accept
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.held.append(conn)
            if self.on_accept:
                self.on_accept()

    def close(self) -> None:
        self.closed.set()
        self.thread.join(5)
        self.sock.close()
        for c in self.held:
            c.close()


class Receiver:
    """A webhook receiver / chat robot: stores every JSON body, answers errcode 0."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server hook)
                n = int(self.headers.get("Content-Length", 0))
                bodies.append({"path": self.path, "json": json.loads(self.rfile.read(n) or b"{}")})
                reply = b'{"errcode":0,"errmsg":"ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def province(
    root: Path,
    counties: dict[str, str],
    contacts: list[tuple[str, str, str, str]],
    edit: Callable[[Any], None] | None = None,
) -> Path:
    """Config (registry, submitters = `contacts` rows: county_code, name, email, webhook_url)
    and one valid workbook per county for PERIOD under root/raw; returns the config dir.
    `edit(wb)` changes every workbook before it is saved."""
    cfg = root / "config"
    shutil.copytree(ROOT / "config", cfg, ignore=shutil.ignore_patterns("registry.csv", "submitters.csv"))
    rb = load_rulebook(cfg)
    brs = {code: W.branches(code, 2, 0) for code in counties}
    W.registry_frame(counties, brs).to_csv(cfg / "registry.csv", index=False)
    lines = ["county_code,name,email,webhook_url"] + [",".join(c) for c in contacts]
    (cfg / "submitters.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for code, name in counties.items():
        W.write_workbook(
            root / f"raw/{PERIOD}/{code}_{name}_{PERIOD}.xlsx", rb, code, name, PERIOD, brs[code], edit=edit
        )
    return cfg


def pipeline_env(monkeypatch: pytest.MonkeyPatch, root: Path, cfg: Path, **extra: Any) -> str:
    """Point a pipeline run at root (SQLite warehouse); returns the warehouse file path."""
    db = root / "wh.db"
    env = {
        "FIVESTAR_RAW_DIR": root / "raw",
        "FIVESTAR_CONFIG_DIR": cfg,
        "FIVESTAR_PROCESSED_DIR": root / "processed",
        "FIVESTAR_WAREHOUSE_URL": f"sqlite:///{db}",
        "FIVESTAR_SMTP_FROM": "fivestar@example.org",
        **extra,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    for k in (
        "FIVESTAR_IT_ALERT_EMAIL",
        "FIVESTAR_IT_ALERT_WEBHOOK",
        "FIVESTAR_SMTP_HOST",
        "FIVESTAR_SMTP_PORT",
        "FIVESTAR_SMTP_USER",
        "FIVESTAR_SMTP_PASSWORD",
        "http_proxy",
        "HTTP_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        if k not in extra:
            monkeypatch.delenv(k, raising=False)
    return str(db)


def run_flow(**params: Any) -> dict[str, Any]:
    from flows.nightly import fivestar_run

    return fivestar_run.fn(**params)
