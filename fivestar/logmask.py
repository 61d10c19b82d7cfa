"""Last line of defence for logs: resident IDs are masked in every log record.

In: log records of any logger in this process (ours, Prefect's, the libraries').
Out: the same records with ID-like runs masked (fivestar.cells.mask_ids_in) in the
message, its arguments and a traceback's text. Messages are masked where they are
written already; this catches what slips through: an exception quoting a file name,
a library's own message about a cell.

Installed as the log-record factory (not a filter on one logger: a logger's filters
do not see records of its child loggers, and handlers are set up by Prefect and the
CLI in several places). `install()` is idempotent and runs when `fivestar` is imported,
so worker and helper processes have it too.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fivestar.cells import mask_ids_in

_installed = False


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the record in place (message with its arguments, exception text); return it."""
    try:
        msg = record.getMessage()
    except Exception:  # a bad format string: leave the record to logging's own error path
        return record
    masked = mask_ids_in(msg)
    if masked != msg:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        masked_tb = mask_ids_in(text)
        if masked_tb != text:
            # Formatters use exc_text when set; the raw exception never reaches a handler.
            record.exc_text, record.exc_info = masked_tb, None
    if record.stack_info:
        record.stack_info = mask_ids_in(record.stack_info)
    return record


def install() -> None:
    """Mask every log record of this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
