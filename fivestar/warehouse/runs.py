"""The `run` log: one row per pipeline run, opened and closed by the flow.

In: an Engine, the run's parameters, rulebook hash and outcome/summary. Out: `run` rows
(run_id, started_at, finished_at, params and summary as JSON text, outcome); a row still
'running' when the next run starts (under the run lock) is closed as 'abandoned'.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Engine

from fivestar.cells import mask_ids_in
from fivestar.warehouse.retry import retrying
from fivestar.warehouse.timestamps import now, timestamp_text


def _json_text(value: Any) -> str | None:
    if value is None:
        return value
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    )
    # A run's error text may quote a file name that holds a resident ID.
    return mask_ids_in(text)


@retrying
def start_run(
    engine: Engine,
    params: Mapping[str, Any] | None = None,
    rulebook_hash: str | None = None,
    run_id: str | None = None,
) -> str:
    """Insert a `run` row (outcome 'running') and return its run_id.

    Called under the run lock, so any row still 'running' belongs to a run that died
    (e.g. kill -9): it is closed as 'abandoned'.
    """
    run_id = run_id or f"{dt.datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        conn.execute(
            timestamp_text(
                "UPDATE run SET outcome = 'abandoned', finished_at = :t WHERE outcome = 'running'", "t"
            ),
            {"t": now()},
        )
        conn.execute(
            timestamp_text(
                "INSERT INTO run (run_id, started_at, params, outcome, rulebook_hash) "
                "VALUES (:r, :t, :p, 'running', :h)",
                "t",
            ),
            {"r": run_id, "t": now(), "p": _json_text(dict(params or {})), "h": rulebook_hash},
        )
    return run_id


@retrying
def finish_run(engine: Engine, run_id: str, outcome: str, summary: Any = None) -> None:
    """Close a run: finished_at, outcome ('completed' | 'failed'), summary (JSON text)."""
    with engine.begin() as conn:
        conn.execute(
            timestamp_text(
                "UPDATE run SET finished_at = :t, outcome = :o, summary = :s WHERE run_id = :r", "t"
            ),
            {"t": now(), "o": outcome, "s": _json_text(summary), "r": run_id},
        )
