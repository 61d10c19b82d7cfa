"""Ports and loopback servers for the tests, in one place.

In: nothing but the loopback interface. Out: `free_port` / `closed_port`; an SMTP sink
(aiosmtpd) and a webhook receiver (http.server), both recording what they got, as
classes and as the fixtures `smtp_sink` and `webhook` (conftest registers them); and
the fixture `prefect_api`, a module-scoped Prefect server (the bench's launcher,
bench/prefect_server.py) that the in-process Prefect client is pointed at.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    """A loopback port free right now (for a server the test is about to start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    return free_port()


class SmtpSink:
    """An aiosmtpd server on loopback keeping every message: (recipients, parsed message, raw bytes)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[tuple[list[str], EmailMessage, bytes]] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())
        self.port = self.controller.port
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), msg, raw))  # type: ignore[arg-type]
        return "250 OK"

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        return [(rcpt, msg) for rcpt, msg, _ in self.received]

    @property
    def raw(self) -> list[bytes]:
        return [raw for _, _, raw in self.received]

    def stop(self) -> None:
        self.controller.stop()


class WebhookReceiver:
    """A threaded HTTP server on loopback keeping every POST: {"path", "body", "json"}.
    `reply(path) -> (status, body)` decides the answer (default 200 and a robot's OK)."""

    def __init__(self, reply: Callable[[str], tuple[int, bytes]] | None = None) -> None:
        bodies: list[dict[str, Any]] = []
        self.bodies = bodies
        answer = reply or (lambda path: (200, b'{"errcode":0,"errmsg":"ok"}'))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server hook)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    parsed = json.loads(raw or b"{}")
                except ValueError:
                    parsed = None
                bodies.append({"path": self.path, "body": raw, "json": parsed})
                code, out = answer(self.path)
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server for the test module; in-process flows and `fivestar run` processes use it."""
    yield from prefect_api_for_module(tmp_path_factory.mktemp("prefect-server"))


def prefect_api_for_module(base: Path) -> Iterator[str]:
    """A Prefect server under `base` for a test module; the in-process client uses it."""
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    from bench.prefect_server import prefect_server

    try:
        with (
            prefect_server(base) as api_url,
            temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_LOGGING_TO_API_ENABLED: False}),
        ):
            yield api_url
    except SystemExit as exc:  # the launcher's way of saying the server did not come up
        pytest.fail(str(exc))
