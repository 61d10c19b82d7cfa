"""What a fast cell reader cannot tell: container checks, percent formats, formulas.

In: the path of a received file. Out: a whole-file problem code (checked from the
zip directory before anything is inflated; then the used range of every part the fast
reader may open as a sheet (fivestar.ingest.sheet_guard), because it allocates a dense
grid of that range: one cell at XFD1048576 in a 9 KB file would ask for 512 GB and
abort the process), the sheet → XML part map, the cells that are percent-formatted,
formula cells without a cached value, and cells holding an Excel error value (#DIV/0!, which the fast reader returns as an empty cell).
Regexes over the raw sheet XML keep this cheap; it only runs where needed.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET

from fivestar.config import Limits
from fivestar.ingest import sheet_guard

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_BUILTIN_PERCENT = {9, 10}
_CELL_RE = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(/>|>(.*?)</(?:\w+:)?c>)", re.S)
_ATTR_R = re.compile(rb'\br="([A-Z]+)(\d+)"')
_ATTR_S = re.compile(rb'\bs="(\d+)"')
_ATTR_T_ERROR = re.compile(rb'\bt="e"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
# The reader holds the used range as a dense grid of ≈ 40-byte cells: 10M cells ≈ 400 MB.
DEFAULT_MAX_CELLS_PER_SHEET = 10_000_000
# Quoted text ("%") and escaped characters (\%) in a number format are literals, not percent.
_FMT_LITERALS = re.compile(r'"[^"]*"|\\.')

_MERGE_REF = re.compile(rb"""<(?:\w+:)?mergeCell\b[^>]*?\bref=["']([A-Z]+[0-9]+:[A-Z]+[0-9]+)["']""")


def is_percent_format(code: str) -> bool:
    """True when a number format scales by 100 (0%, 0.0%); not for a literal "%" sign."""
    return "%" in _FMT_LITERALS.sub("", code)


@dataclass(frozen=True)
class FileProblem:
    code: str  # empty | encrypted | xls | not_xlsx | truncated | too_large | ratio | unreadable
    detail: str = ""


def check_container(path: Path, limits: Limits) -> FileProblem | None:
    """Classify a file before reading it; None when it looks like a sane .xlsx."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:  # a folder named .xlsx, a vanished or unreadable file
        return FileProblem("unreadable", str(exc))
    if size == 0:
        return FileProblem("empty")
    if head == OLE_MAGIC:
        # Encrypted OOXML is wrapped in an OLE container with an EncryptedPackage stream.
        data = path.read_bytes()
        enc = "EncryptedPackage".encode("utf-16-le")
        return FileProblem("encrypted") if enc in data else FileProblem("xls")
    if head[:2] != b"PK":
        return FileProblem("not_xlsx")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return FileProblem("truncated", str(exc))
    if "xl/workbook.xml" not in names:
        return FileProblem("not_xlsx")
    if total > limits.max_uncompressed_mb * 1024 * 1024:
        return FileProblem("too_large", f"{total / 1048576:.0f} MB")
    if total / packed > limits.max_compression_ratio:
        return FileProblem("ratio", f"{total / packed:.0f}:1")
    max_cells = int(limits.extra.get("max_cells_per_sheet", DEFAULT_MAX_CELLS_PER_SHEET))
    try:
        with zipfile.ZipFile(path) as zf:
            # The reader reserves memory for the declared number of shared strings up front.
            declared, size = sheet_guard.shared_string_count(zf)
            if declared > max(size // 4, 1000):
                return FileProblem("truncated", f"shared strings declare {declared} in {size} bytes")
            # Every part the reader may open as a sheet, whatever its name (xl/cover.xml).
            for info in sheet_guard.sheet_parts(zf):
                rows, cols = sheet_guard.used_extent(zf, info)
                if rows * cols > max_cells:
                    rows, cols = sheet_guard.used_extent(zf, info, exact=True)
                if rows * cols > max_cells:
                    return FileProblem(
                        "too_large",
                        f"{info.filename}: used range {cols} columns x {rows} rows over {max_cells} cells",
                    )
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
        return FileProblem("truncated", str(exc))
    return None


class XlsxParts:
    """Lazy access to a workbook's styles and sheet XML for format/formula questions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sheet_parts: dict[str, str] | None = None
        self._percent_styles: set[int] | None = None

    def sheet_parts(self) -> dict[str, str]:
        if self._sheet_parts is None:
            with zipfile.ZipFile(self.path) as zf:
                wb = ET.fromstring(zf.read("xl/workbook.xml"))
                rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
            parts = {}
            for sh in wb.findall("m:sheets/m:sheet", _NS):
                rid = sh.get(f"{{{_NS['r']}}}id")
                target = targets.get(rid, "")
                full = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
                parts[sh.get("name", "")] = full
            self._sheet_parts = parts
        return self._sheet_parts

    def percent_styles(self) -> set[int]:
        if self._percent_styles is None:
            found: set[int] = set()
            with zipfile.ZipFile(self.path) as zf:
                if "xl/styles.xml" in zf.namelist():
                    st = ET.fromstring(zf.read("xl/styles.xml"))
                    custom = {
                        int(f.get("numFmtId", "0"))
                        for f in st.findall("m:numFmts/m:numFmt", _NS)
                        if is_percent_format(f.get("formatCode") or "")
                    }
                    pct_ids = _BUILTIN_PERCENT | custom
                    for i, xf in enumerate(st.findall("m:cellXfs/m:xf", _NS)):
                        if int(xf.get("numFmtId", "0")) in pct_ids:
                            found.add(i)
            self._percent_styles = found
        return self._percent_styles

    def _sheet_xml(self, sheet_name: str) -> bytes:
        part = self.sheet_parts().get(sheet_name)
        if not part:
            return b""
        with zipfile.ZipFile(self.path) as zf:
            return zf.read(part)

    def percent_cells(self, sheet_name: str) -> set[tuple[int, str]]:
        """(row, column letters) of cells whose style is a percent format."""
        styles = self.percent_styles()
        if not styles:
            return set()
        xml = self._sheet_xml(sheet_name)
        out: set[tuple[int, str]] = set()
        for m in re.finditer(rb"<(?:\w+:)?c\b([^>]*)>", xml):
            attrs = m.group(1)
            s = _ATTR_S.search(attrs)
            if s and int(s.group(1)) in styles:
                r = _ATTR_R.search(attrs)
                if r:
                    out.add((int(r.group(2)), r.group(1).decode()))
        return out

    def merged_ranges(self, sheet_name: str) -> list[str]:
        """The merged ranges of a sheet as written ('D2:D12'), in file order."""
        xml = self._sheet_xml(sheet_name)
        if b"mergeCell" not in xml:
            return []
        return [m.group(1).decode() for m in _MERGE_REF.finditer(xml)]

    def formula_cells_without_value(self, sheet_name: str) -> set[tuple[int, str]]:
        return {k for k, v in self.cell_problems(sheet_name).items() if v is None}

    def cell_problems(self, sheet_name: str) -> dict[tuple[int, str], str | None]:
        """(row, column letters) → the error text of an error cell ('#DIV/0!'), or None
        for a formula without a cached value (saved by a program that does not calculate)."""
        xml = self._sheet_xml(sheet_name)
        out: dict[tuple[int, str], str | None] = {}
        if b"<f" not in xml and b":f" not in xml and b't="e"' not in xml:
            return out
        for m in _CELL_RE.finditer(xml):
            attrs, inner = m.group(1), m.group(3) or b""
            r = _ATTR_R.search(attrs)
            if not r:
                continue
            key = (int(r.group(2)), r.group(1).decode())
            v = _VALUE.search(inner)
            if _ATTR_T_ERROR.search(attrs):
                out[key] = v.group(1).decode().strip() if v and v.group(1).strip() else "#VALUE!"
            elif re.search(rb"<(?:\w+:)?f\b", inner) and not (v and v.group(1).strip()):
                out[key] = None
        return out
