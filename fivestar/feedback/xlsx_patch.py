"""Fast feedback copy: annotate the submitter's workbook by editing its XML parts.

In: the received .xlsx (path, never modified), its Findings frame, the 情况说明 rows,
the status/county/period and the note for 审核结果. Out: the annotated copy at `out`.
Only the parts that must change are rewritten: styles.xml (two fills, a few cell
formats), the sheets holding findings (cell formats, tab colour, comments + their
VML), workbook.xml (+ rels, content types) for the new first sheet, and any part
holding a resident ID (masked by fivestar.feedback.xlsx_mask, the last pass). Every
other part — the big 积分台账 sheet usually — is copied as is, so formulas, cached
values, merged cells, validations and formatting survive by construction.

Why not openpyxl: it parses and re-serialises every cell of every sheet (≈ 6 s for a
county's 10,000-row ledger here), while findings usually touch a few hundred cells.
Raises `Unsupported` for shapes this path does not handle (an old 审核结果 sheet,
threaded comments, VML with form controls, strict OOXML, rows or cells without
references); the caller then falls back to the openpyxl path.
"""

from __future__ import annotations

import math
import posixpath
import re
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree
from openpyxl.utils.cell import get_column_letter

from fivestar.feedback.common import (
    FEEDBACK_AUTHOR,
    SUMMARY_SHEET,
    clean_text,
    finding_line,
    marks_by_cell,
    normalise,
)
from fivestar.feedback.summary_sheet import summary_layout
from fivestar.feedback.xlsx_mask import mask_package
from fivestar.feedback.xlsx_parts import (
    AFTER_LEGACY,
    CT_COMMENTS,
    DOC_REL,
    MAIN,
    REL_COMMENTS,
    REL_STYLES,
    REL_VML,
    XML_PARSER,
    ContentTypes,
    Package,
    Styles,
    Unsupported,
    add_rel,
    local_name,
    qname,
    rel_target,
    rels_of,
    rels_path_of,
    resolve_target,
    split_part_path,
    unique_name,
    workbook_part,
    worksheet_parts,
)
from fivestar.feedback.xlsx_summary import add_summary_sheet
from fivestar.findings import ERROR

__all__ = ["Unsupported", "write_patched_copy"]

TAB_ERROR, TAB_WARNING = "00FF0000", "00FFC000"  # as openpyxl writes them

# ---- annotating one sheet -------------------------------------------------------------


def _merged_top_left(root: Any) -> dict[tuple[int, int], tuple[int, int, int, int]]:
    out = {}
    mc = root.find(qname("mergeCells"))
    if mc is None:
        return out
    for m in mc:
        ref = m.get("ref", "")
        if ":" not in ref:
            continue
        a, b = ref.split(":", 1)
        (r1, c1), (r2, c2) = split_part_path(a.replace("$", "")), split_part_path(b.replace("$", ""))
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
        r_el = etree.Element(qname("row"), r=str(row))
        after = [r for r in rows if r < row]
        if after:
            rows[max(after)].addnext(r_el)
        else:
            sheet_data.insert(0, r_el)
        rows[row] = r_el
    r_el.attrib.pop("spans", None)  # a hint only; drop it rather than keep it wrong
    ref = f"{get_column_letter(col)}{row}"
    prev = None
    for c in r_el.iter(qname("c")):
        cref = c.get("r")
        if cref is None:
            raise Unsupported("cell without a reference")
        ccol = split_part_path(cref)[1]
        if ccol == col:
            return c
        if ccol < col:
            prev = c
        else:
            break
    new = etree.Element(qname("c"), r=ref)
    if prev is not None:
        prev.addnext(new)
    else:
        r_el.insert(0, new)
    return new


def _set_tab(root: Any, rgb: str | None) -> None:
    views = root.find(qname("sheetViews"))  # not root.iter(): that walks every cell
    for view in views.iterchildren(qname("sheetView")) if views is not None else ():
        view.attrib.pop("tabSelected", None)
    if rgb is None:
        return
    pr = root.find(qname("sheetPr"))
    if pr is None:
        pr = etree.Element(qname("sheetPr"))
        root.insert(0, pr)
    for old in pr.findall(qname("tabColor")):
        pr.remove(old)
    pr.insert(0, etree.Element(qname("tabColor"), rgb=rgb))


def _comment_text(el: Any) -> str:
    return "".join(t.text or "" for t in el.iter(qname("t")))


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
    def __init__(self, pkg: Package) -> None:
        self.pkg = pkg
        self.ct = ContentTypes(pkg.xml("[Content_Types].xml"))
        self.vml_block = 100  # shape-id blocks of our own, clear of what Excel numbers

    def annotate_sheet(
        self, part: str, root: Any, marks: dict[str, list[dict]], styles: Styles, tab: str
    ) -> None:
        sheet_data = root.find(qname("sheetData"))
        if sheet_data is None:
            raise Unsupported("sheet without sheetData")
        rows: dict[int, Any] = {}
        for r in sheet_data.iterchildren(qname("row")):
            ref = r.get("r")
            if ref is None:
                raise Unsupported("row without a reference")
            rows[int(ref)] = r
        merged = _merged_top_left(root)
        texts: dict[tuple[int, int], str] = {}
        for ref, recs in marks.items():
            row, col = _top_left(merged, *split_part_path(ref))
            c = _cell(sheet_data, rows, row, col)
            fill = "error" if any(r["severity"] == ERROR for r in recs) else "warning"  # red wins
            c.set("s", str(styles.marked(int(c.get("s", "0") or 0), fill)))
            line = "\n".join(finding_line(r) for r in recs)  # already errors-first (normalise)
            texts[(row, col)] = f"{texts[(row, col)]}\n{line}" if (row, col) in texts else line
        _set_tab(root, tab)
        self._comments(part, root, texts)

    def _comments(self, part: str, root: Any, texts: dict[tuple[int, int], str]) -> None:
        pkg = self.pkg
        rels = rels_of(pkg, part)
        if any("threadedComment" in (r.get("Type") or "") for r in rels):
            raise Unsupported("threaded comments")
        comments_part = rel_target(pkg, rels, part, REL_COMMENTS)
        legacy = root.find(qname("legacyDrawing"))
        vml_part = None
        if legacy is not None:
            rid = legacy.get(f"{{{DOC_REL}}}id")
            for r in rels:
                if r.get("Id") == rid:
                    vml_part = resolve_target(part, r.get("Target", ""))
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
            old_authors = [a.text or "" for a in old.iter(qname("author"))]
            if FEEDBACK_AUTHOR in old_authors:
                raise Unsupported("stale annotations of an earlier feedback copy")
            authors += old_authors
            for cm in old.iter(qname("comment")):
                pos = split_part_path(cm.get("ref", "").replace("$", ""))
                entries[pos] = (int(cm.get("authorId", "0")) + 1, cm.find(qname("text")))
        for pos, text in texts.items():
            if pos in entries:
                text += "\n——原批注——\n" + clean_text(_comment_text(entries[pos][1]))
            entries[pos] = (0, text)

        body = []
        shapes = []
        for (row, col), (author, text) in sorted(entries.items()):
            ref = f"{get_column_letter(col)}{row}"
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
        doc_el = etree.fromstring(doc.encode("utf-8"), XML_PARSER)
        self.vml_block += 1
        if comments_part is None:
            comments_part = unique_name(pkg, "xl/comments_fs{}.xml")
            add_rel(rels, REL_COMMENTS, posixpath.relpath(comments_part, posixpath.dirname(part)))
            self.ct.override(comments_part, CT_COMMENTS)
        if vml_part is None:
            vml_part = unique_name(pkg, "xl/drawings/vmlDrawing_fs{}.vml")
            rid = add_rel(rels, REL_VML, posixpath.relpath(vml_part, posixpath.dirname(part)))
            self.ct.ensure_vml_default()
            legacy = etree.Element(qname("legacyDrawing"))
            legacy.set(f"{{{DOC_REL}}}id", rid)
            after = [ch for ch in root if local_name(ch) in AFTER_LEGACY]
            if after:
                after[0].addprevious(legacy)
            else:
                root.append(legacy)
        pkg.put(comments_part, doc_el)
        pkg.put(vml_part, _vml(shapes, self.vml_block))
        pkg.put(rels_path_of(part), rels)


def write_patched_copy(
    original: Path, out: Path, findings: Any, explanations: Any, meta: dict, note: str
) -> None:
    """Annotated copy of `original` at `out` (see the module docstring). Raises Unsupported."""
    with zipfile.ZipFile(original) as zin:
        pkg = Package(zin)
        wb_part, wb, wb_rels = workbook_part(pkg)
        all_names = [s.get("name", "") for s in wb.find(qname("sheets"))]
        if SUMMARY_SHEET in all_names:
            raise Unsupported("an earlier 审核结果 sheet")
        sheets = worksheet_parts(wb, wb_rels, wb_part)
        df = normalise(findings, all_names)
        styles_part = rel_target(pkg, wb_rels, wb_part, REL_STYLES)
        if styles_part is None or not pkg.exists(styles_part):
            raise Unsupported("no styles part")
        styles = Styles(pkg.xml(styles_part))
        patcher = _Patcher(pkg)

        by_cell, sheet_severity = marks_by_cell(df, sheets)
        marks: dict[str, dict[str, list[dict]]] = defaultdict(dict)
        for (sheet, ref), recs in by_cell.items():
            marks[sheet][ref] = recs

        for name, part in sheets.items():
            data = pkg.read(part)
            if name in sheet_severity:
                root = etree.fromstring(data, XML_PARSER)
                tab = TAB_ERROR if ERROR in sheet_severity[name] else TAB_WARNING
                patcher.annotate_sheet(part, root, marks.get(name, {}), styles, tab)
                pkg.put(part, root)
            else:
                # Only ours may be the selected tab (several would open as a group).
                head = data[: data.find(b"<sheetData") if b"<sheetData" in data else len(data)]
                if b"tabSelected" in head:
                    pkg.put(part, re.sub(rb'\s+tabSelected="[^"]*"', b"", head, count=4) + data[len(head) :])

        lay = summary_layout(df, explanations, meta, note=note, link_sheets=set(sheets))
        add_summary_sheet(patcher.ct, pkg, wb, wb_rels, lay, styles)
        pkg.put(styles_part, styles.root)
        pkg.put(wb_part, wb)
        pkg.put(rels_path_of(wb_part), wb_rels)
        pkg.put("[Content_Types].xml", patcher.ct.root)
        # Every text-bearing part, ours and theirs (cells, notes, names, properties…).
        mask_package(pkg)
        pkg.write(Path(out))
