"""Rotate the resident-ID hash key: every stored pseudonym re-hashed, in one transaction.

In: the warehouse engine, the rulebook and limits, the current key and the new one. Each
recorded version's archived workbook (submission.archive_path) is read twice, with the
current key and with the new one; the pseudonyms (`IDH-…`) in the same cells give the
mapping old → new. Out: every text cell of the warehouse that holds a pseudonym rewritten
through the mapping (facts, derived tables, findings, stored alert texts), all in one
transaction under the run lock. It refuses, changing nothing, when a stored pseudonym has
no archived workbook to map it (the archive is incomplete) or the current key is not
the one the warehouse was loaded with. Pseudonyms copied out before (BI extracts,
exported reports) keep the old key.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import String, Text, bindparam, inspect, text
from sqlalchemy.engine import Engine

from fivestar.config import Limits, Rulebook
from fivestar.ingest.read import ParsedWorkbook, read_workbook
from fivestar.warehouse.lock import run_lock
from fivestar.warehouse.tables import ALL_TABLES

log = logging.getLogger(__name__)
PSEUDONYM = re.compile(r"IDH-[0-9a-f]{20}")
SKIP_TABLES = ("run", "run_lock", "meta")  # no pseudonyms: parameters, notes, settings


class RekeyError(RuntimeError):
    """Rekeying cannot be done safely; nothing was changed."""


@dataclass(frozen=True)
class Rekeyed:
    versions: int  # archived workbooks read
    pseudonyms: int  # distinct pseudonyms re-hashed
    cells: int  # distinct stored values rewritten (per table column)


def _pairs(old: ParsedWorkbook, new: ParsedWorkbook) -> dict[str, str]:
    """Pseudonyms in the same cells of the two readings of one workbook."""
    out: dict[str, str] = {}
    frames = [(old.frames.get(k), new.frames.get(k)) for k in old.frames] + [(old.findings, new.findings)]
    for a, b in frames:
        if a is None or b is None or a.shape != b.shape:
            continue
        for col in a.columns:
            if a[col].dtype != object and str(a[col].dtype) not in ("string", "str"):
                continue
            for x, y in zip(a[col], b[col], strict=True):
                if isinstance(x, str) and isinstance(y, str) and "IDH-" in x:
                    out.update(zip(PSEUDONYM.findall(x), PSEUDONYM.findall(y), strict=False))
    return out


def mapping(
    engine: Engine, rb: Rulebook, limits: Limits, old_key: str, new_key: str
) -> tuple[dict[str, str], int]:
    """old → new pseudonym over every recorded version's archived workbook."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT DISTINCT file_sha256, archive_path FROM submission")).all()
    missing = [p for _, p in rows if not p or not Path(p).is_file()]
    out: dict[str, str] = {}
    for sha, path in rows:
        if not path or not Path(path).is_file():
            continue
        old = read_workbook(Path(path), rb, limits, file_key=sha, id_key=old_key)
        new = read_workbook(Path(path), rb, limits, file_key=sha, id_key=new_key)
        out.update(_pairs(old, new))
    if missing:
        log.warning("rekey: %d recorded versions have no archived workbook", len(missing))
    return out, len(rows) - len(missing)


def _text_columns(engine: Engine) -> list[tuple[str, str]]:
    insp = inspect(engine)
    existing = set(insp.get_table_names())
    return [
        (t, c["name"])
        for t in ALL_TABLES
        if t in existing and t not in SKIP_TABLES
        for c in insp.get_columns(t)
        if isinstance(c["type"], String | Text)
    ]


def rekey(engine: Engine, rb: Rulebook, limits: Limits, old_key: str, new_key: str) -> Rekeyed:
    if not new_key or new_key == old_key:
        raise RekeyError("the new key must be set and differ from the current one")
    with run_lock(engine, wait=False):  # no run may write meanwhile
        pairs, versions = mapping(engine, rb, limits, old_key, new_key)
        columns = _text_columns(engine)
        rewritten = 0
        with engine.begin() as conn:
            for table, col in columns:
                q = f'SELECT DISTINCT "{col}" FROM "{table}" WHERE "{col}" LIKE :p'
                values = [v for (v,) in conn.execute(text(q), {"p": "%IDH-%"}).all()]
                unknown = {t for v in values for t in PSEUDONYM.findall(v) if t not in pairs}
                if unknown:  # the transaction rolls back: nothing changed
                    raise RekeyError(
                        f"{len(unknown)} pseudonyms in {table}.{col} are in no archived workbook read with "
                        "the current FIVESTAR_ID_HASH_KEY (a different key, or archived files missing); "
                        "nothing was changed"
                    )
                updates = [{"old": v, "new": PSEUDONYM.sub(lambda m: pairs[m.group(0)], v)} for v in values]
                if updates:
                    stmt = text(f'UPDATE "{table}" SET "{col}" = :new WHERE "{col}" = :old').bindparams(
                        bindparam("old"), bindparam("new")
                    )
                    conn.execute(stmt, updates)
                    rewritten += len(updates)
    return Rekeyed(versions, len(pairs), rewritten)
