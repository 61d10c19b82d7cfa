"""Hostile workbooks against the reader, and readers that die.

In: a good county workbook (tests/wbfactory.py) rewritten in-test: one sheet part moved
to another name (xl/cover.xml, xl/worksheets/sheet1.dat, an absolute or upper-case
target) and/or given a far cell written in one of the forms the reader accepts (lower
case, single quotes, odd blanks, a prefix, no reference at all...). Out:
- the container check's bound of the reader's grid is never below what python-calamine
  actually allocates (checked on moderate cells it can afford to read), and a cell at
  XFD1048576 anywhere the reader looks rejects the file as too large, before reading;
- through read_many: the hostile file is that county's problem (whole-file error, the
  Chinese message for the submitter), the other counties read normally;
- a reader process killed mid-read (SIGKILL of its pid) is noticed at once: that file is
  rejected with a clear message, its worker replaced, the remaining files read.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import python_calamine as pc

import wbfactory as W
from fivestar.config import Limits, Rulebook
from fivestar.ingest import sheet_guard
from fivestar.ingest.files import read_file, reader_state, unread_file
from fivestar.ingest.read import FILE_MESSAGES, ParsedWorkbook
from fivestar.ingest.xlsx_meta import check_container
from fivestar.runtime.local import LocalExecutor

COUNTY = "410522"
PERIOD = "2026-11"
SHEET = "否决事项"  # the sheet moved and given the far cell (its part: xl/worksheets/sheet6.xml)
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def good_workbook(folder: Path, rb: Rulebook, county: str = COUNTY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return W.write_workbook(folder / f"{county}_县.xlsx", rb, county, "县", PERIOD, W.branches(county))


def rewrite(
    src: Path,
    dst: Path,
    *,
    cells: str = "",
    part: str | None = None,
    target: str | None = None,
    edit: Callable[[str], str] | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """`src` with the sheet SHEET's XML given `cells` (appended to its sheetData) or `edit`,
    stored under `part` and pointed at by the workbook's relationship `target`."""
    with zipfile.ZipFile(src) as zin:
        old = _sheet_part(zin)
        xml = zin.read(old).decode()
        xml = xml.replace("</sheetData>", cells + "</sheetData>") if cells else xml
        xml = edit(xml) if edit else xml
        part = part or old
        rels = zin.read("xl/_rels/workbook.xml.rels").decode()
        rels = rels.replace(f'Target="/{old}"', f'Target="{target or "/" + part}"')
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                if info.filename == old:
                    continue
                data = rels.encode() if info.filename == "xl/_rels/workbook.xml.rels" else zin.read(info)
                zout.writestr(info.filename, data)
            zout.writestr(part, xml.encode())
            for name, data in (extra or {}).items():
                zout.writestr(name, data)
    return dst


def _sheet_part(zf: zipfile.ZipFile) -> str:
    wb = zf.read("xl/workbook.xml").decode()
    rid = re.search(rf'name="{SHEET}"[^>]*r:id="([^"]+)"', wb).group(1)  # type: ignore[union-attr]
    rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    return re.search(rf'Target="/?([^"]+)" Id="{rid}"', rels).group(1)  # type: ignore[union-attr]


# Ways of writing a cell at (row, column letters) that python-calamine reads there.
def plain(r: int, c: str) -> str:
    return f'<row r="{r}"><c r="{c}{r}"><v>1</v></c></row>'


def lower_case(r: int, c: str) -> str:
    return f'<row r="{r}"><c r="{c.lower()}{r}"><v>1</v></c></row>'


def single_quotes(r: int, c: str) -> str:
    return f"<row r='{r}'><c r='{c}{r}'><v>1</v></c></row>"


def tab_and_blanks(r: int, c: str) -> str:
    return f'<row\tr = "{r}"><c\tr = "{c}{r}"\n><v>1</v></c></row>'


def glued_attribute(r: int, c: str) -> str:
    return f'<row r="{r}"><c s="0"r="{c}{r}"><v>1</v></c></row>'


def prefixed(r: int, c: str) -> str:
    return f'<x:row xmlns:x="{MAIN_NS}" r="{r}"><x:c r="{c}{r}"><x:v>1</x:v></x:c></x:row>'


def no_reference(r: int, c: str) -> str:
    """Cells without a reference take the next column: as many as the column number."""
    n = sheet_guard.column_number(c.encode())
    return f'<row r="{r}">' + "<c><v>1</v></c>" * n + "</row>"


def counted_rows(r: int, c: str) -> str:
    """Rows without a reference count on from the last one: the far row by counting."""
    return "<row/>" * (r - 10) + plain(r, c).replace(f' r="{r}"', "", 1)


def after_a_quoting_comment(r: int, c: str) -> str:
    """A comment holding an open quote must not hide the cells after it."""
    return '<!-- <c r=" -->' + no_reference(r, c)


TRICKS = [
    plain,
    lower_case,
    single_quotes,
    tab_and_blanks,
    glued_attribute,
    prefixed,
    no_reference,
    counted_rows,
    after_a_quoting_comment,
]


def reader_extent(path: Path) -> tuple[int, int]:
    book = pc.CalamineWorkbook.from_path(str(path))
    try:
        sheet = book.get_sheet_by_name(SHEET)
        return (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)
    finally:
        book.close()


def guard_extent(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as zf:
        bounds = [sheet_guard.used_extent(zf, info, exact=True) for info in sheet_guard.sheet_parts(zf)]
    return max(r for r, _ in bounds), max(c for _, c in bounds)


@pytest.mark.parametrize("trick", TRICKS, ids=lambda t: t.__name__)
@pytest.mark.parametrize(
    ("part", "target"),
    [
        (None, None),
        ("xl/cover.xml", "/xl/cover.xml"),
        ("xl/worksheets/sheet1.dat", "worksheets/sheet1.dat"),
        ("XL/Cover.XML", "cover.xml"),
    ],
    ids=["sheet-part", "cover-xml-absolute", "dat-relative", "upper-case"],
)
def test_the_guard_bound_is_never_below_what_the_reader_allocates(
    tmp_path: Path, rulebook: Rulebook, trick: Callable[[int, str], str], part: str | None, target: str | None
) -> None:
    """On a cell the reader can afford (row 3,000, column AD), the reader really goes
    there (the trick works), and the guard's bound covers it."""
    path = rewrite(
        good_workbook(tmp_path, rulebook),
        tmp_path / "odd.xlsx",
        cells=trick(3000, "AD"),
        part=part,
        target=target,
    )
    rows, cols = reader_extent(path)
    assert (rows, cols) == (3000, 30)
    g_rows, g_cols = guard_extent(path)
    assert g_rows >= rows and g_cols >= cols


@pytest.mark.parametrize("trick", TRICKS, ids=lambda t: t.__name__)
def test_the_bound_does_not_depend_on_where_the_part_is_cut_for_scanning(
    tmp_path: Path, rulebook: Rulebook, trick: Callable[[int, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The part is scanned in chunks; with 5-byte chunks every tag is cut somewhere."""
    path = rewrite(good_workbook(tmp_path, rulebook), tmp_path / "odd.xlsx", cells=trick(3000, "AD"))
    whole = guard_extent(path)
    monkeypatch.setattr(sheet_guard, "_SCAN_CHUNK", 5)
    assert guard_extent(path) == whole


@pytest.mark.parametrize("trick", TRICKS, ids=lambda t: t.__name__)
@pytest.mark.parametrize(
    ("part", "target"),
    [(None, None), ("xl/cover.xml", "/xl/cover.xml"), ("xl/worksheets/sheet1.dat", "worksheets/sheet1.dat")],
    ids=["sheet-part", "cover-xml", "sheet1-dat"],
)
def test_a_far_cell_anywhere_the_reader_looks_is_refused_before_reading(
    tmp_path: Path, rulebook: Rulebook, trick: Callable[[int, str], str], part: str | None, target: str | None
) -> None:
    far = (
        trick(1_048_576, "XFD")
        if trick not in (no_reference, counted_rows, after_a_quoting_comment)
        else trick(50_000, "BXH")
    )
    path = rewrite(
        good_workbook(tmp_path, rulebook), tmp_path / "far.xlsx", cells=far, part=part, target=target
    )
    problem = check_container(path, Limits())
    assert problem is not None and problem.code == "too_large", problem


@pytest.mark.parametrize(
    "edit",
    [
        lambda x: x.replace(
            "</sheetData>", '<row r="12345678"><c r="A12345678"><v>1</v></c></row></sheetData>'
        ),
        lambda x: x.replace("</sheetData>", '<row r="2"><c r="ZZZZZ2"><v>1</v></c></row></sheetData>'),
        lambda x: re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', x),
        lambda x: x.replace(
            "</sheetData>", '<row r="3"><c r="A3" r="XFD1048576"><v>1</v></c></row></sheetData>'
        ),
        lambda x: x.replace(
            "</sheetData>", "<row r='3'><c r='XFD1048576'><v>1</v></x></c></row></sheetData>"
        ),
        lambda x: x.replace(
            "</sheetData>",
            '<row r="3"><c>1</c><!-- </row> --><c r="xfd3"><v>1</v></c></row>'
            + "<row/>" * 10
            + '<row><c r="A1048576"><v>1</v></c></row></sheetData>',
        ),
    ],
    ids=[
        "eight-digit-row",
        "five-letter-column",
        "dimension",
        "duplicate-reference",
        "not-well-formed",
        "comments",
    ],
)
def test_other_far_references_are_refused(
    tmp_path: Path, rulebook: Rulebook, edit: Callable[[str], str]
) -> None:
    path = rewrite(good_workbook(tmp_path, rulebook), tmp_path / "odd.xlsx", edit=edit)
    problem = check_container(path, Limits())
    assert problem is not None and problem.code == "too_large", problem


def test_a_lying_shared_string_count_is_refused(tmp_path: Path, rulebook: Rulebook) -> None:
    """The reader reserves memory for the declared count before reading one string."""
    sst = (f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="40000000000"><si><t>x</t></si></sst>').encode()
    path = rewrite(
        good_workbook(tmp_path, rulebook), tmp_path / "sst.xlsx", extra={"xl/sharedStrings.xml": sst}
    )
    problem = check_container(path, Limits())
    assert problem is not None and problem.code == "truncated", problem


def test_good_workbooks_pass_the_guard(tmp_path: Path, rulebook: Rulebook) -> None:
    assert check_container(good_workbook(tmp_path, rulebook), Limits()) is None


# ----------------------------------------------------------------------------- through read_many
def _fast_limits(timeout_s: float = 120) -> Limits:
    return Limits(per_file_timeout_s=timeout_s)


def test_a_hostile_file_is_that_countys_problem_and_the_others_read(
    tmp_path: Path, rulebook: Rulebook
) -> None:
    good_a = good_workbook(tmp_path / "a", rulebook, "410522")
    good_b = good_workbook(tmp_path / "b", rulebook, "410523")
    far = plain(1_048_576, "XFD")
    cover = rewrite(
        good_workbook(tmp_path / "c", rulebook),
        tmp_path / "cover.xlsx",
        cells=far,
        part="xl/cover.xml",
        target="/xl/cover.xml",
    )
    dat = rewrite(
        good_workbook(tmp_path / "d", rulebook),
        tmp_path / "dat.xlsx",
        cells=far,
        part="xl/worksheets/sheet1.dat",
        target="worksheets/sheet1.dat",
    )
    items = [(good_a, "a"), (cover, "c"), (dat, "d"), (good_b, "b")]
    parsed = read_many(items, rulebook, _fast_limits(), "id-key", workers=2)
    by_key = {pw.file_key: pw for pw in parsed}
    for key in ("c", "d"):
        pw = by_key[key]
        assert pw.fatal
        assert list(pw.findings["rule"]) == ["file.too_large"]
        assert list(pw.findings["message"]) == [FILE_MESSAGES["too_large"][0]]
        assert "used range 16384 columns x 1048576 rows" in pw.detail
    for key in ("a", "b"):
        assert not by_key[key].fatal and by_key[key].frames, by_key[key].detail


def read_many(items, rulebook, limits, id_key, *, workers=2, then=None, then_args=None):  # type: ignore[no-untyped-def]
    """The pipeline's reading (fivestar.pipeline.period.read_period) without the archive."""
    args = then_args or [()] * len(items)
    with LocalExecutor(workers=workers) as ex:
        return ex.map_files(
            read_file,
            [(path, key, a) for (path, key), a in zip(items, args, strict=True)],
            setup=(rulebook, limits, id_key, then, ()),
            reader_setup=reader_state,
            timeout_s=float(limits.per_file_timeout_s or 0) or None,
            on_failure=unread_file,
        )


def _children() -> set[int]:
    import psutil

    return {c.pid for c in psutil.Process().children(recursive=True)}


# ----------------------------------------------------------------------------- a reader that dies
def block_for_kill(pw: ParsedWorkbook, rb: Rulebook, marker: str | None) -> None:
    """Runs in the reader after reading (read_many's `then`): for the victim file it says
    which process it is in and then waits to be killed."""
    if marker:
        Path(marker + ".tmp").write_text(str(os.getpid()))
        os.replace(marker + ".tmp", marker)
        threading.Event().wait()


def test_a_reader_killed_mid_read_is_noticed_at_once_and_the_rest_read(
    tmp_path: Path, rulebook: Rulebook
) -> None:
    """SIGKILL of the reader of the second file (of five, two readers): that file is
    rejected as unreadable (the submitter's Chinese message, IT's English detail naming
    the signal) well before its own time limit, a new reader takes over, the others read."""
    files = [good_workbook(tmp_path / str(i), rulebook, f"4105{20 + i}") for i in range(5)]
    marker = tmp_path / "victim.pid"
    args = [(str(marker) if i == 1 else None,) for i in range(5)]
    per_file_timeout_s = 600  # far beyond the wait below: only noticing the death ends it
    out: dict[str, Any] = {}

    def read() -> None:
        out["parsed"] = read_many(
            [(f, f"k{i}") for i, f in enumerate(files)],
            rulebook,
            Limits(per_file_timeout_s=per_file_timeout_s),
            "id-key",
            workers=2,
            then=block_for_kill,
            then_args=args,
        )

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(1200):  # up to 120 s for two reader processes to start and read
        if marker.exists() or not reader.is_alive():
            break
        reader.join(timeout=0.1)
    pid = int(marker.read_text())
    assert pid in _children()  # the victim is one of this run's readers
    os.kill(pid, signal.SIGKILL)
    reader.join(timeout=120)
    assert not reader.is_alive(), "read_many still waits for the killed reader"
    by_key = {pw.file_key: pw for pw in out["parsed"]}
    victim = by_key["k1"]
    assert victim.fatal and list(victim.findings["rule"]) == ["file.unreadable"]
    assert list(victim.findings["message"]) == [FILE_MESSAGES["unreadable"][0]]
    assert "SIGKILL" in victim.detail
    for key in ("k0", "k2", "k3", "k4"):
        assert not by_key[key].fatal and by_key[key].frames, by_key[key].detail
    assert pid not in _children()
