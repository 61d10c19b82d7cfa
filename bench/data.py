"""Benchmark data: a synthetic province of a given size, generated once and reused.

In: a size (counties, branches per county, ledger events per branch, seed) and a
cache folder outside the repository. Out: `<cache>/raw/<period>/*.xlsx` (one month,
one workbook per county, problems injected into a known share as in `fivestar sample`),
`<cache>/config/` and `<cache>/bench.json` (the parameters, so a later bench with
the same size reuses the files instead of generating them again). Also
`corrected_copy`, which writes a changed version of one county's workbook (one
党员人数 cell + 1, edited in the sheet XML so everything else stays byte-identical).

Generation reuses `fivestar.sample.generate` (openpyxl write-only), in 2 processes.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from fivestar import cells

REPO = Path(__file__).resolve().parents[1]
PERIOD = "2026-11"


@dataclass(frozen=True)
class Size:
    counties: int
    branches: tuple[int, int]  # per county, uniform in [lo, hi]
    events: int  # mean ledger events per branch and month
    seed: int = 0

    @property
    def slug(self) -> str:
        return f"c{self.counties}-b{self.branches[0]}_{self.branches[1]}-e{self.events}-s{self.seed}"


SIZES = {
    "tiny": Size(3, (20, 20), 5),
    "medium": Size(20, (300, 350), 30),
    # Henan: the sample's division table has 157 county-level units (the "160"), so
    # ~331 branches each give the ~52,000 branches; 30 events each ≈ 1.55 M ledger rows.
    "full": Size(157, (300, 362), 30),
}


def ensure_province(size: Size, cache: Path, *, workers: int = 2, log: bool = True) -> Path:
    """Generate the province into `cache` unless it already holds this size; returns cache."""
    stamp = cache / "bench.json"
    want = json.loads(json.dumps({"size": asdict(size), "period": PERIOD, "version": 1}))  # as stored
    if stamp.exists() and json.loads(stamp.read_text()) == want and (cache / "raw" / PERIOD).is_dir():
        return cache
    from fivestar.sample import generate

    if cache.exists():
        shutil.rmtree(cache)
    t0 = time.perf_counter()
    if log:
        print(
            f"generating {size.counties} counties x {size.branches} branches x {size.events} events into {cache} ...",
            flush=True,
        )
    generate(
        cache,
        PERIOD,
        counties=size.counties,
        seed=size.seed,
        months=1,
        rulebook_dir=REPO / "config",
        branches_per_county=size.branches,
        events_per_branch=size.events,
        workers=workers,
    )
    stamp.write_text(json.dumps(want))
    if log:
        print(f"generated in {time.perf_counter() - t0:.0f} s", flush=True)
    return cache


def offline_config(src: Path, dst: Path) -> Path:
    """A copy of the generated config whose contacts have no webhook.

    The sample gives some counties an unreachable webhook (http://127.0.0.1:9/…) to
    exercise failed deliveries; each costs three attempts with back-off sleeps, which
    would time the retry policy, not the pipeline. E-mail stays off (no SMTP settings),
    so alerts are recorded as "no reachable contact" and nothing leaves the machine.
    """
    import csv

    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        if p.is_file():
            shutil.copyfile(p, dst / p.name)
    subs = dst / "submitters.csv"
    if subs.exists():
        with subs.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        if rows and "webhook_url" in rows[0]:
            for r in rows:
                r["webhook_url"] = ""
            with subs.open("w", encoding="utf-8", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
    return dst


def link_tree(src: Path, dst: Path) -> None:
    """Copy a folder of files as hard links (same file system) or copies."""
    for p in sorted(src.rglob("*")):
        q = dst / p.relative_to(src)
        if p.is_dir():
            q.mkdir(parents=True, exist_ok=True)
            continue
        q.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(p, q)
        except OSError:
            shutil.copyfile(p, q)


def pick_accepted_county(cache: Path) -> str:
    """A county whose file the manifest expects to be accepted (the rerun corrects it)."""
    manifest = json.loads((cache / "manifest.json").read_text(encoding="utf-8"))
    files = sorted(manifest["files"], key=lambda f: f["county_code"])
    for f in files:
        if f["expected_status"] == "accepted":
            return str(f["county_code"])
    return str(files[0]["county_code"])


def _sheet_part(z: zipfile.ZipFile, sheet_name: str) -> str:
    wb = z.read("xl/workbook.xml").decode("utf-8")
    rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    for m in re.finditer(r"<sheet\b[^>]*>", wb):
        tag = m.group(0)
        name = re.search(r'name="([^"]*)"', tag)
        rid = re.search(r'r:id="([^"]*)"', tag)
        if name and rid and cells.normalise_header(name.group(1)) == cells.normalise_header(sheet_name):
            for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
                if f'Id="{rid.group(1)}"' in rel.group(0):
                    target = re.search(r'Target="([^"]*)"', rel.group(0))
                    if target:
                        t = target.group(1)
                        return t.lstrip("/") if t.startswith("/") else f"xl/{t}"
    raise LookupError(f"sheet {sheet_name!r} not found")


def corrected_copy(src: Path, dst: Path, *, sheet: str = "支部名册", header: str = "党员人数") -> None:
    """Write src to dst with the first number under `header` in `sheet` increased by 1."""
    with zipfile.ZipFile(src) as z:
        part = _sheet_part(z, sheet)
        xml = z.read(part).decode("utf-8")
        heads = re.findall(r'<c r="([A-Z]+)1"[^>]*>(?:<is><t>([^<]*)</t></is>)?', xml)
        want = cells.normalise_header(header)
        col = next(c for c, t in heads if cells.normalise_header(html.unescape(t)) == want)
        pat = re.compile(rf'(<c r="{col}(\d+)"[^>]*t="n"[^>]*><v>)([^<]+)(</v>)')
        for m in pat.finditer(xml):
            if int(m.group(2)) > 1:
                new = f"{int(float(m.group(3))) + 1}"
                xml = xml[: m.start(3)] + new + xml[m.end(3) :]
                break
        else:
            raise LookupError(f"no number under {header!r} in {sheet!r}")
        tmp = dst.with_name(dst.name + ".part")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            for info in z.infolist():
                data = xml.encode("utf-8") if info.filename == part else z.read(info.filename)
                out.writestr(info, data)
    os.replace(tmp, dst)
