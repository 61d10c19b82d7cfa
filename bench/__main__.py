"""`python -m bench`: the pipeline against a naive baseline and the floor, side by side.

In: `--size tiny|medium|full` (default full: 160 counties × ~325 branches × 30 ledger
events ≈ 1.5 M ledger rows), `--warehouse-url URL` (default: SQLite files; a
PostgreSQL URL makes every case use a fresh schema in a database created for the
bench and dropped afterwards), `--out DIR` (generated workbooks are cached there,
outside the repository; default `$TMPDIR/fivestar-bench`).
Out (stdout): one line per case with wall time and peak RSS of its process tree —
(a) cold: `fivestar run` on an empty warehouse, every file new; (b) warm: the same run
again, nothing changed; (c) rerun: one county's file replaced by a corrected copy;
(d) naive: pandas.read_excel (openpyxl) + the same GX suites per county + to_sql;
(e) floor: python-calamine reading every cell + one bulk load (COPY / executemany);
(f) dead: one county on a fresh warehouse whose alert has 20 dead targets (bench/dead.py),
its line gives the alert stage's seconds;
(g) correction: `fivestar watch` on the loaded province; a corrected county file lands in
the raw folder, seconds until its feedback e-mail reaches a loopback SMTP sink, median of
3 (bench/watch.py; includes the watch's settle time and look interval).
The last line is exactly
`ratios: cold/floor=X naive/cold=Y warm_s=Z rerun_s=W peak_rss_mb=V correction_to_mail_s=C`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import dead
from bench.data import (
    PERIOD,
    REPO,
    SIZES,
    corrected_copy,
    ensure_province,
    link_tree,
    offline_config,
    pick_accepted_county,
)
from bench.measure import Measured, run_measured
from bench.prefect_server import client_env, prefect_server
from bench.warehouses import is_postgres, warehouses
from bench.watch import INTERVAL_S, SETTLE_S, correction_to_mail


def _pipeline_env(raw: Path, config: Path, processed: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIVESTAR_")}
    env.update(
        FIVESTAR_RAW_DIR=str(raw),
        FIVESTAR_CONFIG_DIR=str(config),
        FIVESTAR_PROCESSED_DIR=str(processed),
        FIVESTAR_WAREHOUSE_URL=url,
        FIVESTAR_SETTLE_SECONDS="0",  # the files (and the corrected copy) were written just now
        FIVESTAR_ID_HASH_KEY="fivestar-bench-id-hash-key",  # PostgreSQL and e-mail runs refuse the built-in key
        PYTHONUNBUFFERED="1",
    )
    return env


def _line(m: Measured, note: str = "") -> str:
    ok = "" if m.returncode == 0 else f"  EXIT {m.returncode}"
    return f"{m.name:<7} wall_s={m.wall_s:8.1f}  peak_rss_mb={m.peak_rss_mb:7.0f}  {note}{ok}"


def _check(m: Measured) -> None:
    if m.returncode != 0:
        print(m.output[-4000:], file=sys.stderr)
        raise SystemExit(f"bench case {m.name} failed with exit code {m.returncode}")


def _counts(url: str) -> str:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            status = conn.execute(
                text("SELECT status, COUNT(*) FROM submission GROUP BY status ORDER BY status")
            ).all()
            facts = {
                t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("roster", "indicator_value", "ledger", "branch_rating")
            }
    finally:
        eng.dispose()
    st = ",".join(f"{s}:{n}" for s, n in status)
    return f"[{st}] " + " ".join(f"{k}={v}" for k, v in facts.items())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="full")
    ap.add_argument("--warehouse-url", default=None, help="PostgreSQL server URL (default: SQLite files)")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fivestar-bench")
    ap.add_argument(
        "--prefect",
        choices=("server", "ephemeral"),
        default="server",
        help="server: one Prefect server for all pipeline runs, as in production (default); "
        "ephemeral: every `fivestar run` starts its own temporary server",
    )
    ap.add_argument("--keep", action="store_true", help="keep the run folder (warehouse files, feedback)")
    ap.add_argument(
        "--skip",
        default="",
        help="comma-separated cases to skip (naive, floor, dead, correction) while developing",
    )
    args = ap.parse_args(argv)
    out = args.out.resolve()
    if out == REPO or REPO in out.parents:
        raise SystemExit("--out must be outside the repository")
    size = SIZES[args.size]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    cache = ensure_province(size, out / size.slug)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=out))
    config = offline_config(cache / "config", run_dir / "config")
    kind = "postgresql" if is_postgres(args.warehouse_url) else "sqlite"
    print(
        f"bench size={args.size} ({size.counties} counties, {size.branches} branches, {size.events} events) "
        f"warehouse={kind} prefect={args.prefect}",
        flush=True,
    )
    py = sys.executable
    results: dict[str, Measured] = {}
    correction_s = float("nan")
    try:
        raw = run_dir / "raw"
        link_tree(cache / "raw", raw)
        with warehouses(args.warehouse_url, run_dir) as url_for, ExitStack() as stack:
            url = url_for("pipeline")
            env = _pipeline_env(raw, config, run_dir / "processed", url)
            if args.prefect == "server":
                api = stack.enter_context(prefect_server(run_dir / "prefect"))
                env.update(client_env(api, run_dir / "prefect" / "client"))
            cmd = [py, "-m", "fivestar.cli", "run"]
            for name in ("cold", "warm"):
                m = results[name] = run_measured(name, cmd, env=env, cwd=REPO)
                _check(m)
                print(_line(m, _counts(url) if name == "cold" else ""), flush=True)
            county = pick_accepted_county(cache)
            target = next((raw / PERIOD).glob(f"{county}*.xlsx"))
            corrected_copy(target, target)
            m = results["rerun"] = run_measured("rerun", cmd, env=env, cwd=REPO)
            _check(m)
            print(_line(m, f"county {county} corrected; " + _counts(url)), flush=True)
            if "correction" not in skip:
                # The province stays loaded: a correction taken by `fivestar watch`, landing to e-mail.
                lat = correction_to_mail(env, REPO, raw, PERIOD, county, run_dir / "correction")
                correction_s = statistics.median(lat)
                runs = " ".join(f"{x:.1f}" for x in lat)
                print(
                    f"{'correction':<7} median_s={correction_s:6.1f}  runs_s={runs}  county {county} "
                    f"(settle {SETTLE_S:g} s, look every {INTERVAL_S:g} s)",
                    flush=True,
                )
            if "dead" not in skip:
                # One county on a fresh warehouse whose alert has 20 dead targets: the
                # alert stage's seconds (bounded by its budget, not by the targets).
                with dead.hung_server() as hung:
                    cfg = dead.dead_config(config, run_dir / "config-dead", county, hung, dead.closed_port())
                    durl = url_for("dead")
                    denv = dict(env)
                    denv.update(
                        FIVESTAR_CONFIG_DIR=str(cfg),
                        FIVESTAR_PROCESSED_DIR=str(run_dir / "processed-dead"),
                        FIVESTAR_WAREHOUSE_URL=durl,
                        FIVESTAR_SMTP_HOST="127.0.0.1",
                        FIVESTAR_SMTP_PORT=str(hung),
                        FIVESTAR_ALERT_BUDGET_SECONDS=str(dead.BUDGET_S),
                    )
                    m = results["dead"] = run_measured("dead", [*cmd, "--county", county], env=denv, cwd=REPO)
                _check(m)
                print(_line(m, dead.alert_note(durl)), flush=True)
            for name, module in (("naive", "bench.naive"), ("floor", "bench.floor")):
                if name in skip:
                    continue
                # The original files (the naive and floor cases read every file once).
                args_ = ["--raw", str(cache / "raw"), "--config", str(config), "--url", url_for(name)]
                m = results[name] = run_measured(name, [py, "-m", module, *args_], cwd=REPO)
                _check(m)
                print(_line(m, m.output.strip().splitlines()[-1] if m.output.strip() else ""), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    cold = results["cold"].wall_s
    floor = results["floor"].wall_s if "floor" in results else float("nan")
    naive = results["naive"].wall_s if "naive" in results else float("nan")
    peak = max(results[k].peak_rss_mb for k in ("cold", "warm", "rerun"))
    print(
        f"ratios: cold/floor={cold / floor:.2f} naive/cold={naive / cold:.2f} "
        f"warm_s={results['warm'].wall_s:.1f} rerun_s={results['rerun'].wall_s:.1f} peak_rss_mb={peak:.0f} "
        f"correction_to_mail_s={correction_s:.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
