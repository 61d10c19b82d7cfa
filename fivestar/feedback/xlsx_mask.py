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

The last pass before a copy leaves us: both feedback paths (XML patch, openpyxl) run it.
Cost: parts are scanned as bytes first; only parts that may hold an ID are parsed, and
inside them libxml2's XPath picks the candidate texts (15+ characters).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from lxml import etree

from fivestar.cells import LONG_NUMBER, mask_digits, mask_ids_in
from fivestar.feedback.xlsx_parts import _PARSER, _m, _Package, _workbook

__all__ = ["mask_package", "mask_xlsx_file", "mask_xml"]

_XML_PARTS = (".xml", ".rels", ".vml")
_SMALL = 64 * 1024  # parts below this are always parsed: cheaper than being clever
_DIGITS_TO_0 = bytes.maketrans(b"123456789", b"000000000")
_FULL_WIDTH_DIGIT = re.compile(rb"\xef\xbc[\x90-\x99]")
# Digits in groups: a digit, 1-3 spaces or dashes (ASCII or not), a digit.
_GROUPED = re.compile(
    rb"[0-9](?:[ \t_\-]|\xe3\x80\x80|\xc2\xa0|\xef\xbc\x8d|\xe2\x80[\x90-\x95]|\xe2\x88\x92){1,3}[0-9]"
)
_SCI_BIG = re.compile(rb"[0-9][Ee]\+?(?:1[4-9]|[2-9][0-9]|[0-9]{3})\b")
_CAND_TEXT = etree.XPath("//text()[string-length(.) >= 15]")
_CAND_ATTR = etree.XPath("//@*[string-length(.) >= 15]")
# Rich text: runs (<r><t>, DrawingML <a:r><a:t>) of one paragraph or string, joined.
_RUN_HOLDERS = etree.XPath(
    "//*[local-name()='si' or local-name()='is' or local-name()='text' or local-name()='p']"
    "[string-length(.) >= 15][count(.//*[local-name()='t']) > 1]"
)
_TEXTS = etree.XPath(".//*[local-name()='t']")


def _may_hold(data: bytes, renamed: list[bytes]) -> bool:
    """Cheap byte-level test that a (large) part may hold something to mask."""
    if data.translate(_DIGITS_TO_0).find(b"0" * 15) >= 0:
        return True
    if (b"E+" in data or b"e+" in data) and _SCI_BIG.search(data):
        return True
    if b"&#" in data or _FULL_WIDTH_DIGIT.search(data) or b"<r>" in data or b"<r " in data:
        return True
    if any(old in data for old in renamed):
        return True
    return _GROUPED.search(data) is not None


def _renames(pkg: _Package) -> dict[str, str]:
    """{sheet or defined name holding an ID: its masked name}, unique within the workbook.

    Masked with characters each kind of name may hold (Excel refuses * in both): a
    full-width ＊ in sheet names, _ in defined names. Applied to every text of every part
    before the masking, so formulas and names keep pointing where they did."""
    try:
        _part, wb, _rels = _workbook(pkg)
    except Exception:  # noqa: BLE001 — an odd package: the generic pass still masks names
        return {}
    sheets = wb.find(_m("sheets"))
    names = wb.find(_m("definedNames"))
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


def _numeric_value(node: Any) -> Any:
    """The <c> of a number cell when `node` is the text of its <v>; else None."""
    v = node.getparent()
    if v is None or not node.is_text or v.tag != _m("v"):
        return None
    c = v.getparent()
    if c is None or c.tag != _m("c") or c.get("t") not in (None, "n"):
        return None
    return c


def _mask_number_cell(c: Any, text: str) -> bool:
    """A number of 15+ digits (an ID typed as a number) becomes its masked text."""
    try:
        num = float(text)
    except ValueError:
        return False
    if not (abs(num) >= LONG_NUMBER and num == num and abs(num) != float("inf")):
        return False
    for child in list(c):
        if child.tag == _m("v"):
            c.remove(child)
    c.set("t", "inlineStr")
    etree.SubElement(etree.SubElement(c, _m("is")), _m("t")).text = mask_digits(str(abs(int(num))))
    return True


def mask_xml(root: Any, renames: dict[str, str] | None = None) -> bool:
    """Mask IDs in a parsed XML part (in place); True when anything changed."""
    renames = renames or {}
    changed = False
    for holder in _RUN_HOLDERS(root):
        ts = _TEXTS(holder)
        joined = "".join(t.text or "" for t in ts)
        masked = _mask_text(joined, renames)
        if masked != joined:
            # One run gets the whole masked text; the others are emptied (their fonts stay).
            ts[0].text = masked
            for t in ts[1:]:
                t.text = ""
            changed = True
    for node in _CAND_TEXT(root):
        el = node.getparent()
        if el is None:
            continue
        c = _numeric_value(node) if node.is_text else None
        if c is not None:
            changed |= _mask_number_cell(c, str(node))
            continue
        masked = _mask_text(str(node), renames)
        if masked != str(node):
            if node.is_text:
                el.text = masked
            else:
                el.tail = masked
            changed = True
    for node in _CAND_ATTR(root):
        el = node.getparent()
        masked = _mask_text(str(node), renames)
        if el is not None and masked != str(node):
            el.set(node.attrname, masked)
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
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        return _mask_raw(data, renames)
    if not mask_xml(root, renames):
        return None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def mask_package(pkg: _Package) -> int:
    """Mask every XML part of `pkg` (edits go through pkg.put); the number of parts changed."""
    renames = _renames(pkg)
    n = 0
    for name in sorted(pkg.names | set(pkg.changed)):
        if not name.lower().endswith(_XML_PARTS):
            continue
        out = mask_part(name, pkg.read(name), renames)
        if out is not None:
            pkg.put(name, out)
            n += 1
    return n


def mask_xlsx_file(path: Path) -> int:
    """Mask every XML part of the .xlsx at `path` in place (rewritten only when needed)."""
    path = Path(path)
    with zipfile.ZipFile(path) as zin:
        pkg = _Package(zin)
        n = mask_package(pkg)
        if n:
            pkg.write(path)
    return n
