"""Byte-level builders for hostile containers: OLE files, broken zips, bombs, huge sheets.

In: nothing but sizes and a good workbook's bytes to derive from. Out: bytes or files
written straight to disk, streamed in chunks so that building a 200 MB bomb or a
1,048,576-row sheet costs seconds and little memory.

- `ole_file(streams)`: a minimal but well-formed Compound File (CFB v3, 512-byte
  sectors, no mini stream: every stream is padded to at least 4,096 bytes), the
  container of legacy `.xls` (a `Workbook` stream) and of password-encrypted OOXML
  (`EncryptionInfo` + `EncryptedPackage` streams).
- `zip_bomb(path, good, member_mb)`: a valid-looking workbook whose first sheet part
  inflates to `member_mb` MB of zeros (a few hundred KB on disk).
- `with_huge_sheet(path, good, sheet_part, rows)`: the good workbook with one sheet part
  replaced by a sheet of `rows` rows (the header kept in row 1), written row by row.
- `patch_cells(data, part, cells)`: replace single `<c>` elements of a sheet part
  (formulas with or without cached values, error cells) in a workbook's bytes.
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
from pathlib import Path

SECTOR = 512
MIN_STREAM = 4096  # below this a stream would belong in the mini stream; we never go there
ENDOFCHAIN = 0xFFFFFFFE
FREESECT = 0xFFFFFFFF
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _dir_entry(name: str, kind: int, start: int, size: int, left: int, right: int, child: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)  # name length, type, colour (black)
        + struct.pack("<III", left, right, child)
        + b"\0" * 16  # CLSID
        + struct.pack("<I", 0)  # state bits
        + b"\0" * 16  # creation + modification time
        + struct.pack("<IQ", start, size)
    )


def ole_file(streams: list[tuple[str, bytes]]) -> bytes:
    """A Compound File holding `streams` (at most a few, each >= 4,096 bytes after padding).

    Layout: sector 0 = FAT, sector 1 = directory, then each stream's sectors in order.
    The directory tree is a right-leaning chain sorted the CFB way (length, then name).
    """
    if len(streams) > 3:
        raise ValueError("one directory sector holds the root and three streams")
    padded = [(name, data.ljust(MIN_STREAM, b"\0")) for name, data in streams]
    fat = [FATSECT, ENDOFCHAIN]
    starts = []
    for _, data in padded:
        n = -(-len(data) // SECTOR)
        start = len(fat)
        starts.append(start)
        fat += [start + i + 1 for i in range(n - 1)] + [ENDOFCHAIN]
    if len(fat) > SECTOR // 4:
        raise ValueError("streams too large for a single FAT sector")
    fat += [FREESECT] * (SECTOR // 4 - len(fat))
    order = sorted(range(len(padded)), key=lambda i: (len(padded[i][0]), padded[i][0].upper()))
    # Entry ids: root 0, streams 1..n. A chain through right siblings in sorted order.
    right = {order[k]: order[k + 1] + 1 for k in range(len(order) - 1)}
    entries = [
        _dir_entry("Root Entry", 5, ENDOFCHAIN, 0, NOSTREAM, NOSTREAM, order[0] + 1 if order else NOSTREAM)
    ]
    for i, (name, data) in enumerate(padded):
        entries.append(_dir_entry(name, 2, starts[i], len(data), NOSTREAM, right.get(i, NOSTREAM), NOSTREAM))
    # Unused directory slots must say "empty": zero name, type 0, siblings NOSTREAM.
    empty = _dir_entry("", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM)
    directory = b"".join(entries) + empty * (4 - len(entries))
    header = (
        OLE_MAGIC
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, MIN_STREAM, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", FREESECT) * 108
    )
    assert len(header) == SECTOR, len(header)
    body = struct.pack(f"<{SECTOR // 4}I", *fat) + directory
    for _, data in padded:
        body += data.ljust(-(-len(data) // SECTOR) * SECTOR, b"\0")
    return header + body


def legacy_xls() -> bytes:
    """An Excel 97-2003 (.xls, BIFF8) file: OLE container with a `Workbook` stream."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0206)
    eof = struct.pack("<HH", 0x000A, 0)
    return ole_file([("Workbook", bof + eof)])


def encrypted_xlsx(seed: int = 7) -> bytes:
    """A password-protected .xlsx as Excel writes it: OLE with EncryptionInfo + EncryptedPackage."""
    rng = random.Random(seed)
    info_xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" '
        b'xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
        b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" '
        b'cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/>'
        b"</encryption>"
    )
    info = struct.pack("<HHI", 4, 4, 0x40) + info_xml  # agile encryption, version 4.4
    payload = bytes(rng.getrandbits(8) for _ in range(12_000))
    package = struct.pack("<Q", 11_500) + payload
    return ole_file([("EncryptionInfo", info), ("EncryptedPackage", package)])


def truncated(good: bytes) -> bytes:
    """The first 60 % of a good workbook: the central directory is gone."""
    return good[: int(len(good) * 0.6)]


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """sheet name -> part name (xl/worksheets/sheetN.xml), from workbook.xml and its rels."""
    wb = zf.read("xl/workbook.xml").decode()
    rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    targets = {
        m.group(1): m.group(2)
        for m in re.finditer(r'<Relationship[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)
    }
    targets.update(
        {
            m.group(2): m.group(1)
            for m in re.finditer(r'<Relationship[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)
        }
    )
    out = {}
    for m in re.finditer(r'<sheet [^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"', wb):
        target = targets[m.group(2)]
        out[m.group(1)] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return out


def sheet_part(data: bytes, sheet_name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return _sheet_parts(zf)[sheet_name]


def _copy_except(zin: zipfile.ZipFile, zout: zipfile.ZipFile, skip: str) -> None:
    for info in zin.infolist():
        if info.filename != skip:
            zout.writestr(info, zin.read(info.filename))


def _compressed_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 11, 3, 9, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def zip_bomb(path: Path, good: bytes, sheet_name: str, member_mb: int) -> Path:
    """`good` with sheet `sheet_name` replaced by `member_mb` MB of XML whitespace, deflated
    (≈ 1,000:1, so a few hundred KB on disk). The central directory states the real sizes
    (zipfile writes them honestly), so a checker that reads the directory sees the bomb
    without inflating anything."""
    part = sheet_part(good, sheet_name)
    chunk = b" " * (1 << 20)
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        _copy_except(zin, zout, part)
        with zout.open(_compressed_info(part), "w", force_zip64=True) as fh:
            fh.write(
                b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main"><sheetData>'
            )
            for _ in range(member_mb):
                fh.write(chunk)
            fh.write(b"</sheetData></worksheet>")
    return path


def with_huge_sheet(
    path: Path, good: bytes, sheet_name: str, rows: int, seed: int = 3, cells_per_row: int = 1
) -> Path:
    """`good` with sheet `sheet_name` holding its header row plus data rows 2..`rows`.

    Each data row has `cells_per_row` (1-5) pseudo-random numbers, so the part stays
    under the size limit (≈ 53 MB for a full 1,048,576-row sheet with one cell, ≈ 83 MB
    with two) and compresses like real data (well under the 100:1 ratio limit): only
    the row limit (or the per-file time limit) can refuse it.
    """
    part = sheet_part(good, sheet_name)
    with zipfile.ZipFile(io.BytesIO(good)) as zin:
        original = zin.read(part).decode()
    header = re.search(r"<row [^>]*r=\"1\"[^>]*>.*?</row>", original, re.S)
    head_xml = header.group(0) if header else ""
    ns = re.search(r"<worksheet[^>]*>", original)
    rng = random.Random(seed)
    cols = "CDEFG"[:cells_per_row]

    def cell(col: str, r: int) -> str:
        return f'<c r="{col}{r}"><v>{rng.randrange(1000)}</v></c>'

    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        _copy_except(zin, zout, part)
        with zout.open(_compressed_info(part), "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
            fh.write((ns.group(0) if ns else "<worksheet>").encode())
            fh.write(f'<dimension ref="A1:G{rows}"/><sheetData>'.encode())
            fh.write(head_xml.encode())
            step = 50_000
            for lo in range(2, rows + 1, step):
                hi = min(lo + step, rows + 1)
                fh.write(
                    "".join(
                        f'<row r="{r}">{"".join(cell(col, r) for col in cols)}</row>' for r in range(lo, hi)
                    ).encode()
                )
            fh.write(b"</sheetData></worksheet>")
    return path


def patch_cells(data: bytes, sheet_name: str, cells: dict[str, str]) -> bytes:
    """Replace cells of one sheet by raw `<c>` XML, e.g. {"C2": '<c r="C2"><f>1/0</f></c>'}.

    The cells must already exist in the part (openpyxl writes every cell it was given).
    """
    part = sheet_part(data, sheet_name)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == part:
                xml = content.decode()
                for ref, new in cells.items():
                    pattern = re.compile(rf'<c r="{ref}"(?:\s[^>]*)?(?:/>|>.*?</c>)', re.S)
                    xml, n = pattern.subn(new, xml, count=1)
                    if n != 1:
                        raise KeyError(f"cell {ref} not found in {part}")
                content = xml.encode()
            zout.writestr(info, content)
    return out.getvalue()
