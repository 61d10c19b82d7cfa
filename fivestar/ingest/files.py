"""Reading one archived file as a job: what a worker holds, what it does per file, and
what stands for a file whose worker died or ran out of time.

In: the Rulebook, Limits, the resident-ID hash key and an optional check to run on each
workbook right after reading it (`check(workbook, rulebook, *shared, *args)`, e.g. the
per-file validation rules), then per file (archived path, file key, check arguments).
Out: a ParsedWorkbook per file (its `checked` holds the check's result, or None when
the check failed: the caller runs it again and sees the error itself). Plain functions:
where they run is the executor's business (fivestar.runtime).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fivestar import cells
from fivestar.config import Limits, Rulebook
from fivestar.ingest.read import ParsedWorkbook, file_error, read_workbook

log = logging.getLogger(__name__)

# One file to read: archived path, file key (its sha256), arguments of the check.
FileJob = tuple[Path, str, tuple[Any, ...]]


@dataclass(frozen=True)
class ReaderState:
    rb: Rulebook
    limits: Limits
    id_key: str
    check: Callable[..., Any] | None = None
    shared: tuple[Any, ...] = ()


def reader_state(
    rb: Rulebook,
    limits: Limits,
    id_key: str,
    check: Callable[..., Any] | None = None,
    shared: tuple[Any, ...] = (),
) -> ReaderState:
    """What every worker holds for the files of a run (sent once per worker)."""
    return ReaderState(rb, limits, id_key, check, shared)


def read_file(state: ReaderState, job: FileJob) -> ParsedWorkbook:
    path, file_key, args = job
    pw = read_workbook(path, state.rb, state.limits, file_key=file_key, id_key=state.id_key)
    if state.check is not None:
        try:
            pw.checked = state.check(pw, state.rb, *state.shared, *args)
        except Exception as exc:  # the caller runs the check again and sees the error itself
            log.warning("check after reading %s failed in a worker: %s", file_key, exc)
            pw.checked = None
    return pw


def unread_file(job: FileJob, kind: str, detail: str) -> ParsedWorkbook:
    """The whole-file error of a file whose worker died ("died"), was killed at its time
    limit ("timeout") or failed outside the reader's own guard ("error")."""
    path, key, _ = job
    name = cells.mask_ids_in(path.name)
    if kind == "timeout":
        detail = f"reading {detail}"
        log.error("reading %s: %s; rejected as a timeout", name, detail)
        pw = file_error(key, "timeout", detail)
    else:
        # A reader that dies (the native reader aborts on some hostile files): that file
        # is unreadable, nothing more.
        log.error("reading %s failed in a reader process: %s; the file is rejected", name, detail)
        pw = file_error(key, "unreadable", detail)
    pw.path = path
    return pw
