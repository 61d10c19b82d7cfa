"""The 审核结果 sheet as raw sheet XML, added to a patched copy or as a workbook of its own.

In: a summary_sheet.Layout (and, for a copy, the package being patched).
Out: the sheet part (inline strings, so sharedStrings.xml is never touched), its
workbook entry as the first, selected sheet, print titles and filter names; or a
small stand-alone workbook holding only that sheet (no openpyxl round trip).
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from lxml import etree
from openpyxl.utils.cell import get_column_letter

from fivestar.feedback.common import SUMMARY_SHEET
from fivestar.feedback.summary_sheet import Layout, Style
from fivestar.feedback.xlsx_parts import (
    AFTER_NAMES,
    CT_WORKSHEET,
    DOC_REL,
    FORMULA_LEAD,
    MAIN,
    REL_WORKSHEET,
    ContentTypes,
    Package,
    Styles,
    add_rel,
    local_name,
    qname,
    split_part_path,
    unique_name,
)

# ---- the 审核结果 sheet as XML ---------------------------------------------------------


def _summary_xml(lay: Layout, styles: Styles) -> bytes:
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
            ref = f"{get_column_letter(c)}{r}"
            quote = isinstance(value, str) and value.startswith(FORMULA_LEAD)
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
            out.append(f'<hyperlink ref="{get_column_letter(c)}{r}" location={quoteattr(target)}/>')
        out.append("</hyperlinks>")
    out.append('<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>')
    out.append('<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>')
    out.append("</worksheet>")
    return "".join(out).encode("utf-8")


def add_summary_sheet(
    ct: ContentTypes, pkg: Package, wb: Any, wb_rels: Any, lay: Layout, styles: Styles
) -> None:
    part = unique_name(pkg, "xl/worksheets/sheet_fs{}.xml")
    pkg.put(part, _summary_xml(lay, styles))
    ct.override(part, CT_WORKSHEET)
    rid = add_rel(wb_rels, REL_WORKSHEET, posixpath.relpath(part, "xl"))
    sheets = wb.find(qname("sheets"))
    ids = [int(s.get("sheetId", "0")) for s in sheets]
    new = etree.Element(qname("sheet"), name=SUMMARY_SHEET, sheetId=str(max(ids, default=0) + 1))
    new.set(f"{{{DOC_REL}}}id", rid)
    sheets.insert(0, new)

    # Sheet-scoped names follow their sheet, which is now one position further.
    names = wb.find(qname("definedNames"))
    if names is None:
        names = etree.Element(qname("definedNames"))
        after = [ch for ch in wb if local_name(ch) in AFTER_NAMES]
        if after:
            after[0].addprevious(names)
        else:
            wb.append(names)
    for dn in names:
        if dn.get("localSheetId") is not None:
            dn.set("localSheetId", str(int(dn.get("localSheetId")) + 1))
    quoted = "'" + SUMMARY_SHEET + "'"
    pt = etree.SubElement(names, qname("definedName"), name="_xlnm.Print_Titles", localSheetId="0")
    pt.text = f"{quoted}!${lay.print_title_row}:${lay.print_title_row}"
    if lay.auto_filter:
        a, b = lay.auto_filter.split(":")
        (r1, c1), (r2, c2) = split_part_path(a), split_part_path(b)
        fd = etree.SubElement(names, qname("definedName"), name="_xlnm._FilterDatabase", localSheetId="0")
        fd.set("hidden", "1")
        fd.text = f"{quoted}!${get_column_letter(c1)}${r1}:${get_column_letter(c2)}${r2}"

    views = wb.find(qname("bookViews"))
    if views is None:
        views = etree.Element(qname("bookViews"))
        sheets.addprevious(views)
        etree.SubElement(views, qname("workbookView"))
    for view in views:
        view.set("activeTab", "0")
        view.set("firstSheet", "0")


# A workbook with no sheets yet: the least Excel, WPS and LibreOffice accept, plus one
# default font/fill/border/format for _Styles to extend.
_EMPTY = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_REL}"><bookViews><workbookView/></bookViews>'
        "<sheets/></workbook>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Target="styles.xml" Type="{DOC_REL}/styles"/></Relationships>'
    ),
    "xl/styles.xml": (
        f'<styleSheet xmlns="{MAIN}">'
        '<fonts count="1"><font><sz val="11"/><name val="等线"/><family val="2"/><charset val="134"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def write_summary_workbook(out: Path, lay: Layout) -> Path:
    """A workbook holding only the 审核结果 sheet of `lay`, written to `out`."""
    pkg = Package(None)
    for name, xml in _EMPTY.items():
        pkg.put(name, etree.fromstring(xml.encode("utf-8")))
    ct = ContentTypes(pkg.xml("[Content_Types].xml"))
    wb, wb_rels = pkg.xml("xl/workbook.xml"), pkg.xml("xl/_rels/workbook.xml.rels")
    styles = Styles(pkg.xml("xl/styles.xml"))
    add_summary_sheet(ct, pkg, wb, wb_rels, lay, styles)
    for name, el in (
        ("xl/workbook.xml", wb),
        ("xl/_rels/workbook.xml.rels", wb_rels),
        ("xl/styles.xml", styles.root),
        ("[Content_Types].xml", ct.root),
    ):
        pkg.put(name, el)
    pkg.write(out)
    return out
