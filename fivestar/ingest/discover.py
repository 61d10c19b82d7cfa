"""Find submissions under the raw folder and number their versions; archive by hash.

In: the raw folder (`<YYYY-MM>/<county code>…`), registered county codes and the
versions the warehouse already knows. Out: the file versions to process (new
ones numbered after the known ones, oldest modification time first; `--force`
re-selects known versions under their numbers), plus the unrecognised files.
Office lock files (`~$…`) and hidden files are skipped silently. A file modified less
than the settle time ago (FIVESTAR_SETTLE_SECONDS) is left for a later run: it may still
be being written. A file that cannot be read or archived (an I/O error: no permission,
a full disk) is its county's failure, never the run's. File names are
shown (summary, logs, warehouse) only in printable form: undecodable bytes and
control characters replaced (a newline in a name must not forge a log line), and
resident-ID-like runs masked.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import re
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fivestar.cells import mask_ids_in
from fivestar.filemodes import private_dir, private_file, private_modes
from fivestar.ingest.naming import county_of_unnamed, suggested_name

log = logging.getLogger("fivestar.ingest")

_PERIOD_DIR = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_COUNTY_PREFIX = re.compile(r"^(\d{6})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class FileVersion:
    county_code: str
    period: str
    path: Path
    file_name: str  # printable (undecodable bytes replaced)
    sha256: str
    mtime: float
    version: int
    known: bool  # already recorded in the warehouse (reprocessed only with --force)

    @property
    def received_at(self) -> str:
        return dt.datetime.fromtimestamp(self.mtime, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class FileProblem:
    """A submission that could not be read or archived (an I/O error): that county's failure."""

    county_code: str
    period: str
    version: int  # the number it would have had (after this run's readable versions)
    file_name: str  # printable
    error: str  # English, for IT


@dataclass(frozen=True)
class UnnamedFile:
    """A file named without a county code whose county the pipeline could not settle:
    every county its cover code or its name points at (each is told how to name it)."""

    period: str
    file_name: str  # printable
    candidates: tuple[str, ...]


@dataclass
class Discovery:
    versions: list[FileVersion] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    periods_seen: set[str] = field(default_factory=set)
    failed: list[FileProblem] = field(default_factory=list)  # unreadable files of known counties
    waiting: list[str] = field(default_factory=list)  # not settled yet: a later run takes them
    # New versions of closed county-months (fivestar.pipeline.closing): recorded late_closed.
    late_closed: list[FileVersion] = field(default_factory=list)
    unnamed: list[UnnamedFile] = field(default_factory=list)  # no code, several counties possible


class FileChanged(OSError):
    """The file changed between discovery and archiving (still being written)."""


def printable(name: str) -> str:
    """A file name safe to print, log and store: valid UTF-8, no control characters, no IDs."""
    text = os.fsencode(name).decode("utf-8", "replace")
    return mask_ids_in(_CONTROL.sub("\ufffd", text))


def _open_regular(path: Path) -> int:
    """A descriptor on a regular file: never follows a symlink, never blocks on a FIFO that
    replaced the file after it was listed."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with os.fdopen(_open_regular(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def settled(st: os.stat_result, now: float, settle: float) -> bool:
    """Unmodified for `settle` seconds at `now`. A modification time in the future (a
    preserved or skewed timestamp) says nothing about the last write: the change time,
    which the local clock sets on every write, decides then."""
    if settle <= 0:
        return True
    last = st.st_mtime if st.st_mtime <= now else st.st_ctime
    return now - last >= settle


def _error(exc: OSError) -> str:
    """The error for IT, without the path (names are shown only in printable form)."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"[Errno {exc.errno}] {text}" if exc.errno else text


def discover(
    raw_dir: Path,
    county_codes: frozenset[str] | set[str],
    known: pd.DataFrame,
    *,
    period: str | None = None,
    county: str | None = None,
    force: bool = False,
    now: float | None = None,
    settle: float = 0.0,
    county_names: Mapping[str, str] | None = None,
) -> Discovery:
    """known: county_code, period, version, file_sha256 of recorded versions.

    now (epoch seconds; default the clock) and settle: a file modified less than `settle`
    seconds before `now` is left for a later run (Discovery.waiting). A file that cannot
    be read (an I/O error) is that county's failure (Discovery.failed), never the run's.
    county_names (code → registered name): a file named without a county code is taken
    for the one county its cover code or its name shows (fivestar.ingest.naming); when
    none or several are found it stays unrecognised, with the name to use when one is.
    """
    now = time.time() if now is None else now
    out = Discovery()
    if not raw_dir.is_dir():
        return out
    by_key: dict[tuple[str, str], dict[str, int]] = {}
    for r in known.itertuples(index=False):
        by_key.setdefault((r.county_code, r.period), {})[r.file_sha256] = int(r.version)
    found: dict[tuple[str, str], list[tuple[float, str, Path, str]]] = {}
    problems: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for entry in sorted(raw_dir.iterdir(), key=lambda p: p.name):
        if entry.name.startswith((".", "~$")):
            continue
        if not entry.is_dir() or entry.is_symlink() or not _PERIOD_DIR.match(entry.name):
            out.unrecognised.append(printable(entry.name))
            continue
        out.periods_seen.add(entry.name)
        if period and entry.name != period:
            continue
        try:
            files = sorted(entry.iterdir(), key=lambda p: p.name)
        except OSError as exc:  # a folder that cannot be listed: its files wait for a run that can
            log.error("cannot list the folder %s: %s", printable(entry.name), _error(exc))
            out.unrecognised.append(f"{printable(entry.name)}/ (cannot list: {_error(exc)})")
            continue
        for f in files:
            name = f.name
            rel = f"{entry.name}/{printable(name)}"
            if name.startswith((".", "~$")):
                continue
            m = _COUNTY_PREFIX.match(name)
            st: os.stat_result | None = None
            lstat_error: OSError | None = None
            try:
                st = f.lstat()
            except FileNotFoundError:
                log.warning("%s disappeared before it could be read", rel)
                continue
            except OSError as exc:
                lstat_error = exc
            code = m.group(1) if m else None
            workbook = f.suffix.lower() in (".xlsx", ".xlsm", ".xls")
            if (
                st is not None
                and stat.S_ISREG(st.st_mode)
                and not m
                and workbook
                and county_names is not None
            ):
                code, seen = county_of_unnamed(f, county_codes, county_names)
                if code is None:
                    log.warning(
                        "%s: no county code in the file name; counties found: %s", rel, seen or "none"
                    )
                    hint = "、".join(f"{c}（请改名为{suggested_name(c, printable(name))}）" for c in seen)
                    out.unrecognised.append(f"{rel}（文件名缺少县代码，可能是{hint}）" if seen else rel)
                    if seen:
                        out.unnamed.append(UnnamedFile(entry.name, printable(name), tuple(seen)))
                    continue
                log.warning("%s: no county code in the file name; taken as county %s", rel, code)
            if (st is not None and not stat.S_ISREG(st.st_mode)) or code is None or code not in county_codes:
                out.unrecognised.append(rel)
                continue
            if county and code != county:
                continue
            if st is not None and not settled(st, now, settle):
                log.warning(
                    "waiting for %s to settle (modified %.0f s ago, settle time %.0f s); a later run takes it",
                    rel,
                    max(0.0, now - st.st_mtime),
                    settle,
                )
                out.waiting.append(rel)
                continue
            try:
                if st is None:
                    raise lstat_error or OSError(errno.EIO, "cannot stat")
                sha = sha256_file(f)
                after = f.stat()
            except FileNotFoundError:
                log.warning("%s disappeared before it could be read", rel)
                continue
            except OSError as exc:  # unreadable: this county's problem, the run goes on (the flow logs it)
                error = f"cannot read the file: {_error(exc)}"
                problems.setdefault((code, entry.name), []).append((printable(name), error))
                continue
            if st is None or (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                log.warning(
                    "waiting for %s to settle (it changed while being read); a later run takes it", rel
                )
                out.waiting.append(rel)
                continue
            found.setdefault((code, entry.name), []).append((st.st_mtime, name, f, sha))
    for key in sorted(found.keys() | problems.keys()):
        code, per = key
        recorded = by_key.get(key, {})
        next_version = max(recorded.values(), default=0) + 1
        seen: set[str] = set()
        for mtime, name, path, sha in sorted(found.get(key, [])):
            if sha in seen:
                continue  # two identical copies in one folder are one version
            seen.add(sha)
            if sha in recorded:
                if force:
                    out.versions.append(
                        FileVersion(code, per, path, printable(name), sha, mtime, recorded[sha], True)
                    )
                continue
            out.versions.append(
                FileVersion(code, per, path, printable(name), sha, mtime, next_version, False)
            )
            next_version += 1
        for name, error in problems.get(key, []):
            out.failed.append(FileProblem(code, per, next_version, name, error))
            next_version += 1
    out.versions.sort(key=lambda v: (v.period, v.county_code, v.version))
    return out


def archive(fv: FileVersion, archive_dir: Path) -> Path:
    """Copy the file as received to archive/<sha[:2]>/<sha><ext>; atomic, idempotent.

    The archive is private (fivestar.filemodes: folders 0700, files 0600 by default). The
    copy is hashed as it is written: a file that changed since discovery raises
    FileChanged and leaves nothing behind, so the name always matches the content.
    """
    ext = re.sub(r"[^A-Za-z0-9.]", "", fv.path.suffix)[:10].lower()
    dest = archive_dir / fv.sha256[:2] / f"{fv.sha256}{ext}"
    if dest.exists() and dest.stat().st_size == fv.path.stat().st_size:
        private_file(dest)  # archived by an older version, perhaps world-readable
        return dest
    private_dir(dest.parent, archive_dir)
    _, file_mode = private_modes()
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        h = hashlib.sha256()
        with os.fdopen(_open_regular(fv.path), "rb") as src:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(tmp, flags, file_mode), "wb") as out:
                os.chmod(tmp, file_mode)  # the umask, or a stale .part's old mode, says otherwise
                for block in iter(lambda: src.read(1 << 20), b""):
                    h.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
        if h.hexdigest() != fv.sha256:
            raise FileChanged(errno.EAGAIN, "the file changed after it was found (still being written?)")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not keep half a copy (and its space)
        raise
    return dest


def archive_many(
    versions: list[FileVersion], archive_dir: Path
) -> tuple[list[tuple[FileVersion, Path]], list[tuple[FileVersion, str]]]:
    """archive() each version: (version, archived path) for those archived, (version, error)
    for those that failed (a full disk, a vanished or changed file): each its county's."""
    done: list[tuple[FileVersion, Path]] = []
    failed: list[tuple[FileVersion, str]] = []
    for fv in versions:
        try:
            done.append((fv, archive(fv, archive_dir)))
        except OSError as exc:  # the flow logs and reports it
            failed.append((fv, f"cannot archive the file: {_error(exc)}"))
    return done, failed
