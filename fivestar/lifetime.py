"""Processes started for a run end with it, even when the run is killed outright.

In: the pid of the process to outlive no one. Out: two mechanisms, for two kinds of child:
- `exit_with_parent(pid)`, called first thing in a Python child we spawn (reader lanes,
  the helper): a daemon thread that ends the child as soon as its parent is gone
  (`kill -9` of the run re-parents the child, which the thread sees within a second).
  A parent-death signal (prctl) is not used: Linux sends it when the *thread* that
  spawned the child ends, and the run spawns children from Prefect's worker threads.
- `start_watchdog()`, called by `fivestar run` before anything else is started: a small
  separate process that keeps a list of the run's descendants (with their start times,
  so a reused pid is never mistaken for one) and, once the run is gone, ends those still
  alive and their own children: SIGTERM, then SIGKILL after a grace period. This covers
  what other libraries start, above all the temporary Prefect server (a uvicorn
  subprocess Prefect launches itself) and multiprocessing's resource tracker.
  Then the watchdog exits too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time

POLL_S = 0.5  # how often a child looks at its parent / the watchdog at the run's tree
GRACE_S = 3.0  # from SIGTERM to SIGKILL for what the run left behind
_WATCHDOGS: list[subprocess.Popen[bytes]] = []  # kept: the watchdog outlives this process on purpose


def exit_with_parent(parent_pid: int, poll_s: float = POLL_S) -> None:
    """End this process (at once, without cleanup) when `parent_pid` stops being its parent."""
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)  # polling the parent; not waiting for a result
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def start_watchdog(pid: int | None = None) -> subprocess.Popen[bytes] | None:
    """Start the watchdog of process `pid` (this one by default); None where psutil is missing."""
    try:
        import psutil  # noqa: F401
    except ImportError:  # pragma: no cover - psutil is a dependency
        return None
    # Its own session: a Ctrl-C at the terminal is for the run, not for its watchdog.
    dog = subprocess.Popen(
        [sys.executable, "-m", "fivestar.lifetime", str(pid or os.getpid())],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    _WATCHDOGS.append(dog)
    return dog


def watch(pid: int, poll_s: float = POLL_S, grace_s: float = GRACE_S) -> None:
    """Record the descendants of `pid` while it runs; end those still alive once it is gone."""
    import psutil

    try:
        run = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    me = os.getpid()
    seen: dict[int, psutil.Process] = {}
    while run.is_running() and run.status() != psutil.STATUS_ZOMBIE:
        try:
            for child in run.children(recursive=True):
                if child.pid != me:
                    seen.setdefault(child.pid, child)
        except psutil.Error:
            break
        time.sleep(poll_s)
    left: dict[int, psutil.Process] = {}
    for proc in seen.values():
        try:
            if proc.is_running():  # the same process: is_running compares start times
                left[proc.pid] = proc
                for child in proc.children(recursive=True):
                    left.setdefault(child.pid, child)
        except psutil.Error:
            continue
    left.pop(me, None)
    for proc in left.values():
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(list(left.values()), timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


if __name__ == "__main__":
    watch(int(sys.argv[1]))
