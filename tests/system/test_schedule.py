"""Scheduling and on-demand reruns against a REAL Prefect server (marker `prefect_server`).

In: `prefect server start` on a free loopback port (own PREFECT_HOME under tmp,
analytics off, UI and background scheduling services off), the deployments of
flows/serve.py and prefect.yaml, and a tiny province built with tests/wbfactory.py.
Out: checks that
- the nightly deployment is registered as cron "0 2 * * *" in Asia/Shanghai with a
  concurrency limit of 1 (FIVESTAR_SCHEDULE_CRON changes the cron);
- prefect.yaml deploys `fivestar-nightly` / `fivestar-rerun` to the process work pool
  `fivestar-pool` with the same schedule, limits and pull step;
- `fivestar serve` serves both deployments, and a parameterised rerun through the
  `rerun` deployment (county, period, force) completes and loads exactly that
  county-month into a SQLite warehouse.
The server starts once for the module (≈10 s on an idle machine, more on a busy one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import flows  # noqa: F401  (Prefect defaults for these machines: no telemetry, quiet logs)
import wbfactory as W
from fivestar.config import load_rulebook
from testenv import clean_env

pytestmark = pytest.mark.prefect_server

ROOT = Path(__file__).resolve().parents[2]
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
RUN_TIMEOUT_S = 300
COUNTIES = {"410522": "林州市", "410523": "安阳县"}
PERIOD = "2026-11"


# ----------------------------------------------------------------------------- the server


def _stop(proc: subprocess.Popen[Any], grace_s: float = 20) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def client_env(api_url: str, home: Path, **extra: str) -> dict[str, str]:
    """Environment of a Prefect client process talking to the test server only."""
    env = clean_env()
    env.update(QUIET, PREFECT_API_URL=api_url, PREFECT_HOME=str(home), **extra)
    return env


# ----------------------------------------------------------------------------- helpers
def read_deployment(name: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(name)


def wait_for_deployment(name: str, proc: subprocess.Popen[Any], log: Path, timeout_s: float) -> Any:
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return read_deployment(name)
        except ObjectNotFound:
            pass
        if proc.poll() is not None:
            pytest.fail(f"`fivestar serve` exited with {proc.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"deployment {name!r} not registered after {timeout_s} s:\n{_tail(log)}")
        time.sleep(0.5)


def assert_nightly_schedule(deployment: Any, cron: str = "0 2 * * *") -> None:
    from prefect.client.schemas.schedules import CronSchedule

    assert len(deployment.schedules) == 1, deployment.schedules
    sched = deployment.schedules[0]
    assert sched.active
    assert isinstance(sched.schedule, CronSchedule), sched.schedule
    assert sched.schedule.cron == cron
    assert sched.schedule.timezone == "Asia/Shanghai"
    assert deployment.global_concurrency_limit is not None, "no concurrency limit on the deployment"
    assert deployment.global_concurrency_limit.limit == 1
    assert deployment.parameters == {"period": None, "county": None, "force": False}


def build_province(root: Path) -> tuple[Path, Path]:
    """config/ (repo rulebook + registry of two counties) and raw/2026-11 with 3 files.

    410522 has a first file and a later correction (one indicator changed); 410523 one file.
    """
    cfg = root / "config"
    cfg.mkdir(parents=True)
    for f in (ROOT / "config").iterdir():
        if f.is_file() and f.name not in ("registry.csv", "submitters.csv"):
            (cfg / f.name).write_bytes(f.read_bytes())
    rb = load_rulebook(cfg)
    brs = {"410522": W.branches("410522", 2, 1), "410523": W.branches("410523", 1, 1)}
    W.registry_frame(COUNTIES, brs).to_csv(cfg / "registry.csv", index=False)
    (cfg / "submitters.csv").write_text("county_code,name,email,webhook_url\n", encoding="utf-8")
    raw = root / "raw"
    y, m = (int(x) for x in PERIOD.split("-"))
    t0 = dt.datetime(y, m, 20, 9, 0).timestamp()
    files = [
        ("410522", "410522_林州市_2026-11.xlsx", {}),
        ("410523", "410523_安阳县_2026-11.xlsx", {}),
        ("410522", "410522_林州市_2026-11_更正.xlsx", {(brs["410522"][0]["code"], "meeting_rate"): 100.0}),
    ]
    for i, (code, name, values) in enumerate(files):
        path = W.write_workbook(
            raw / PERIOD / name, rb, code, COUNTIES[code], PERIOD, brs[code], values=values
        )
        os.utime(path, (t0 + 60 * i, t0 + 60 * i))
    return cfg, raw


RERUN_ARGS = ("-p", "county=410522", "-p", "period=2026-11", "-p", "force=true")


def prefect_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The `prefect` command as an operator types it; `deployment run` waits for the end."""
    watch = ("--watch", "--watch-interval", "1", "--watch-timeout", str(RUN_TIMEOUT_S))
    return subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), *args, *(watch if "run" in args else ())],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S + 60,
        check=False,
    )


def flow_run_message(cli_output: str) -> str:
    """The final state message of the flow run that `prefect deployment run` created."""
    import re

    from prefect.client.orchestration import get_client

    run_id = re.search(r"UUID: ([0-9a-f-]{36})", cli_output)
    assert run_id, cli_output
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id.group(1)).state
    assert state is not None
    return str(state.message)


# ----------------------------------------------------------------------------- tests
def test_cron_comes_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    from flows.serve import nightly_deployment, rerun_deployment

    def cron_of(d: Any) -> CronSchedule:
        (s,) = d.schedules
        assert isinstance(s.schedule, CronSchedule)
        return s.schedule

    monkeypatch.delenv("FIVESTAR_SCHEDULE_CRON", raising=False)
    assert cron_of(nightly_deployment()).cron == "0 2 * * *"
    monkeypatch.setenv("FIVESTAR_SCHEDULE_CRON", "30 1 * * 1-5")
    d = nightly_deployment()
    assert (cron_of(d).cron, cron_of(d).timezone) == ("30 1 * * 1-5", "Asia/Shanghai")
    assert cron_of(nightly_deployment(cron="15 3 * * *")).cron == "15 3 * * *"
    assert d.name == "nightly" and d.concurrency_limit == 1
    assert d.entrypoint == "flows.nightly.fivestar_run"
    rerun = rerun_deployment()
    assert rerun.name == "rerun" and not rerun.schedules and rerun.concurrency_limit == 1
    with pytest.raises(ValueError):
        nightly_deployment(cron="every night")


def test_fivestar_serve_uses_the_cron_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import flows.serve
    from fivestar.cli import app

    seen: dict[str, Any] = {}
    monkeypatch.setattr(flows.serve, "serve_nightly", lambda **kw: seen.update(kw))
    monkeypatch.setenv("FIVESTAR_SCHEDULE_CRON", "30 1 * * *")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    (schedule,) = flows.serve.nightly_deployment(cron=seen["cron"], name=seen["name"]).schedules
    assert schedule.schedule.cron == "30 1 * * *"


def test_nightly_deployment_registers_cron_in_shanghai_time(prefect_api: str) -> None:
    from prefect.client.orchestration import get_client

    from flows.serve import nightly_deployment

    deployment_id = nightly_deployment(cron="0 2 * * *", name="nightly-applied").apply()
    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment_id)
    assert stored.name == "nightly-applied"
    assert_nightly_schedule(stored)


def test_prefect_yaml_deploys_to_the_process_work_pool(
    prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.testing.cli import invoke_and_assert

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="fivestar-pool", type="process"))
    # The pull step's directory is the checkout, taken from FIVESTAR_HOME at deploy time.
    monkeypatch.setenv("FIVESTAR_HOME", str(ROOT))
    invoke_and_assert(["--no-prompt", "deploy", "--all"], temp_dir=str(ROOT), echo=False)
    nightly = read_deployment("fivestar-run/fivestar-nightly")
    rerun = read_deployment("fivestar-run/fivestar-rerun")
    assert_nightly_schedule(nightly)
    for d in (nightly, rerun):
        assert d.work_pool_name == "fivestar-pool"
        assert d.entrypoint == "flows/nightly.py:fivestar_run"
        assert d.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
    assert rerun.schedules == []
    assert rerun.global_concurrency_limit is not None and rerun.global_concurrency_limit.limit == 1
    # Closing and reopening periods (issue 16): on demand, one at a time.
    for name, entry in (
        ("fivestar-close/fivestar-close", "flows/closing.py:fivestar_close"),
        ("fivestar-reopen/fivestar-reopen", "flows/closing.py:fivestar_reopen"),
    ):
        d = read_deployment(name)
        assert d.entrypoint == entry and d.work_pool_name == "fivestar-pool" and d.schedules == []


def test_served_rerun_with_parameters_completes(prefect_api: str, tmp_path: Path) -> None:

    cfg, raw = build_province(tmp_path / "province")
    processed = tmp_path / "processed"
    db = tmp_path / "warehouse.db"
    env = client_env(
        prefect_api,
        tmp_path / "prefect-client",
        FIVESTAR_RAW_DIR=str(raw),
        FIVESTAR_CONFIG_DIR=str(cfg),
        FIVESTAR_PROCESSED_DIR=str(processed),
        FIVESTAR_WAREHOUSE_URL=f"sqlite:///{db}",
        PREFECT_RUNNER_POLL_FREQUENCY="1",
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fivestar.cli", "serve", "--cron", "0 2 * * *", "--name", "nightly"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,  # not the checkout: the deployments name the installed module
        )
    try:
        rerun = wait_for_deployment("fivestar-run/rerun", proc, log, timeout_s=180)
        assert rerun.entrypoint == "flows.nightly.fivestar_run"
        assert rerun.schedules == [] and rerun.global_concurrency_limit.limit == 1
        assert_nightly_schedule(read_deployment("fivestar-run/nightly"))
        # Typed as the README says: Prefect reads `410522` as JSON, i.e. an integer.
        done = prefect_cli(env, "deployment", "run", "fivestar-run/rerun", *RERUN_ARGS)
        assert done.returncode == 0, f"{done.stdout}\n{_tail(log)}"
        # A parameter an operator mistyped fails the run with a message saying what to type.
        bad = prefect_cli(env, "deployment", "run", "fivestar-run/rerun", "-p", "period=2026-13")
        assert bad.returncode != 0
        assert "not a month written YYYY-MM" in flow_run_message(bad.stdout), bad.stdout
        # Closing and reopening as deployments (issue 16), as `fivestar close` / `reopen`.
        closed = prefect_cli(
            env,
            "deployment",
            "run",
            "fivestar-close/close",
            "-p",
            f"period={PERIOD}",
            "-p",
            "reason=月结",
            "-p",
            "by=it",
        )
        assert closed.returncode == 0, f"{closed.stdout}\n{_tail(log)}"
        reopened = prefect_cli(
            env, "deployment", "run", "fivestar-reopen/reopen",
            "-p", f"period={PERIOD}", "-p", "county=410522", "-p", "reason=补报",
        )  # fmt: skip
        assert reopened.returncode == 0, f"{reopened.stdout}\n{_tail(log)}"
    finally:
        _stop(proc)

    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT county_code, period, version, file_name, status FROM rpt_submission ORDER BY 1, 2, 3"
                )
            ).all()
            rated = (
                conn.execute(text("SELECT DISTINCT county_code FROM rpt_branch_rating ORDER BY 1"))
                .scalars()
                .all()
            )
            events = conn.execute(
                text(
                    "SELECT period, county_code, action, actor, reason FROM rpt_period_event ORDER BY event_id"
                )
            ).all()
    finally:
        engine.dispose()
    # Only the chosen county-month; its two files numbered oldest first; the correction is current.
    assert [tuple(r) for r in rows] == [
        ("410522", PERIOD, 1, "410522_林州市_2026-11.xlsx", "superseded"),
        ("410522", PERIOD, 2, "410522_林州市_2026-11_更正.xlsx", "accepted"),
    ]
    assert rated == ["410522"]
    assert [tuple(e) for e in events][0] == (PERIOD, "", "close", "it", "月结")
    assert [tuple(e)[:3] + (tuple(e)[4],) for e in events][1] == (PERIOD, "410522", "reopen", "补报")


def test_worker_runs_the_documented_rerun_command(prefect_api: str, tmp_path: Path) -> None:
    """The work-pool route of the README, literally: `prefect deploy --all`, a process worker,
    then `prefect deployment run 'fivestar-run/fivestar-rerun' -p county=410522 …` (issue 19)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    cfg, raw = build_province(tmp_path / "province")
    db = tmp_path / "warehouse.db"
    env = client_env(
        prefect_api,
        tmp_path / "prefect-client",
        FIVESTAR_HOME=str(ROOT),
        FIVESTAR_RAW_DIR=str(raw),
        FIVESTAR_CONFIG_DIR=str(cfg),
        FIVESTAR_PROCESSED_DIR=str(tmp_path / "processed"),
        FIVESTAR_WAREHOUSE_URL=f"sqlite:///{db}",
    )
    # The prefect.yaml test may have made the pool already.
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name="fivestar-pool", type="process"))
    deployed = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), "--no-prompt", "deploy", "--all"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "worker",
                "start",
                "--pool",
                "fivestar-pool",
                "--type",
                "process",
            ],
            env={**env, "PREFECT_WORKER_QUERY_SECONDS": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        done = prefect_cli(env, "deployment", "run", "fivestar-run/fivestar-rerun", *RERUN_ARGS)
        assert done.returncode == 0, f"{done.stdout}\n{_tail(log)}"
    finally:
        _stop(worker)
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT county_code, version, status FROM rpt_submission ORDER BY 1, 2")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("410522", 1, "superseded"), ("410522", 2, "accepted")]
