"""Fast feedback copy: annotate the submitter's workbook by editing its XML parts.

In: the received .xlsx (path, never modified), the normalised Findings frame, the
summary layout of 审核结果 (summary_sheet.Layout), the sheet names of the file.
Out: the annotated copy at `out`. Only the parts that must change are rewritten:
styles.xml (two fills, a few cell formats), the sheets holding findings (cell
formats, tab colour, comments + their VML), workbook.xml (+ rels, content types)
for the new first sheet, and any part holding a resident ID (masked). Every other
part — the big 积分台账 sheet usually — is copied byte for byte, so formulas, cached
values, merged cells, validations and formatting survive by construction.

Why not openpyxl: it parses and re-serialises every cell of every sheet (≈ 6 s for a
county's 10,000-row ledger here), while the findings usually touch a few hundred
cells. Raises `Unsupported` for shapes this path does not handle (an old 审核结果
sheet, threaded comments, VML with form controls, strict OOXML, rows or cells
without references); the caller then falls back to the openpyxl path.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from fivestar.feedback.common import (
    FEEDBACK_AUTHOR,
    SUMMARY_SHEET,
    clean_text,
    finding_line,
    mask_ids,
    normalise,
)
from fivestar.feedback.summary_sheet import FILL_RGB, LINK_RGB, Layout, Style, cell_ref, summary_layout
from fivestar.findings import ERROR

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

TAB_ERROR, TAB_WARNING = "FFFF0000", "FFFFC000"
_FORMULA_LEAD = ("=", "+", "-", "@")
# Cheap byte-level hint that a part may hold a resident ID (as text, or as a number ≥ 1e17).
# Full-width digits are 3 UTF-8 bytes; character references (&#65297;) need a parse to see.
_ID_HINT = re.compile(
    rb"(?:[0-9]|\xef\xbc[\x90-\x99]){17}|[0-9][Ee]\+?17\b|&#(?:6529[6-9]|6530[0-5]|[xX][fF][fF]1[0-9]);"
)
_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")
# Children of <worksheet> that must come after <legacyDrawing> (ECMA-376 CT_Worksheet order).
_AFTER_LEGACY = {"legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems"}
_AFTER_LEGACY |= {"tableParts", "extLst"}
# Children of <workbook> that come after <definedNames>.
_AFTER_NAMES = {"calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes"}
_AFTER_NAMES |= {"webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"}
_PARSER = etree.XMLParser(huge_tree=True, remove_blank_text=False, resolve_entities=False, no_network=True)


class Unsupported(Exception):
    """The workbook has a shape this path leaves to openpyxl."""


def _m(tag: str) -> str:
    return f"{{{MAIN}}}{tag}"


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _col_letters(n: int) -> str:
    s = ""
    while n:
        n, rem = divmod(n - 1, 26)
        s = chr(65 + rem) + s
    return s


def _split(ref: str) -> tuple[int, int]:
    m = _REF.match(ref)
    if not m:
        raise Unsupported(f"cell reference {ref!r}")
    return int(m.group(2)), _col_index(m.group(1))


class _Package:
    """The zip's parts, read lazily; edits are kept in memory until `write`."""

    def __init__(self, zin: zipfile.ZipFile) -> None:
        self.zin = zin
        self.names = set(zin.namelist())
        self.changed: dict[str, bytes] = {}

    def read(self, name: str) -> bytes:
        if name in self.changed:
            return self.changed[name]
        return self.zin.read(name)

    def xml(self, name: str) -> Any:
        return etree.fromstring(self.read(name), _PARSER)

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
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
                # [Content_Types].xml first, as Office writes it.
                order = sorted(self.names | set(self.changed), key=lambda n: n != "[Content_Types].xml")
                for name in order:
                    if name in self.changed:
                        zout.writestr(name, self.changed[name])
                    else:
                        info = self.zin.getinfo(name)
                        zout.writestr(info, self.zin.read(name), compress_type=info.compress_type)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)


def _rels_path(part: str) -> str:
    d, base = posixpath.split(part)
    return posixpath.join(d, "_rels", base + ".rels")


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _rels(pkg: _Package, part: str) -> Any:
    path = _rels_path(part)
    if pkg.exists(path):
        return pkg.xml(path)
    return etree.Element(f"{{{PKG_REL}}}Relationships", nsmap={None: PKG_REL})


def _new_rid(rels: Any) -> str:
    used = {r.get("Id") for r in rels}
    i = 1
    while f"rIdFS{i}" in used:
        i += 1
    return f"rIdFS{i}"


def _add_rel(rels: Any, rtype: str, target: str) -> str:
    rid = _new_rid(rels)
    etree.SubElement(rels, f"{{{PKG_REL}}}Relationship", Id=rid, Type=rtype, Target=target)
    return rid


def _rel_target(pkg: _Package, rels: Any, source: str, rtype: str) -> str | None:
    for r in rels:
        if r.get("Type") == rtype and r.get("TargetMode") != "External":
            return _resolve(source, r.get("Target", ""))
    return None


def _unique(pkg: _Package, pattern: str) -> str:
    i = 1
    while pkg.exists(pattern.format(i)):
        i += 1
    return pattern.format(i)


# ---- styles -------------------------------------------------------------------------


class _Styles:
    """Appends fills, fonts and cell formats to styles.xml; indexes of existing ones stay."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.fills = self._section("fills")
        self.fonts = self._section("fonts")
        self.xfs = root.find(_m("cellXfs"))
        if self.xfs is None or len(self.xfs) == 0 or len(self.fonts) == 0:
            raise Unsupported("styles.xml without cell formats")
        self._fill_ids: dict[str, int] = {}
        self._font_ids: dict[str, int] = {}
        self._cache: dict[Any, int] = {}

    def _section(self, name: str) -> Any:
        el = self.root.find(_m(name))
        if el is None:
            raise Unsupported(f"styles.xml without <{name}>")
        return el

    def fill(self, key: str) -> int:
        if key not in self._fill_ids:
            rgb = f"FF{FILL_RGB[key]}"
            f = etree.SubElement(self.fills, _m("fill"))
            p = etree.SubElement(f, _m("patternFill"), patternType="solid")
            etree.SubElement(p, _m("fgColor"), rgb=rgb)
            etree.SubElement(p, _m("bgColor"), rgb=rgb)
            self._fill_ids[key] = len(self.fills) - 1
            self.fills.set("count", str(len(self.fills)))
        return self._fill_ids[key]

    def font(self, key: str) -> int:
        if key not in self._font_ids:
            base = self.fonts[0]
            sz = base.find(_m("sz"))
            size = sz.get("val", "11") if sz is not None else "11"
            f = etree.SubElement(self.fonts, _m("font"))
            if key.startswith("bold"):
                etree.SubElement(f, _m("b"))
            if key == "link":
                etree.SubElement(f, _m("u"))
            etree.SubElement(f, _m("sz"), val={"bold12": "12", "bold14": "14"}.get(key, size))
            if key == "link":
                etree.SubElement(f, _m("color"), rgb=f"FF{LINK_RGB}")
            for tag in ("name", "family", "charset"):  # schema order: sz, color, name, family, charset
                el = base.find(_m(tag))
                if el is not None:
                    etree.SubElement(f, _m(tag), val=el.get("val", ""))
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
            xf = etree.Element(_m("xf"), numFmtId="0", fontId="0", fillId="0", borderId="0", xfId="0")
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
                etree.SubElement(xf, _m("alignment"), **attrs)
            self._cache[key] = self._append(xf)
        return self._cache[key]


# ---- masking resident IDs -------------------------------------------------------------


def _mask_tree(root: Any) -> bool:
    """Mask IDs in text (<t>, formulas, cached text) and in big integers; True if changed."""
    changed = False
    for el in root.iter(_m("t"), _m("f")):
        if el.text and len(el.text) >= 18:
            masked = mask_ids(el.text)
            if masked != el.text:
                el.text, changed = masked, True
    for c in root.iter(_m("c")):
        v = c.find(_m("v"))
        if v is None or not v.text:
            continue
        kind = c.get("t", "n")
        if kind == "str" and len(v.text) >= 18:
            masked = mask_ids(v.text)
            if masked != v.text:
                v.text, changed = masked, True
        elif kind == "n":
            try:
                num = float(v.text)
            except ValueError:
                continue
            if math.isfinite(num) and abs(num) >= 10**17 and num.is_integer():
                digits = str(int(num))
                masked = mask_ids(digits)
                if masked != digits:
                    c.remove(v)
                    c.set("t", "inlineStr")
                    is_ = etree.SubElement(c, _m("is"))
                    etree.SubElement(is_, _m("t")).text = masked
                    changed = True
    return changed


# ---- annotating one sheet -------------------------------------------------------------


def _merged_top_left(root: Any) -> dict[tuple[int, int], tuple[int, int, int, int]]:
    out = {}
    mc = root.find(_m("mergeCells"))
    if mc is None:
        return out
    for m in mc:
        ref = m.get("ref", "")
        if ":" not in ref:
            continue
        a, b = ref.split(":", 1)
        (r1, c1), (r2, c2) = _split(a.replace("$", "")), _split(b.replace("$", ""))
        out[(r1, c1)] = (r1, c1, r2, c2)
    return out


def _top_left(merged: dict, row: int, col: int) -> tuple[int, int]:
    for r1, c1, r2, c2 in merged.values():
        if r1 <= row <= r2 and c1 <= col <= c2:
            return r1, c1
    return row, col


def _cell(sheet_data: Any, rows: dict[int, Any], row: int, col: int) -> Any:
    """The <c> at (row, col), created in order when the file has none there."""
    r_el = rows.get(row)
    if r_el is None:
        r_el = etree.Element(_m("row"), r=str(row))
        after = [r for r in rows if r < row]
        if after:
            rows[max(after)].addnext(r_el)
        else:
            sheet_data.insert(0, r_el)
        rows[row] = r_el
    r_el.attrib.pop("spans", None)  # a hint only; drop it rather than keep it wrong
    ref = f"{_col_letters(col)}{row}"
    prev = None
    for c in r_el.iter(_m("c")):
        cref = c.get("r")
        if cref is None:
            raise Unsupported("cell without a reference")
        ccol = _split(cref)[1]
        if ccol == col:
            return c
        if ccol < col:
            prev = c
        else:
            break
    new = etree.Element(_m("c"), r=ref)
    if prev is not None:
        prev.addnext(new)
    else:
        r_el.insert(0, new)
    return new


def _set_tab(root: Any, rgb: str | None) -> None:
    for view in root.iter(_m("sheetView")):
        view.attrib.pop("tabSelected", None)
    if rgb is None:
        return
    pr = root.find(_m("sheetPr"))
    if pr is None:
        pr = etree.Element(_m("sheetPr"))
        root.insert(0, pr)
    for old in pr.findall(_m("tabColor")):
        pr.remove(old)
    pr.insert(0, etree.Element(_m("tabColor"), rgb=rgb))


def _comment_text(el: Any) -> str:
    return "".join(t.text or "" for t in el.iter(_m("t")))


def _vml(comments: list[tuple[int, int, int, int]], block: int) -> bytes:
    """VML note shapes (Excel shows comments through these): (row, col, width, height), 1-based."""
    shapes = []
    for i, (row, col, width, height) in enumerate(comments, start=1):
        shapes.append(
            f'<v:shape id="_x0000_s{block * 1024 + i}" type="#_x0000_t202" '
            f'style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:{width}px;'
            f'height:{height}px;z-index:{i};visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto">'
            '<v:fill color2="#ffffe1"/><v:shadow color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto">'
            '<div style="text-align:left"/></v:textbox><x:ClientData ObjectType="Note">'
            "<x:MoveWithCells/><x:SizeWithCells/><x:AutoFill>False</x:AutoFill>"
            f"<x:Row>{row - 1}</x:Row><x:Column>{col - 1}</x:Column></x:ClientData></v:shape>"
        )
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
        'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>' + "".join(shapes) + "</xml>"
    ).encode("utf-8")


def _box(text: str) -> tuple[int, int]:
    # Size the box so a few Chinese sentences are readable without resizing (≈ 22 CJK per line).
    lines = sum(max(1, math.ceil(len(line) / 22)) for line in text.split("\n"))
    return 320, min(400, 24 + 16 * lines)


class _Patcher:
    def __init__(self, pkg: _Package) -> None:
        self.pkg = pkg
        self.ct = pkg.xml("[Content_Types].xml")
        self.vml_block = 100  # shape-id blocks of our own, clear of what Excel numbers

    def override(self, part: str, content_type: str) -> None:
        name = "/" + part
        for el in self.ct:
            if el.get("PartName") == name:
                el.set("ContentType", content_type)
                return
        etree.SubElement(self.ct, f"{{{CT_NS}}}Override", PartName=name, ContentType=content_type)

    def ensure_vml_default(self) -> None:
        for el in self.ct:
            if _local(el) == "Default" and (el.get("Extension") or "").lower() == "vml":
                return
        self.ct.insert(0, etree.Element(f"{{{CT_NS}}}Default", Extension="vml", ContentType=CT_VML))

    def annotate_sheet(
        self, part: str, root: Any, marks: dict[str, list[dict]], styles: _Styles, tab: str
    ) -> None:
        sheet_data = root.find(_m("sheetData"))
        if sheet_data is None:
            raise Unsupported("sheet without sheetData")
        rows: dict[int, Any] = {}
        for r in sheet_data:
            if _local(r) != "row":
                continue
            if r.get("r") is None:
                raise Unsupported("row without a reference")
            rows[int(r.get("r"))] = r
        merged = _merged_top_left(root)
        texts: dict[tuple[int, int], str] = {}
        for ref, recs in marks.items():
            row, col = _top_left(merged, *_split(ref))
            c = _cell(sheet_data, rows, row, col)
            fill = "error" if any(r["severity"] == ERROR for r in recs) else "warning"  # red wins
            c.set("s", str(styles.marked(int(c.get("s", "0") or 0), fill)))
            line = "\n".join(finding_line(r) for r in recs)  # already errors-first (normalise)
            texts[(row, col)] = f"{texts[(row, col)]}\n{line}" if (row, col) in texts else line
        _set_tab(root, tab)
        self._comments(part, root, texts)

    def _comments(self, part: str, root: Any, texts: dict[tuple[int, int], str]) -> None:
        pkg = self.pkg
        rels = _rels(pkg, part)
        if any("threadedComment" in (r.get("Type") or "") for r in rels):
            raise Unsupported("threaded comments")
        comments_part = _rel_target(pkg, rels, part, REL_COMMENTS)
        legacy = root.find(_m("legacyDrawing"))
        vml_part = None
        if legacy is not None:
            rid = legacy.get(f"{{{DOC_REL}}}id")
            for r in rels:
                if r.get("Id") == rid:
                    vml_part = _resolve(part, r.get("Target", ""))
            if vml_part is None or not pkg.exists(vml_part):
                raise Unsupported("legacy drawing without its part")
            kinds = set(re.findall(rb'ObjectType="([^"]*)"', pkg.read(vml_part)))
            if kinds - {b"Note"}:
                raise Unsupported("VML with shapes other than notes")

        # Existing notes are kept; on a marked cell ours comes first, theirs below.
        authors = [FEEDBACK_AUTHOR]
        entries: dict[tuple[int, int], tuple[int, str | Any]] = {}
        if comments_part is not None:
            old = pkg.xml(comments_part)
            old_authors = [a.text or "" for a in old.iter(_m("author"))]
            if FEEDBACK_AUTHOR in old_authors:
                raise Unsupported("stale annotations of an earlier feedback copy")
            authors += old_authors
            for cm in old.iter(_m("comment")):
                pos = _split(cm.get("ref", "").replace("$", ""))
                entries[pos] = (int(cm.get("authorId", "0")) + 1, cm.find(_m("text")))
        for pos, text in texts.items():
            if pos in entries:
                text += "\n——原批注——\n" + clean_text(_comment_text(entries[pos][1]))
            entries[pos] = (0, text)

        body = []
        shapes = []
        for (row, col), (author, text) in sorted(entries.items()):
            ref = f"{_col_letters(col)}{row}"
            if isinstance(text, str):
                xml = f'<text><t xml:space="preserve">{escape(text)}</t></text>'
                w, h = _box(text)
            else:
                xml = etree.tostring(text, encoding="unicode") if text is not None else "<text/>"
                w, h = 144, 80
            body.append(f'<comment ref="{ref}" authorId="{author}">{xml}</comment>')
            shapes.append((row, col, w, h))
        doc = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}"><authors>'
            + "".join(f"<author>{escape(a)}</author>" for a in authors)
            + "</authors><commentList>"
            + "".join(body)
            + "</commentList></comments>"
        )
        # Re-parse: the kept <text> elements carry the main namespace declaration with them.
        doc_el = etree.fromstring(doc.encode("utf-8"), _PARSER)
        self.vml_block += 1
        if comments_part is None:
            comments_part = _unique(pkg, "xl/comments_fs{}.xml")
            _add_rel(rels, REL_COMMENTS, posixpath.relpath(comments_part, posixpath.dirname(part)))
            self.override(comments_part, CT_COMMENTS)
        if vml_part is None:
            vml_part = _unique(pkg, "xl/drawings/vmlDrawing_fs{}.vml")
            rid = _add_rel(rels, REL_VML, posixpath.relpath(vml_part, posixpath.dirname(part)))
            self.ensure_vml_default()
            legacy = etree.Element(_m("legacyDrawing"))
            legacy.set(f"{{{DOC_REL}}}id", rid)
            after = [ch for ch in root if _local(ch) in _AFTER_LEGACY]
            if after:
                after[0].addprevious(legacy)
            else:
                root.append(legacy)
        pkg.put(comments_part, doc_el)
        pkg.put(vml_part, _vml(shapes, self.vml_block))
        pkg.put(_rels_path(part), rels)


# ---- the 审核结果 sheet as XML ---------------------------------------------------------


def _summary_xml(lay: Layout, styles: _Styles) -> bytes:
    by_row: dict[int, list[tuple[int, Any, Style]]] = defaultdict(list)
    for (r, c), (value, style) in lay.cells.items():
        by_row[r].append((c, value, style))
    max_row = max(by_row) if by_row else 1
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        f'<worksheet xmlns="{MAIN}" xmlns:r="{DOC_REL}">',
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
        f'<dimension ref="A1:I{max_row}"/>',
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0">',
        f'<pane ySplit="{lay.freeze_row - 1}" topLeftCell="A{lay.freeze_row}" activePane="bottomLeft" '
        'state="frozen"/>',
        f'<selection pane="bottomLeft" activeCell="A{lay.freeze_row}" sqref="A{lay.freeze_row}"/>',
        "</sheetView></sheetViews>",
        '<sheetFormatPr defaultRowHeight="15"/>',
        "<cols>",
    ]
    out += [f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>' for c, w in sorted(lay.widths.items())]
    out.append("</cols><sheetData>")
    for r in sorted(by_row):
        ht = f' ht="{lay.heights[r]}" customHeight="1"' if r in lay.heights else ""
        out.append(f'<row r="{r}"{ht}>')
        for c, value, style in sorted(by_row[r], key=lambda x: x[0]):
            ref = f"{_col_letters(c)}{r}"
            quote = isinstance(value, str) and value.startswith(_FORMULA_LEAD)
            s = styles.summary(style, quote)
            sattr = f' s="{s}"' if s else ""
            if value is None or value == "":
                out.append(f'<c r="{ref}"{sattr}/>')
            elif isinstance(value, bool):
                out.append(f'<c r="{ref}"{sattr} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                out.append(f'<c r="{ref}"{sattr}><v>{value!r}</v></c>')
            else:
                text = escape(str(value))
                out.append(
                    f'<c r="{ref}"{sattr} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                )
        out.append("</row>")
    out.append("</sheetData>")
    if lay.auto_filter:
        out.append(f'<autoFilter ref="{lay.auto_filter}"/>')
    if lay.merges:
        out.append(f'<mergeCells count="{len(lay.merges)}">')
        out += [f'<mergeCell ref="{m}"/>' for m in lay.merges]
        out.append("</mergeCells>")
    if lay.links:
        out.append("<hyperlinks>")
        for (r, c), target in sorted(lay.links.items()):
            out.append(f'<hyperlink ref="{_col_letters(c)}{r}" location={quoteattr(target)}/>')
        out.append("</hyperlinks>")
    out.append('<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>')
    out.append('<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>')
    out.append("</worksheet>")
    return "".join(out).encode("utf-8")


def _add_summary_sheet(patcher: _Patcher, wb: Any, wb_rels: Any, lay: Layout, styles: _Styles) -> None:
    pkg = patcher.pkg
    part = _unique(pkg, "xl/worksheets/sheet_fs{}.xml")
    pkg.put(part, _summary_xml(lay, styles))
    patcher.override(part, CT_WORKSHEET)
    rid = _add_rel(wb_rels, REL_WORKSHEET, posixpath.relpath(part, "xl"))
    sheets = wb.find(_m("sheets"))
    ids = [int(s.get("sheetId", "0")) for s in sheets]
    new = etree.Element(_m("sheet"), name=SUMMARY_SHEET, sheetId=str(max(ids, default=0) + 1))
    new.set(f"{{{DOC_REL}}}id", rid)
    sheets.insert(0, new)

    # Sheet-scoped names follow their sheet, which is now one position further.
    names = wb.find(_m("definedNames"))
    if names is None:
        names = etree.Element(_m("definedNames"))
        after = [ch for ch in wb if _local(ch) in _AFTER_NAMES]
        if after:
            after[0].addprevious(names)
        else:
            wb.append(names)
    for dn in names:
        if dn.get("localSheetId") is not None:
            dn.set("localSheetId", str(int(dn.get("localSheetId")) + 1))
    quoted = "'" + SUMMARY_SHEET + "'"
    pt = etree.SubElement(names, _m("definedName"), name="_xlnm.Print_Titles", localSheetId="0")
    pt.text = f"{quoted}!${lay.print_title_row}:${lay.print_title_row}"
    if lay.auto_filter:
        a, b = lay.auto_filter.split(":")
        (r1, c1), (r2, c2) = _split(a), _split(b)
        fd = etree.SubElement(names, _m("definedName"), name="_xlnm._FilterDatabase", localSheetId="0")
        fd.set("hidden", "1")
        fd.text = f"{quoted}!${_col_letters(c1)}${r1}:${_col_letters(c2)}${r2}"

    views = wb.find(_m("bookViews"))
    if views is None:
        views = etree.Element(_m("bookViews"))
        sheets.addprevious(views)
        etree.SubElement(views, _m("workbookView"))
    for view in views:
        view.set("activeTab", "0")
        view.set("firstSheet", "0")


# ---- entry point --------------------------------------------------------------------


def _workbook(pkg: _Package) -> tuple[str, Any, Any]:
    root_rels = pkg.xml("_rels/.rels")
    wb_part = next(
        (
            _resolve("", r.get("Target", ""))
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
    return wb_part, wb, _rels(pkg, wb_part)


def _worksheets(wb: Any, wb_rels: Any, wb_part: str) -> dict[str, str]:
    targets = {r.get("Id"): r for r in wb_rels}
    out = {}
    sheets = wb.find(_m("sheets"))
    for s in sheets if sheets is not None else []:
        rel = targets.get(s.get(f"{{{DOC_REL}}}id"))
        if rel is not None and rel.get("Type") == REL_WORKSHEET:
            out[s.get("name", "")] = _resolve(wb_part, rel.get("Target", ""))
    return out


def write_patched_copy(
    original: Path, out: Path, findings: Any, explanations: Any, meta: dict, note: str
) -> None:
    """Annotated copy of `original` at `out` (see the module docstring). Raises Unsupported."""
    with zipfile.ZipFile(original) as zin:
        pkg = _Package(zin)
        wb_part, wb, wb_rels = _workbook(pkg)
        all_names = [s.get("name", "") for s in wb.find(_m("sheets"))]
        if SUMMARY_SHEET in all_names:
            raise Unsupported("an earlier 审核结果 sheet")
        sheets = _worksheets(wb, wb_rels, wb_part)
        df = normalise(findings, all_names)
        styles_part = _rel_target(pkg, wb_rels, wb_part, REL_STYLES)
        if styles_part is None or not pkg.exists(styles_part):
            raise Unsupported("no styles part")
        styles = _Styles(pkg.xml(styles_part))
        patcher = _Patcher(pkg)

        marks: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
        sheet_severity: dict[str, set[str]] = defaultdict(set)
        for rec in df.to_dict("records"):
            sheet = rec["sheet"]
            if sheet in sheets:
                sheet_severity[sheet].add(rec["severity"])
                ref = cell_ref(rec["cell"])
                if ref:
                    marks[sheet][ref].append(rec)

        shared = _rel_target(pkg, wb_rels, wb_part, REL_SHARED)
        if shared and pkg.exists(shared) and _ID_HINT.search(pkg.read(shared)):
            tree = pkg.xml(shared)
            if _mask_tree(tree):
                pkg.put(shared, tree)

        for name, part in sheets.items():
            data = pkg.read(part)
            touched = name in sheet_severity
            hinted = bool(_ID_HINT.search(data))
            if touched or hinted:
                root = etree.fromstring(data, _PARSER)
                changed = _mask_tree(root) if hinted else False
                if touched:
                    tab = TAB_ERROR if ERROR in sheet_severity[name] else TAB_WARNING
                    patcher.annotate_sheet(part, root, marks.get(name, {}), styles, tab)
                    changed = True
                else:
                    _set_tab(root, None)
                    changed = True
                if changed:
                    pkg.put(part, root)
            else:
                # Only ours may be the selected tab (several would open as a group).
                head = data[: data.find(b"<sheetData") if b"<sheetData" in data else len(data)]
                if b"tabSelected" in head:
                    pkg.put(part, re.sub(rb'\s+tabSelected="[^"]*"', b"", head, count=4) + data[len(head) :])

        for part in list(pkg.names):
            # Existing notes may quote an ID as well.
            note = part.startswith("xl/comments") and part.endswith(".xml") and part not in pkg.changed
            if note and _ID_HINT.search(pkg.read(part)):
                tree = pkg.xml(part)
                if _mask_tree(tree):
                    pkg.put(part, tree)

        lay = summary_layout(df, explanations, meta, note=note, link_sheets=set(sheets))
        _add_summary_sheet(patcher, wb, wb_rels, lay, styles)
        pkg.put(styles_part, styles.root)
        pkg.put(wb_part, wb)
        pkg.put(_rels_path(wb_part), wb_rels)
        pkg.put("[Content_Types].xml", patcher.ct)
        pkg.write(Path(out))
