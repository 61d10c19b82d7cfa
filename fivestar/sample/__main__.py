"""Command-line entry without the typer CLI: `python -m fivestar.sample`.

In: --out DIR --period YYYY-MM [--counties N] [--seed S] [--months M] [--config DIR]
[--branches LO HI] [--events N] [--no-inject] [--workers N]; or --small (the
quickstart preset); or --quickstart REPO (regenerate the committed sample in REPO).
Out: the generated folder, and a one-line summary of expected statuses on stdout.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fivestar.sample.generator import SMALL, generate, generate_small, install_quickstart


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fivestar.sample", description="Write a synthetic province.")
    ap.add_argument("--out", type=Path, help="output folder (config/, raw/, manifest.json)")
    ap.add_argument("--period", help="last period, YYYY-MM")
    ap.add_argument("--counties", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--months", type=int, default=2)
    ap.add_argument("--config", type=Path, default=Path("config"), help="rulebook folder to read and copy")
    ap.add_argument("--branches", type=int, nargs=2, metavar=("LO", "HI"), default=(150, 400))
    ap.add_argument("--events", type=int, default=30, help="mean ledger events per branch and month")
    ap.add_argument("--branch-types", help="comma-separated branch types (default: every configured type)")
    ap.add_argument("--no-inject", action="store_true", help="no injected problems: every file clean")
    ap.add_argument("--workers", type=int, default=1, help="parallel processes (counties)")
    ap.add_argument("--small", action="store_true", help=f"quickstart preset: {SMALL}")
    ap.add_argument("--quickstart", type=Path, metavar="REPO", help="regenerate the committed sample in REPO")
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    if a.quickstart:
        m = install_quickstart(a.quickstart, seed=a.seed)
        where = f"{a.quickstart}/config and {a.quickstart}/data/raw"
    elif a.small:
        if not a.out:
            ap.error("--out is required")
        m = generate_small(a.out, seed=a.seed, rulebook_dir=a.config)
        where = str(a.out)
    else:
        if not a.out or not a.period:
            ap.error("--out and --period are required (or use --small / --quickstart)")
        m = generate(
            a.out,
            a.period,
            counties=a.counties,
            seed=a.seed,
            months=a.months,
            rulebook_dir=a.config,
            branches_per_county=tuple(a.branches),
            events_per_branch=a.events,
            inject=not a.no_inject,
            workers=a.workers,
            branch_types=tuple(a.branch_types.split(",")) if a.branch_types else None,
        )
        where = str(a.out)
    s = m.summary()
    print(
        f"{len(m.files)} workbooks in {where} ({time.perf_counter() - t0:.1f} s): "
        f"{s['accepted']} accepted, {s['accepted_with_warnings']} accepted_with_warnings, {s['rejected']} rejected"
    )
    try:
        for f in m.files:
            rules = ", ".join(f"{i.severity}:{i.rule}@{i.location}" for i in f.issues)
            print(f"  {f.path}  {f.expected_status}  {rules}")
    except BrokenPipeError:  # piped into head
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
