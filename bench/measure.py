"""Run one benchmark case as a child process and measure it.

In: a command line, environment and working folder. Out: a `Measured` record with
wall time, the peak resident memory of the child's whole process tree (polled from
/proc every 50 ms, so helper processes such as Prefect's temporary server count too)
and the kernel's exact peak of the largest single process (`wait4` rusage), plus the
exit code and the tail of the output for diagnosis.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measured:
    name: str
    wall_s: float
    tree_rss_mb: float  # sum over the process tree, polled
    max_rss_mb: float  # largest single process, exact (kernel)
    returncode: int
    output: str

    @property
    def peak_rss_mb(self) -> float:
        return max(self.tree_rss_mb, self.max_rss_mb)


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces and parentheses).
        rest = stat[stat.rfind(b")") + 2 :].split()
        kids.setdefault(int(rest[1]), []).append(int(entry.name))
    return kids


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants right now."""
    kids = _children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_bytes(pid)
        todo.extend(kids.get(pid, ()))
    return total


def run_measured(
    name: str,
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 7200,
) -> Measured:
    """Run cmd to completion; never raises on a non-zero exit (the caller decides)."""
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"fivestar-bench-{os.getpid()}-{name}.log"
    with open(log_path, "w+b") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        done = threading.Event()

        def poll() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid))
                done.wait(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        deadline = t0 + timeout
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        done.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    log_path.unlink(missing_ok=True)
    max_rss = (usage.ru_maxrss / 1024) if usage else 0.0  # KiB on Linux
    return Measured(name, wall, peak / 2**20, max_rss, proc.returncode, output)
