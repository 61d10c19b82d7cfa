"""`fivestar close`, `fivestar reopen` and `fivestar run --now` on the command line.

In: the repository's config (three registered counties), a fresh SQLite warehouse, typer's
in-process runner. Out: checks that close and reopen record rpt_period_event rows (actor
--by, else the OS user) and say what happened, and that wrong input exits 2 with one
line saying what to type (a malformed period or clock, an unregistered county, no reason).
"""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from fivestar.cli import EXIT_USAGE, app
from fivestar.run_params import parse_run_params
from testenv import drop_fivestar_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    drop_fivestar_settings(monkeypatch)
    (tmp_path / "raw").mkdir()
    db = tmp_path / "wh.db"
    for k, v in {
        "FIVESTAR_CONFIG_DIR": str(ROOT / "config"),
        "FIVESTAR_RAW_DIR": str(tmp_path / "raw"),
        "FIVESTAR_PROCESSED_DIR": str(tmp_path / "processed"),
        "FIVESTAR_WAREHOUSE_URL": f"sqlite:///{db}",
    }.items():
        monkeypatch.setenv(k, v)
    return db


def test_close_and_reopen_are_recorded(env: Path) -> None:
    cli = CliRunner()
    done = cli.invoke(app, ["close", "--period", "2026-10", "--reason", "年度结账", "--by", "王五"])
    assert done.exit_code == 0, done.output
    assert "closed 2026-10 (3 registered county-months) by 王五" in done.output
    done = cli.invoke(app, ["reopen", "--period", "2026-10", "--county", "410522", "--reason", "补报"])
    assert done.exit_code == 0, done.output
    assert f"reopened 410522 2026-10 by {getpass.getuser()}" in done.output
    engine = create_engine(f"sqlite:///{env}")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT period, county_code, action, actor, reason FROM rpt_period_event ORDER BY event_id")
        ).all()
        closed = conn.execute(text("SELECT count(*) FROM period_event WHERE action = 'close'")).scalar()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("2026-10", "", "close", "王五", "年度结账"),
        ("2026-10", "410522", "reopen", getpass.getuser(), "补报"),
    ]
    assert closed == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["close", "--period", "2026-13"], "not a month written YYYY-MM"),
        (
            ["reopen", "--period", "2026-10", "--county", "999999", "--reason", "x"],
            "not a county in registry.csv",
        ),
        (["reopen", "--period", "2026-10", "--county", "410522", "--reason", " "], "reason"),
        (["run", "--now", "2026-12-32T02:00"], "not a valid time"),
        (["run", "--now", "tomorrow"], "YYYY-MM-DDTHH:MM[:SS]"),
    ],
)
def test_wrong_input_exits_2_with_one_line(env: Path, args: list[str], says: str) -> None:
    done = CliRunner().invoke(app, args)
    assert done.exit_code == EXIT_USAGE, done.output
    assert says in done.output and "Traceback" not in done.output


def test_reopen_needs_a_reason(env: Path) -> None:
    done = CliRunner().invoke(app, ["reopen", "--period", "2026-10", "--county", "410522"])
    assert done.exit_code == EXIT_USAGE and "--reason" in done.output


def test_now_is_beijing_time() -> None:
    params = parse_run_params(now="2026-12-06T08:00")
    assert params.now == "2026-12-06T08:00:00" and params.as_dict()["now"] == "2026-12-06T08:00:00"
    assert params.clock().utcoffset().total_seconds() == 8 * 3600
    assert parse_run_params().as_dict() == {"period": None, "county": None, "force": False}
