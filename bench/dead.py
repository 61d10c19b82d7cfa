"""Bench case `dead`: one county whose alert goes to 20 dead contacts.

In: the bench's config folder and a county. Out: a config copy whose submitters.csv
gives that county 20 dead targets — 10 robots on a closed loopback port (refused at
once), 5 robots and 5 e-mail addresses on a server that accepts and never answers
(`hung_server`, also the SMTP server of the case) — and, after the run, the alert
stage's figures read from the run's summary in the warehouse.
"""

from __future__ import annotations

import csv
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

TARGETS = 20
BUDGET_S = 15  # FIVESTAR_ALERT_BUDGET_SECONDS for the case (default 60): the bench stays short


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def hung_server() -> Iterator[int]:
    """A loopback port that accepts connections and never sends a byte; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:  # includes the accept timeout
                continue

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        t.join(5)
        sock.close()
        for c in held:
            c.close()


def dead_config(src: Path, dst: Path, county: str, hung: int, closed: int) -> Path:
    """A copy of `src` where `county` has TARGETS dead contacts and nobody else has any."""
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        if p.is_file():
            shutil.copyfile(p, dst / p.name)
    rows = []
    for i in range(TARGETS):
        email = webhook = ""
        if i < TARGETS // 2:
            webhook = f"http://127.0.0.1:{closed}/robot/{i}"
        elif i < TARGETS * 3 // 4:
            webhook = f"http://127.0.0.1:{hung}/robot/{i}"
        else:
            email = f"dead{i}@example.org"
        rows.append({"county_code": county, "name": f"联系人{i}", "email": email, "webhook_url": webhook})
    with (dst / "submitters.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return dst


def alert_note(url: str) -> str:
    """The alert stage's figures of the latest run, from its summary in the `run` table."""
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            raw = conn.execute(text("SELECT summary FROM run ORDER BY started_at DESC LIMIT 1")).scalar_one()
    finally:
        eng.dispose()
    a = json.loads(raw or "{}").get("alerts") or {}
    keys = ("failed", "deferred", "given_up")
    return (
        f"alert_stage_s={a.get('seconds', float('nan')):.1f} budget_s={a.get('budget_s')} targets={TARGETS} "
        + (" ".join(f"{k}={a.get(k)}" for k in keys))
    )
