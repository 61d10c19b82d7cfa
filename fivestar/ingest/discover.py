"""Find submissions under the raw folder and number their versions; archive by hash.

In: the raw folder (`<YYYY-MM>/<county code>…`), registered county codes and the
versions the warehouse already knows. Out: the file versions to process (new
ones numbered after the known ones, oldest modification time first; `--force`
re-selects known versions under their numbers), plus the unrecognised files.
Office lock files (`~$…`) and hidden files are skipped silently. File names are
shown (summary, logs, warehouse) only in printable form: undecodable bytes and
control characters replaced (a newline in a name must not forge a log line), and
resident-ID-like runs masked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fivestar.cells import mask_ids_in

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


@dataclass
class Discovery:
    versions: list[FileVersion] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    periods_seen: set[str] = field(default_factory=set)


def printable(name: str) -> str:
    """A file name safe to print, log and store: valid UTF-8, no control characters, no IDs."""
    text = os.fsencode(name).decode("utf-8", "replace")
    return mask_ids_in(_CONTROL.sub("\ufffd", text))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def discover(
    raw_dir: Path,
    county_codes: frozenset[str] | set[str],
    known: pd.DataFrame,
    *,
    period: str | None = None,
    county: str | None = None,
    force: bool = False,
) -> Discovery:
    """known: county_code, period, version, file_sha256 of recorded versions."""
    out = Discovery()
    if not raw_dir.is_dir():
        return out
    by_key: dict[tuple[str, str], dict[str, int]] = {}
    for r in known.itertuples(index=False):
        by_key.setdefault((r.county_code, r.period), {})[r.file_sha256] = int(r.version)
    found: dict[tuple[str, str], list[tuple[float, str, Path, str]]] = {}
    for entry in sorted(raw_dir.iterdir(), key=lambda p: p.name):
        if entry.name.startswith((".", "~$")):
            continue
        if not entry.is_dir() or entry.is_symlink() or not _PERIOD_DIR.match(entry.name):
            out.unrecognised.append(printable(entry.name))
            continue
        out.periods_seen.add(entry.name)
        if period and entry.name != period:
            continue
        for f in sorted(entry.iterdir(), key=lambda p: p.name):
            name = f.name
            rel = f"{entry.name}/{printable(name)}"
            if name.startswith((".", "~$")):
                continue
            m = _COUNTY_PREFIX.match(name)
            if f.is_symlink() or not f.is_file() or not m or m.group(1) not in county_codes:
                out.unrecognised.append(rel)
                continue
            code = m.group(1)
            if county and code != county:
                continue
            found.setdefault((code, entry.name), []).append((f.stat().st_mtime, name, f, sha256_file(f)))
    for (code, per), files in sorted(found.items()):
        recorded = by_key.get((code, per), {})
        next_version = max(recorded.values(), default=0) + 1
        seen: set[str] = set()
        for mtime, name, path, sha in sorted(files):
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
    out.versions.sort(key=lambda v: (v.period, v.county_code, v.version))
    return out


def archive(fv: FileVersion, archive_dir: Path) -> Path:
    """Copy the file as received to archive/<sha[:2]>/<sha><ext>; atomic, idempotent."""
    ext = re.sub(r"[^A-Za-z0-9.]", "", fv.path.suffix)[:10].lower()
    dest = archive_dir / fv.sha256[:2] / f"{fv.sha256}{ext}"
    if dest.exists() and dest.stat().st_size == fv.path.stat().st_size:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        shutil.copyfile(fv.path, tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not keep half a copy (and its space)
        raise
    return dest
