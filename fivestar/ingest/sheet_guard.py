"""Where the fast reader looks inside a workbook, and how much memory it will ask for there.

In: an open zip of a received .xlsx. Out: the parts python-calamine opens as sheets,
found the way it finds them (the package relationships name the workbook's folder, the
workbook's relationships name each sheet part: any name and extension, relative or
absolute; zip names match whatever their case or slash direction), and for each an
upper bound of the dense grid the reader allocates (last row, last column); also the
shared-string count it reserves memory for before reading a single string.

Why: the reader holds a sheet as a dense grid spanning its cells. One cell at
XFD1048576 in a 9 KB file asks for 512 GB and aborts the process; a part named
`xl/cover.xml` is read as a sheet if the workbook's relationships say so. The bound must
never be below the reader's, whatever the XML looks like; it is exact for what writers
produce (every cell opens with `<c r="A1"`), which a few literal counts prove at memchr
speed. Anything else (no, quoted or lower-case references, prefixes, odd attributes)
takes a slower path: an XML parse that follows the reader's own rules (rows count on,
cells without a reference take the next column), or, for XML that does not parse, a
bound that holds whatever the reader makes of it.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from urllib.parse import unquote

_SCAN_CHUNK = 4 << 20
_WS = rb" \t\r\n"
# A start tag with its attributes (quoted values may hold '>'), of a given local name.
_TAG = rb"""<(?:[^ \t\r\n/>:<]*:)?%s(?=[ \t\r\n/>])((?:[^>"']|"[^"]*"|'[^']*')*)>"""
_RELATIONSHIP = re.compile(_TAG % rb"Relationship")
_DIMENSION = re.compile(_TAG % rb"dimension")
_UNIQUE_COUNT = re.compile(rb"uniqueCount\s*=\s*[\"']\s*\+?([0-9]+)")
# The writers' form: every cell opens with `<c r="A1"`, and no other cell tag exists.
_OTHER_CELL_START = re.compile(rb'<c(?:[\t\r\n/>]| (?!r="))')  # `<cols>` is not one
_PREFIXED = re.compile(rb":c[ \t\r\n/>]")  # `<x:c ...>` (or text that looks like it)
_ODD_REF = re.compile(rb'<c r="(?![A-Z]{1,3}[0-9]{1,7}")')
# An attribute named r written any other way than ` r="` (the reader reads all of them):
# after a tab or a quote, or with blanks around '=', or single-quoted.
_ODD_R_ATTR = re.compile(rb"""r(?:(?<=[\t\n\r\x0b\x0c"']r)\s*=|(?<=\sr)(?:\s+=|=\s|='))""")
_BIG_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{6,7})"')  # cells at row >= 100,000
_WIDE_COL = re.compile(rb'<c r="([A-Z]{2,3})[0-9]')  # cells beyond column Z
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
# The reader's tokens: comments, CDATA, processing instructions and DOCTYPE whole, then
# end and start tags (closing slash, name, attributes; quoted values may hold '>').
_TOKEN = re.compile(
    rb"""<(?:!--.*?-->|!\[CDATA\[.*?\]\]>|\?.*?\?>|!(?:[^>\[]|\[[^\]]*\])*>"""
    rb"""|(/?)([^ \t\r\n/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>)""",
    re.S,
)


def attributes(raw: bytes) -> dict[bytes, list[bytes]]:
    """Attributes as the reader splits them: the key is everything up to '=' (trailing
    blanks dropped), the value is quoted. Every value of a repeated key is kept: which
    one the reader takes depends on the attributes around it."""
    out: dict[bytes, list[bytes]] = {}
    pos, n = 0, len(raw)
    while pos < n:
        while pos < n and raw[pos] in b" \t\r\n\x0c":
            pos += 1
        eq = raw.find(b"=", pos)
        if pos >= n or eq < 0:
            break
        key = raw[pos:eq].rstrip()
        pos = eq + 1
        while pos < n and raw[pos] in b" \t\r\n\x0c":
            pos += 1
        if pos >= n or raw[pos] not in b"\"'":
            break
        end = raw.find(raw[pos : pos + 1], pos + 1)
        end = n if end < 0 else end
        out.setdefault(key, []).append(raw[pos + 1 : end])
        pos = end + 1
    return out


def parse_ref(ref: bytes) -> tuple[int, int] | None:
    """(row, column), both 1-based, of a reference as the reader parses it (letters of
    either case, then digits; column 0 when it has none), or None when it cannot."""
    m = re.fullmatch(rb"([A-Za-z]*)([0-9]+)", ref.strip(b" \t\r\n"))
    if not m:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ch - 64
    return int(m.group(2)), col


def _members(zf: zipfile.ZipFile) -> dict[str, list[zipfile.ZipInfo]]:
    """Zip entries by the reader's lookup key (lower case, forward slashes); a name may
    occur twice in a crafted zip, so every entry is kept."""
    out: dict[str, list[zipfile.ZipInfo]] = {}
    for info in zf.infolist():
        out.setdefault(info.filename.replace("\\", "/").lower(), []).append(info)
    return out


def _candidates(folder: str, target: str) -> set[str]:
    """Lookup keys a relationship target may resolve to (the reader's way and the
    normalised ways other programs use)."""
    found = set()
    for t in {target, html.unescape(target), unquote(target), unquote(html.unescape(target))}:
        joined = [t[1:]] if t.startswith("/") else [folder + t, "xl/" + t]
        for j in joined:
            found.add(j.lower())
            found.add(posixpath.normpath("/" + j.replace("\\", "/")).lstrip("/").lower())
    return found


def _read_member(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> bytes:
    return b"".join(zf.read(i) for i in infos)  # within the size limit, checked before


def workbook_folder(zf: zipfile.ZipFile, members: dict[str, list[zipfile.ZipInfo]]) -> str:
    """The folder of the workbook part named by the package relationships ('xl/')."""
    for raw in _RELATIONSHIP.findall(_read_member(zf, members.get("_rels/.rels", []))):
        a = attributes(raw)
        if any(t.endswith(b"/relationships/officeDocument") for t in a.get(b"Type", [])) and a.get(b"Target"):
            target = a[b"Target"][0].decode("utf-8", "replace")
            i = target.rfind("/")
            folder = target[: i + 1] if i >= 0 else ""
            return folder[1:] if folder.startswith("/") else folder
    return "xl/"


def sheet_parts(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Every entry the reader may open as a sheet: each target of the workbook's
    relationships (whatever its type, name or extension) and everything under
    xl/worksheets/. Other targets (styles, theme) are cheap to scan and hold no cells."""
    members = _members(zf)
    keys: set[str] = set()
    for folder in {workbook_folder(zf, members), "xl/"}:
        rels = _read_member(zf, members.get(f"{folder}_rels/workbook.xml.rels".lower(), []))
        for raw in _RELATIONSHIP.findall(rels):
            for target in attributes(raw).get(b"Target", []):
                keys |= _candidates(folder, target.decode("utf-8", "replace"))
    out = [i for k in sorted(keys) for i in members.get(k, [])]
    out += [
        i for k, infos in members.items() if k.startswith("xl/worksheets/") and k not in keys for i in infos
    ]
    return out


def shared_string_count(zf: zipfile.ZipFile) -> tuple[int, int]:
    """(largest unique-string count declared, uncompressed size) of the shared strings
    the reader loads: it reserves memory for the declared count up front."""
    members = _members(zf)
    declared = size = 0
    for folder in {workbook_folder(zf, members), "xl/"}:
        for info in members.get(f"{folder}sharedstrings.xml", []):
            size = max(size, info.file_size)
            tail = b""
            with zf.open(info) as fh:
                while block := fh.read(_SCAN_CHUNK):
                    data = tail + block
                    declared = max([declared, *map(int, _UNIQUE_COUNT.findall(data))])
                    tail = data[-64:]
    return declared, size


def used_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, exact: bool = False) -> tuple[int, int]:
    """An upper bound of the (last row, last column) the reader's grid spans for a part.

    Cheap by default for the writers' form: rows below 100,000 count as 99,999 and
    columns up to Z as 26 (check_container asks for `exact=True` only when that cheap
    bound is over the limit). The declared dimension counts too.
    """
    rows = cols = 0
    cells = 0
    for seg in _segments(zf, info):
        canon = seg.count(b'<c r="')
        if (
            (seg.count(b"<c") != canon and _OTHER_CELL_START.search(seg))
            or seg.count(b' r="') != canon + seg.count(b'<row r="')
            or _PREFIXED.search(seg)
            or _ODD_REF.search(seg)
            or _ODD_R_ATTR.search(seg)
        ):
            return parsed_extent(zf, info)
        cells += canon
        if b"dimension" in seg:
            rows, cols = _max_extent((rows, cols), _dimension(seg))
        if exact:
            for letters, digits in _CELL_REF.findall(seg):
                rows = max(rows, int(digits))
                cols = max(cols, column_number(letters))
            continue
        big = _BIG_ROW.findall(seg)
        if big:
            rows = max(rows, *map(int, big))
        wide = set(_WIDE_COL.findall(seg))
        if wide:
            cols = max(cols, *map(column_number, wide))
    if cells and not exact:
        rows, cols = max(rows, 99_999), max(cols, 26)
    return rows, cols


def column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _segments(zf: zipfile.ZipFile, info: zipfile.ZipInfo):  # type: ignore[no-untyped-def]
    """The part in chunks cut before a '<', so that no tag is split between two chunks."""
    carry = b""
    with zf.open(info) as fh:
        while True:
            block = fh.read(_SCAN_CHUNK)
            if not block:
                if carry:
                    yield carry
                return
            data = carry + block
            cut = data.rfind(b"<")
            if cut < 0:  # text only
                yield data
                carry = b""
            elif cut > 0:
                yield data[:cut]
                carry = data[cut:]
            else:  # one tag still open (a long attribute value): read on
                carry = data


def _max_extent(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return max(a[0], b[0]), max(a[1], b[1])


def _dimension(seg: bytes) -> tuple[int, int]:
    rows = cols = 0
    for raw in _DIMENSION.findall(seg):
        for value in attributes(raw).get(b"ref", []):
            for part in value.split(b":"):
                rows, cols = _max_extent((rows, cols), parse_ref(part) or (0, 0))
    return rows, cols


def parsed_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
    """The bound for a part not in the writers' form: the reader's own walk replayed.

    Tags are taken the way the reader's XML tokenizer takes them (comments, CDATA and
    processing instructions skipped whole; quoted values may hold '>'); then: before the
    first sheetData only the dimension counts; a row's r sets the row, each row's end
    moves to the next and back to column 1; a cell's r sets its place, a cell without one
    takes the next column; a cell's v, f or is content is skipped whole, and the cell
    ends at the next end tag named c; the first sheetData's end stops it. Every cell
    counts (the reader skips empty ones), and of several r attributes the largest.
    """
    with zf.open(info) as fh:
        data = fh.read()
    rows = cols = 0
    row = col = 0  # 0-based, as the reader counts
    started = in_cell = False
    skip: bytes | None = None  # the child element of a cell being skipped, and its depth
    depth = 0
    for m in _TOKEN.finditer(data):
        closing, name, attrs = m.group(1), m.group(2), m.group(3)
        if name is None:  # comment, CDATA, processing instruction, DOCTYPE
            continue
        empty = attrs.endswith(b"/")
        if skip is not None:
            if name == skip:
                depth += -1 if closing else (0 if empty else 1)
                skip = None if depth == 0 else skip
            continue
        local = name.split(b":", 1)[-1]
        if in_cell:
            if closing:
                in_cell = local != b"c"
            elif local in (b"v", b"f", b"is") and not empty:
                skip, depth = name, 1
            continue
        if not started:
            if closing:
                continue
            if local == b"dimension":
                for value in attributes(attrs).get(b"ref", []):
                    for part in value.split(b":"):
                        rows, cols = _max_extent((rows, cols), parse_ref(part) or (0, 0))
            elif local == b"sheetData":
                if empty:
                    break
                started = True
            continue
        if closing:
            if local == b"row":
                row, col = row + 1, 0
            elif local == b"sheetData":
                break
        elif local == b"row":
            refs = [parse_ref(b"A" + v) for v in attributes(attrs).get(b"r", [])]
            found = [r[0] for r in refs if r]
            if found:
                row = max(found) - 1
            if empty:
                row, col = row + 1, 0
        elif local == b"c":
            refs = [r for r in (parse_ref(v) for v in attributes(attrs).get(b"r", [])) if r]
            if refs:
                place = (max(r for r, _ in refs), max(c for _, c in refs))
                col = max(place[1] - 1, 0)
            else:
                place = (row + 1, col + 1)
            rows, cols = _max_extent((rows, cols), place)
            col += 1
            in_cell = not empty
    return rows, cols
