"""How far a run has got: files read of the total, versions loaded of the total.

In: the stage runner the pipeline was given. Out: the same runner, which after each
stage logs a `Progress` snapshot on the logger `fivestar.progress` (INFO, the snapshot
in the record's `progress` attribute). Whoever shows progress (the CLI's spinner)
listens to that logger; the stages themselves know nothing of any display.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from fivestar.pipeline.stages import Stage

T = TypeVar("T")
log = logging.getLogger("fivestar.progress")

# What each stage is called on the console while it runs.
DOING = {
    "start-run": "starting",
    "discover": "looking for new files",
    "load-priors": "reading last month's data",
    "read": "reading files",
    "validate": "validating",
    "load": "writing feedback and loading",
    "derive": "scoring stars and tallying points",
    "alert": "sending alerts",
    "summary": "summarising",
    "finish-run": "finishing",
}


@dataclass(frozen=True)
class Progress:
    stage: str = "start-run"
    files: int = 0  # file versions found by discovery
    read: int = 0
    loaded: int = 0  # versions processed to the end: loaded (accepted or rejected) or failed

    def line(self) -> str:
        doing = DOING.get(self.stage, self.stage)
        if not self.files:
            return doing
        return f"{doing} — files read {self.read}/{self.files}, loaded {self.loaded}/{self.files}"


def tracking(stage: Stage) -> Stage:
    """`stage`, logging progress before and after each call."""
    state = [Progress()]
    shown = [""]

    def emit(p: Progress) -> None:
        state[0] = p
        if p.line() != shown[0]:  # each change once
            shown[0] = p.line()
            log.info("%s", p.line(), extra={"progress": p})

    def tracked(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        emit(replace(state[0], stage=name))
        out = stage(name, fn, *args, **kwargs)
        p = state[0]
        if name == "discover":
            p = replace(p, files=len(getattr(out, "versions", [])))
        elif name == "read" and isinstance(out, tuple):
            files, lost = out  # read, and those that could not be archived (finished: failed)
            p = replace(p, read=p.read + len(files) + len(lost), loaded=p.loaded + len(lost))
        elif name == "load" and isinstance(out, list):
            p = replace(p, loaded=p.loaded + len(out))
        emit(p)
        return out

    return tracked
