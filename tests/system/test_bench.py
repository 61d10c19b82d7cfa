"""Smoke test of the province-scale benchmark (`python -m bench`, issue 6).

In: `python -m bench --size tiny` (3 counties × 20 branches × 5 ledger events, SQLite,
its own Prefect server) run as a child process, with its output folder under tmp_path.
Out: checks that it exits 0, prints one line per case, and ends with exactly the ratios
line, whose figures parse as numbers; no timing target is asserted (shared machines).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.data import corrected_copy

ROOT = Path(__file__).resolve().parents[2]
RATIOS = re.compile(
    r"^ratios: cold/floor=(?P<cf>[\d.]+) naive/cold=(?P<nc>[\d.]+) warm_s=(?P<w>[\d.]+) "
    r"rerun_s=(?P<r>[\d.]+) peak_rss_mb=(?P<m>\d+) correction_to_mail_s=(?P<c>[\d.]+)$"
)


def test_bench_tiny_runs_every_case(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "tiny", "--out", str(tmp_path / "bench")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    m = RATIOS.match(lines[-1])
    assert m, lines[-1]
    assert float(m["cf"]) > 0 and float(m["nc"]) > 0 and float(m["w"]) > 0 and float(m["r"]) > 0
    assert int(m["m"]) > 0 and float(m["c"]) > 0
    for case in ("cold", "warm", "rerun", "correction", "naive", "floor"):
        assert any(line.startswith(case) for line in lines), case
    # The rerun loaded the corrected file as version 2 of its county.
    rerun = next(line for line in lines if line.startswith("rerun"))
    assert "superseded:1" in rerun
    # The generated workbooks stay outside the repository.
    assert not (ROOT / "raw").exists()


def test_corrected_copy_changes_one_cell(tmp_path: Path) -> None:
    import python_calamine as pc

    from bench.data import SIZES, ensure_province

    cache = ensure_province(SIZES["tiny"], tmp_path / "p", log=False)
    src = next((cache / "raw").glob("*/*.xlsx"))
    dst = tmp_path / "copy.xlsx"
    corrected_copy(src, dst)

    def roster(path: Path) -> list[list[object]]:
        book = pc.CalamineWorkbook.from_path(str(path))
        name = next(n for n in book.sheet_names if "名册" in n)
        return book.get_sheet_by_name(name).to_python()

    before, after = roster(src), roster(dst)
    changed = [
        (i, j)
        for i, (a, b) in enumerate(zip(before, after, strict=True))
        for j, (x, y) in enumerate(zip(a, b, strict=True))
        if x != y
    ]
    assert len(changed) == 1
    i, j = changed[0]
    assert after[i][j] == before[i][j] + 1
