"""`python -m corpus OUT` (from tests/): write the corpus to OUT for a look by hand."""

from __future__ import annotations

import sys
from pathlib import Path

from corpus.cases import build_corpus

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-out")
    cp = build_corpus(out, Path(__file__).resolve().parents[2] / "config")
    for c in cp.cases:
        print(f"{c.status:24} {c.name:28} {c.display_name!r}")
