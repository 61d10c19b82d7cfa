"""Mask resident IDs in every text-bearing part of a workbook we send back.

In: a workbook package (fivestar.feedback.xlsx_parts._Package) or an .xlsx file.
Out: the same package with every ID-like text masked (fivestar.cells.mask_ids_in) in
every XML part: cell texts and formulas, shared strings, comments, document
properties (docProps/core.xml, app.xml), defined names, data-validation lists and
prompts, header/footer text, drawings, charts, tables, sheet names. It works on parsed
XML, so character references (&#52;&#49;…) are decoded first, and the runs of a rich
text (an ID split over two fonts) are joined before masking. A number cell holding an
ID (4.1062120010101446E+17) becomes the masked text. Sheet and defined names holding
an ID are renamed everywhere they are referred to (formulas, defined names, app.xml),
with characters Excel allows in them (＊ and _, not *).

Other parts (embedded objects, printer settings, images) have digit runs masked in
place, byte for byte (ASCII and UTF-16); an embedded workbook up to 16 MB is masked
as a package of its own; a larger one is left as it is.

The last pass before a copy leaves us: both feedback paths (XML patch, openpyxl) run it.
Cost: large parts are scanned as bytes first (translate + find, at memory speed); only
those that may hold an ID are parsed, then one pass over their elements masks texts of
15+ characters (~0.1 s for a 3 MB ledger sheet; most parts are never parsed).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from lxml import etree

from fivestar.cells import LONG_NUMBER, mask_digits, mask_ids_in
from fivestar.feedback.xlsx_parts import XML_PARSER, Package, qname, workbook_part

DRAWING = "http://schemas.openxmlformats.org/drawingml/2006/main"

__all__ = ["mask_package", "mask_xlsx_file", "mask_xml"]

_XML_PARTS = (".xml", ".rels", ".vml")
_SMALL = 64 * 1024  # parts below this are always parsed: cheaper than being clever
_DIGITS_TO_0 = bytes.maketrans(b"123456789", b"000000000")
_FULL_WIDTH_DIGIT = re.compile(rb"\xef\xbc[\x90-\x99]")
# A digit (ASCII or full width) as a character reference; openpyxl writes every
# Chinese character as one, so "&#" alone says nothing.
_DIGIT_REF = re.compile(rb"&#(?:0*(?:4[89]|5[0-7]|6529[6-9]|6530[0-5])|[xX]0*(?:3[0-9]|[fF][fF]1[0-9]));")
# 15 digits in groups: digits with 1-3 spaces, dashes or dots (ASCII or not) between them.
_WIDE = (
    rb"\xe3\x80\x80|\xc2\xa0|\xef\xbc\x8d|\xe2\x80[\x90-\x95]|\xe2\x88\x92|\xef\xbc\x8e|\xc2\xb7|\xe3\x83\xbb"
)
_SEP_B = rb"(?:[ \t\r\n_.\-]|" + _WIDE + rb")"
_GROUPED = re.compile(rb"[0-9](?:" + _SEP_B + rb"{0,3}[0-9]){14}")
_SCI_BIG = re.compile(rb"[0-9][Ee]\+?(?:1[4-9]|[2-9][0-9]|[0-9]{3})\b")
# Where grouped digits might be: 3 digits, a separator, 3 digits (IDs are written 6-8-4,
# 3-3-4-4-4 or 4-4-4-4-2; dates such as 2026-11-05 do not match, and they are common).
_PAIR = re.compile(rb"[0-9]{3}" + _SEP_B + rb"{1,3}[0-9]{3}")
_ASCII_PAIR = bytes.maketrans(b"0123456789 \t\r\n_-", b"0000000000------")  # to find pairs at memory speed
_WIDE_SEP = re.compile(_WIDE)
# Cell data: elements whose attributes are never text (r, s, t, spans, ht…).
_CELL_DATA = {qname(t) for t in ("sheetData", "row", "c", "v", "f", "is", "r", "rPr", "t")}
_V, _C, _T = qname("v"), qname("c"), qname("t")
_HOLDERS = {qname("si"), qname("is"), qname("text"), f"{{{DRAWING}}}p"}
_RUN = {qname("r"), f"{{{DRAWING}}}r"}
_TEXT = {_T, f"{{{DRAWING}}}t"}


def _may_hold(data: bytes, renamed: list[bytes]) -> bool:
    """Cheap byte-level test that a (large) part may hold something to mask."""
    if data.translate(_DIGITS_TO_0).find(b"0" * 15) >= 0:
        return True
    if (b"E+" in data or b"e+" in data) and _SCI_BIG.search(data):
        return True
    if b"<r>" in data or b"<r " in data or _FULL_WIDTH_DIGIT.search(data) or _DIGIT_REF.search(data):
        return True
    if any(old in data for old in renamed):
        return True
    # Grouped digits: look closer only around a likely pair (the regex scan costs ~20 ms
    # a MB, so only when translate + find saw an ASCII pair or a wide separator is there).
    t = data.translate(_ASCII_PAIR)
    if not any(p in t for p in (b"000-000", b"000--000", b"000---000")) and not _WIDE_SEP.search(data):
        return False
    return any(_GROUPED.search(data, max(0, m.start() - 45), m.end() + 45) for m in _PAIR.finditer(data))


def _renames(pkg: Package) -> dict[str, str]:
    """{sheet or defined name holding an ID: its masked name}, unique within the workbook.

    Masked with characters each kind of name may hold (Excel refuses * in both): a
    full-width ＊ in sheet names, _ in defined names. Applied to every text of every part
    before the masking, so formulas and names keep pointing where they did."""
    try:
        _part, wb, rels_of = workbook_part(pkg)
    except Exception:  # noqa: BLE001 — an odd package: the generic pass still masks names
        return {}
    sheets = wb.find(qname("sheets"))
    names = wb.find(qname("definedNames"))
    out: dict[str, str] = {}
    for els, star, longest in ((sheets, "＊", 31), (names, "_", 255)):
        taken = {e.get("name", "") for e in els} if els is not None else set()
        for e in els if els is not None else ():
            old = e.get("name", "")
            masked = mask_ids_in(old)
            if masked == old or old in out:
                continue
            new, i = masked.replace("*", star)[:longest], 2
            while new in taken:
                new = f"{masked.replace('*', star)[: longest - 4]}{star}{i}"
                i += 1
            taken.add(new)
            out[old] = new
    return dict(sorted(out.items(), key=lambda kv: -len(kv[0])))  # longest first


def _mask_text(text: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        if old in text:
            text = text.replace(old, new)
    return mask_ids_in(text)


def _mask_number_cell(c: Any, text: str) -> bool:
    """A number of 15+ digits (an ID typed as a number) becomes its masked text."""
    try:
        num = float(text)
    except ValueError:
        return False
    if not (abs(num) >= LONG_NUMBER and num == num and abs(num) != float("inf")):
        return False
    for child in list(c):
        if child.tag == qname("v"):
            c.remove(child)
    c.set("t", "inlineStr")
    etree.SubElement(etree.SubElement(c, qname("is")), qname("t")).text = mask_digits(str(abs(int(num))))
    return True


def mask_xml(root: Any, renames: dict[str, str] | None = None) -> bool:
    """Mask IDs in a parsed XML part (in place); True when anything changed.

    One pass over the elements in Python: on a 100k-row sheet it costs about what a
    single libxml2 XPath over every node does, and it decides everything at once.
    """
    renames = renames or {}
    changed = False
    holders = []
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        if tag in _HOLDERS and any(ch.tag in _RUN for ch in el):
            holders.append(el)
        text = el.text
        if text and len(text) >= 15:
            if tag == _V:
                c = el.getparent()
                if c is not None and c.tag == _C and c.get("t") in (None, "n"):
                    changed |= _mask_number_cell(c, text)
                    continue
            masked = _mask_text(text, renames)
            if masked != text:
                el.text, changed = masked, True
        tail = el.tail
        if tail and len(tail) >= 15:
            masked = _mask_text(tail, renames)
            if masked != tail:
                el.tail, changed = masked, True
        if tag not in _CELL_DATA:
            for k, v in el.attrib.items():
                if len(v) >= 15:
                    masked = _mask_text(v, renames)
                    if masked != v:
                        el.set(k, masked)
                        changed = True
    for holder in holders:
        # Rich text: an ID split over runs (two fonts) shows only when they are joined.
        ts = [t for t in holder.iter() if t.tag in _TEXT]
        joined = "".join(t.text or "" for t in ts)
        masked = _mask_text(joined, renames)
        if len(ts) > 1 and masked != joined:
            # One run gets the whole masked text; the others are emptied (their fonts stay).
            ts[0].text = masked
            for t in ts[1:]:
                t.text = ""
            changed = True
    return changed


_NUM_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _mask_raw(data: bytes, renames: dict[str, str]) -> bytes | None:
    """For a part that is not well-formed XML (Excel's VML): mask its text as text."""
    text = data.decode("utf-8", "surrogateescape")

    def digit_ref(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16) if m.group(1) else int(m.group(2)))
        return ch if ch.isdigit() or ch in "XxＸｘ" else m.group(0)

    decoded = _NUM_REF.sub(digit_ref, text)  # digits need no escaping in XML
    out = _mask_text(decoded, renames)
    return None if out == decoded else out.encode("utf-8", "surrogateescape")


def mask_part(name: str, data: bytes, renames: dict[str, str]) -> bytes | None:
    """The part with IDs masked, or None when nothing needed masking."""
    renamed = [old.encode("utf-8") for old in renames]
    if len(data) >= _SMALL and not _may_hold(data, renamed):
        return None
    try:
        root = etree.fromstring(data, XML_PARSER)
    except etree.XMLSyntaxError:
        return _mask_raw(data, renames)
    if not mask_xml(root, renames):
        return None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# Binary parts (embedded objects, printer settings, images' metadata): digit runs in
# ASCII or UTF-16LE, masked in place with as many bytes, so the part's layout holds.
_BIN_ASCII = re.compile(rb"[0-9]{17}[0-9Xx]|[0-9]{15,}")
_BIN_UTF16 = re.compile(rb"(?:[0-9]\x00){17}[0-9Xx]\x00|(?:[0-9]\x00){15,}")
_NESTED_LIMIT = 16 * 1024 * 1024  # an embedded workbook is masked too, up to this size


def _same_length(run: bytes, width: int) -> bytes:
    n = len(run) // width
    keep = 6 * width, (n - 4) * width
    return run[: keep[0]] + b"*".ljust(width, b"\x00") * (n - 10) + run[keep[1] :]


def _mask_binary(data: bytes, depth: int) -> bytes | None:
    if data[:2] == b"PK" and depth < 2:
        return _mask_nested(data, depth + 1)
    out = _BIN_ASCII.sub(lambda m: _same_length(m.group(0), 1), data)
    out = _BIN_UTF16.sub(lambda m: _same_length(m.group(0), 2), out)
    return None if out == data else out


def _mask_nested(data: bytes, depth: int) -> bytes | None:
    """An embedded package (a workbook inside the workbook): masked the same way."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zin:
            if sum(i.file_size for i in zin.infolist()) > _NESTED_LIMIT:
                return None  # not inflated here; see the module docstring
            pkg = Package(zin)
            if not mask_package(pkg, depth):
                return None
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
                for name in sorted(pkg.names | set(pkg.changed)):
                    zout.writestr(name, pkg.read(name))
            return buf.getvalue()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _is_xml(name: str, data: bytes) -> bool:
    # By content, not by name: a workbook may point at an XML part named sheet1.dat.
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return name.lower().endswith(_XML_PARTS) or head.startswith(b"<")


def mask_package(pkg: Package, depth: int = 0) -> int:
    """Mask every part of `pkg` (edits go through pkg.put); the number of parts changed."""
    renames = _renames(pkg)
    n = 0
    for name in sorted(pkg.names | set(pkg.changed)):
        # A part named with an ID: renamed the way the text pass below masks the
        # relationship targets and content types that point at it.
        new = mask_ids_in(name)
        if new != name and not pkg.exists(new):
            data = pkg.read(name)
            pkg.names.discard(name)
            pkg.changed.pop(name, None)
            pkg.put(new, data)
            n += 1
    for name in sorted(pkg.names | set(pkg.changed)):
        data = pkg.read(name)
        if _is_xml(name, data):
            out = mask_part(name, data, renames)
        else:
            out = _mask_binary(data, depth)
        if out is not None:
            pkg.put(name, out)
            n += 1
    return n


def mask_xlsx_file(path: Path) -> int:
    """Mask every XML part of the .xlsx at `path` in place (rewritten only when needed)."""
    path = Path(path)
    with zipfile.ZipFile(path) as zin:
        pkg = Package(zin)
        n = mask_package(pkg)
        if n:
            pkg.write(path)
    return n
