"""Synthetic province generator (`fivestar sample`).

In: an output folder, a last period `YYYY-MM`, a number of counties and months, a
seed and the rulebook folder (sheet names, headers, indicators, points items and
vetoes all come from there). Out: `config/` (rulebook copy, `registry.csv`,
`submitters.csv`), `raw/<YYYY-MM>/<county>_<name>_<YYYY-MM>.xlsx` county workbooks
following submission.md, with known problems injected into a known share of them,
and `manifest.json` listing every file's expected status and injected problems.

    from fivestar.sample import generate
    manifest = generate(Path("/tmp/province"), "2026-11", counties=5, seed=0)

`generate_small` is the committed quickstart preset; `install_quickstart(repo)`
rewrites the committed sample (`config/registry.csv`, `config/submitters.csv`,
`data/raw/2026-10`, `data/raw/2026-11`).
"""

from fivestar.sample.generator import SMALL, generate, generate_small, install_quickstart, periods_ending
from fivestar.sample.manifest import FileEntry, Issue, Manifest

__all__ = [
    "SMALL",
    "FileEntry",
    "Issue",
    "Manifest",
    "generate",
    "generate_small",
    "install_quickstart",
    "periods_ending",
]
