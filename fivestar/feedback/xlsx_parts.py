"""Shared plumbing for editing .xlsx packages as XML (the fast feedback paths).

In: an open zip of a workbook. Out: lazily read parts, edits kept in memory and
written as a new zip; relationship and content-type helpers; a styles.xml editor
that appends fills, fonts and cell formats without renumbering existing ones.
Anything outside the common shape raises `Unsupported` (callers fall back to openpyxl).
"""

from __future__ import annotations

import os
import posixpath
import re
import zipfile
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl.utils.cell import column_index_from_string

from fivestar.feedback.summary_sheet import FILL_RGB, LINK_RGB, Style

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_WORKSHEET = f"{DOC_REL}/worksheet"
REL_STYLES = f"{DOC_REL}/styles"
REL_SHARED = f"{DOC_REL}/sharedStrings"
REL_COMMENTS = f"{DOC_REL}/comments"
REL_VML = f"{DOC_REL}/vmlDrawing"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"

FORMULA_LEAD = ("=", "+", "-", "@")
_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")
# Children of <worksheet> that must come after <legacyDrawing> (ECMA-376 CT_Worksheet order).
AFTER_LEGACY = {"legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems"}
AFTER_LEGACY |= {"tableParts", "extLst"}
# Children of <workbook> that come after <definedNames>.
AFTER_NAMES = {"calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes"}
AFTER_NAMES |= {"webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"}
XML_PARSER = etree.XMLParser(huge_tree=True, remove_blank_text=False, resolve_entities=False, no_network=True)


class Unsupported(Exception):
    """The workbook has a shape this path leaves to openpyxl."""


def qname(tag: str) -> str:
    return f"{{{MAIN}}}{tag}"


def local_name(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def split_part_path(ref: str) -> tuple[int, int]:
    m = _REF.match(ref)
    if not m:
        raise Unsupported(f"cell reference {ref!r}")
    return int(m.group(2)), column_index_from_string(m.group(1))


class Package:
    """The zip's parts, read lazily; edits are kept in memory until `write`."""

    def __init__(self, zin: zipfile.ZipFile | None) -> None:
        self.zin = zin
        self.names = set(zin.namelist()) if zin is not None else set()
        self.changed: dict[str, bytes] = {}

    def read(self, name: str) -> bytes:
        if name in self.changed or self.zin is None:
            return self.changed[name]
        return self.zin.read(name)

    def xml(self, name: str) -> Any:
        return etree.fromstring(self.read(name), XML_PARSER)

    def put(self, name: str, data: bytes | Any) -> None:
        if not isinstance(data, bytes):
            data = etree.tostring(data, xml_declaration=True, encoding="UTF-8", standalone=True)
        self.changed[name] = data

    def exists(self, name: str) -> bool:
        return name in self.names or name in self.changed

    def write(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            # Level 1: the parts are re-deflated several times faster, the file a few % bigger.
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
                # [Content_Types].xml first, as Office writes it.
                order = sorted(self.names | set(self.changed), key=lambda n: n != "[Content_Types].xml")
                for name in order:
                    if name in self.changed:
                        zout.writestr(name, self.changed[name])
                    else:
                        assert self.zin is not None
                        info = self.zin.getinfo(name)
                        zout.writestr(
                            info, self.zin.read(name), compress_type=info.compress_type, compresslevel=1
                        )
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)


def rels_path_of(part: str) -> str:
    d, base = posixpath.split(part)
    return posixpath.join(d, "_rels", base + ".rels")


def resolve_target(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def rels_of(pkg: Package, part: str) -> Any:
    path = rels_path_of(part)
    if pkg.exists(path):
        return pkg.xml(path)
    return etree.Element(f"{{{PKG_REL}}}Relationships", nsmap={None: PKG_REL})


def _new_rid(rels: Any) -> str:
    used = {r.get("Id") for r in rels}
    i = 1
    while f"rIdFS{i}" in used:
        i += 1
    return f"rIdFS{i}"


def add_rel(rels: Any, rtype: str, target: str) -> str:
    rid = _new_rid(rels)
    etree.SubElement(rels, f"{{{PKG_REL}}}Relationship", Id=rid, Type=rtype, Target=target)
    return rid


def rel_target(pkg: Package, rels: Any, source: str, rtype: str) -> str | None:
    for r in rels:
        if r.get("Type") == rtype and r.get("TargetMode") != "External":
            return resolve_target(source, r.get("Target", ""))
    return None


def unique_name(pkg: Package, pattern: str) -> str:
    i = 1
    while pkg.exists(pattern.format(i)):
        i += 1
    return pattern.format(i)


# ---- styles -------------------------------------------------------------------------


class Styles:
    """Appends fills, fonts and cell formats to styles.xml; indexes of existing ones stay."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.fills = self._section("fills")
        self.fonts = self._section("fonts")
        self.xfs = root.find(qname("cellXfs"))
        if self.xfs is None or len(self.xfs) == 0 or len(self.fonts) == 0:
            raise Unsupported("styles.xml without cell formats")
        self._fill_ids: dict[str, int] = {}
        self._font_ids: dict[str, int] = {}
        self._cache: dict[Any, int] = {}

    def _section(self, name: str) -> Any:
        el = self.root.find(qname(name))
        if el is None:
            raise Unsupported(f"styles.xml without <{name}>")
        return el

    def fill(self, key: str) -> int:
        if key not in self._fill_ids:
            rgb = f"00{FILL_RGB[key]}"  # ARGB as openpyxl writes it: both copy paths give the same values
            f = etree.SubElement(self.fills, qname("fill"))
            p = etree.SubElement(f, qname("patternFill"), patternType="solid")
            etree.SubElement(p, qname("fgColor"), rgb=rgb)
            etree.SubElement(p, qname("bgColor"), rgb=rgb)
            self._fill_ids[key] = len(self.fills) - 1
            self.fills.set("count", str(len(self.fills)))
        return self._fill_ids[key]

    def font(self, key: str) -> int:
        if key not in self._font_ids:
            base = self.fonts[0]
            sz = base.find(qname("sz"))
            size = sz.get("val", "11") if sz is not None else "11"
            f = etree.SubElement(self.fonts, qname("font"))
            if key.startswith("bold"):
                etree.SubElement(f, qname("b"))
            if key == "link":
                etree.SubElement(f, qname("u"))
            etree.SubElement(f, qname("sz"), val={"bold12": "12", "bold14": "14"}.get(key, size))
            if key == "link":
                etree.SubElement(f, qname("color"), rgb=f"00{LINK_RGB}")
            for tag in ("name", "family", "charset"):  # schema order: sz, color, name, family, charset
                el = base.find(qname(tag))
                if el is not None:
                    etree.SubElement(f, qname(tag), val=el.get("val", ""))
            self._font_ids[key] = len(self.fonts) - 1
            self.fonts.set("count", str(len(self.fonts)))
        return self._font_ids[key]

    def _append(self, xf: Any) -> int:
        self.xfs.append(xf)
        self.xfs.set("count", str(len(self.xfs)))
        return len(self.xfs) - 1

    def marked(self, old: int, severity_fill: str) -> int:
        """The cell format `old` with the error/warning fill."""
        key = ("mark", old, severity_fill)
        if key not in self._cache:
            if old >= len(self.xfs):
                old = 0
            xf = etree.fromstring(etree.tostring(self.xfs[old]))
            xf.set("fillId", str(self.fill(severity_fill)))
            xf.set("applyFill", "1")
            self._cache[key] = self._append(xf)
        return self._cache[key]

    def summary(self, style: Style, quote: bool) -> int:
        key = ("summary", style, quote)
        if key not in self._cache:
            if style == Style() and not quote:
                self._cache[key] = 0
                return 0
            xf = etree.Element(qname("xf"), numFmtId="0", fontId="0", fillId="0", borderId="0", xfId="0")
            if style.font:
                xf.set("fontId", str(self.font(style.font)))
                xf.set("applyFont", "1")
            if style.fill:
                xf.set("fillId", str(self.fill(style.fill)))
                xf.set("applyFill", "1")
            if quote:
                xf.set("quotePrefix", "1")
            if style.align:
                xf.set("applyAlignment", "1")
                attrs = {
                    "top": {"vertical": "top"},
                    "wrap_top": {"vertical": "top", "wrapText": "1"},
                    "left_wrap_top": {"horizontal": "left", "vertical": "top", "wrapText": "1"},
                    "center": {"horizontal": "center", "vertical": "center"},
                }[style.align]
                etree.SubElement(xf, qname("alignment"), **attrs)
            self._cache[key] = self._append(xf)
        return self._cache[key]


# ---- entry point --------------------------------------------------------------------


def workbook_part(pkg: Package) -> tuple[str, Any, Any]:
    root_rels = pkg.xml("_rels/.rels")
    wb_part = next(
        (
            resolve_target("", r.get("Target", ""))
            for r in root_rels
            if (r.get("Type") or "").endswith("/officeDocument")
        ),
        None,
    )
    if wb_part is None or not pkg.exists(wb_part):
        raise Unsupported("no workbook part")
    wb = pkg.xml(wb_part)
    if etree.QName(wb).namespace != MAIN:
        raise Unsupported("strict OOXML or unknown namespace")
    return wb_part, wb, rels_of(pkg, wb_part)


def worksheet_parts(wb: Any, wb_rels: Any, wb_part: str) -> dict[str, str]:
    targets = {r.get("Id"): r for r in wb_rels}
    out = {}
    sheets = wb.find(qname("sheets"))
    for s in sheets if sheets is not None else []:
        rel = targets.get(s.get(f"{{{DOC_REL}}}id"))
        if rel is not None and rel.get("Type") == REL_WORKSHEET:
            out[s.get("name", "")] = resolve_target(wb_part, rel.get("Target", ""))
    return out


class ContentTypes:
    """[Content_Types].xml: overrides for new parts, the vml default."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def override(self, part: str, content_type: str) -> None:
        name = "/" + part
        for el in self.root:
            if el.get("PartName") == name:
                el.set("ContentType", content_type)
                return
        etree.SubElement(self.root, f"{{{CT_NS}}}Override", PartName=name, ContentType=content_type)

    def ensure_vml_default(self) -> None:
        for el in self.root:
            if local_name(el) == "Default" and (el.get("Extension") or "").lower() == "vml":
                return
        self.root.insert(0, etree.Element(f"{{{CT_NS}}}Default", Extension="vml", ContentType=CT_VML))
