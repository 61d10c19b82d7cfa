"""Every command fails with one clear English line and a documented exit code.

In: `fivestar` commands (in-process through typer's runner, one as a real process)
with wrong folders, wrong options, broken config files and an unreachable
warehouse. Out: checks of the exit code (2 usage/config, 3 warehouse), that the
console shows one line naming the problem and the log file, never a traceback;
and that registry files as Excel writes them on Chinese Windows (GBK) or with line
breaks inside cells load cleanly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fivestar.cli import EXIT_USAGE, EXIT_WAREHOUSE, app
from fivestar.config import ConfigError, load_registry
from testenv import drop_fivestar_settings

ROOT = Path(__file__).resolve().parents[1]
DEAD_PG = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A working setup (the repo's config, an empty raw folder, a SQLite warehouse)."""
    drop_fivestar_settings(monkeypatch)
    cfg = tmp_path / "config"
    shutil.copytree(ROOT / "config", cfg)
    (tmp_path / "raw").mkdir()
    values = {
        "FIVESTAR_CONFIG_DIR": str(cfg),
        "FIVESTAR_RAW_DIR": str(tmp_path / "raw"),
        "FIVESTAR_PROCESSED_DIR": str(tmp_path / "processed"),
        "FIVESTAR_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'wh.db'}",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def invoke(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env or None)
    return result.exit_code, result.output


def assert_one_clean_line(output: str, *words: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error:") and "Traceback" not in output, output
    assert "details:" in lines[0] and "fivestar.log" in lines[0], output
    for w in words:
        assert w in lines[0], output


@pytest.mark.parametrize("setting", ["FIVESTAR_RAW_DIR", "FIVESTAR_CONFIG_DIR"])
def test_a_missing_folder_is_an_error_not_a_quiet_night(
    env: dict[str, str], tmp_path: Path, setting: str
) -> None:
    code, out = invoke("run", **{setting: str(tmp_path / "no-such-folder")})
    assert code == EXIT_USAGE
    assert_one_clean_line(out, "folder not found", "no-such-folder", setting)


def test_a_processed_folder_that_cannot_be_made_is_an_error(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    code, out = invoke("run", FIVESTAR_PROCESSED_DIR=str(tmp_path / "a-file" / "processed"))
    assert code == EXIT_USAGE
    assert_one_clean_line(out, "processed folder", "FIVESTAR_PROCESSED_DIR")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--period", "2026-13"], ["2026-13", "YYYY-MM"]),
        (["--period", "../../etc"], ["../../etc", "YYYY-MM"]),
        (["--county", "41052"], ["41052", "6-digit"]),
        (["--county", "999999"], ["999999", "registry"]),
    ],
)
def test_a_wrong_period_or_county_is_a_usage_error(
    env: dict[str, str], args: list[str], words: list[str]
) -> None:
    code, out = invoke("run", *args)
    assert code == EXIT_USAGE
    assert_one_clean_line(out, *words)


def test_report_with_the_warehouse_down_is_one_line_and_exit_3(env: dict[str, str]) -> None:
    code, out = invoke("report", FIVESTAR_WAREHOUSE_URL=DEAD_PG)
    assert code == EXIT_WAREHOUSE
    assert_one_clean_line(out, "Warehouse unreachable")


def test_report_with_no_config_folder_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke("report", FIVESTAR_CONFIG_DIR=str(tmp_path / "gone"))
    assert code == EXIT_USAGE
    assert_one_clean_line(out, "config folder not found")


def test_registry_without_parent_code_names_the_column(env: dict[str, str]) -> None:
    reg = Path(env["FIVESTAR_CONFIG_DIR"]) / "registry.csv"
    reg.write_text("code,name,level\n410522,林州市,county\n", encoding="utf-8")
    code, out = invoke("run")
    assert code == EXIT_USAGE
    assert_one_clean_line(out, "registry.csv", "parent_code")


def test_the_real_process_exits_2_with_one_line(env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fivestar.cli", "run", "--period", "2026-13"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == EXIT_USAGE
    assert_one_clean_line(proc.stdout + proc.stderr, "2026-13")
    # The detail went to the log file the line names.
    log = Path(proc.stdout.split("details: ", 1)[1].strip().rstrip(")"))
    assert "Traceback" in log.read_text(encoding="utf-8")


def test_registry_saved_as_gbk_reads_the_same(env: dict[str, str]) -> None:
    cfg = Path(env["FIVESTAR_CONFIG_DIR"])
    utf8 = load_registry(cfg)
    text = (cfg / "registry.csv").read_text(encoding="utf-8-sig")
    (cfg / "registry.csv").write_bytes(text.encode("gbk"))
    gbk = load_registry(cfg)
    assert gbk.regions.equals(utf8.regions)
    assert "林州市" in set(gbk.regions["name"]) or len(gbk.regions) == len(utf8.regions)


def test_line_breaks_in_registry_and_submitters_cells_are_removed(env: dict[str, str]) -> None:
    cfg = Path(env["FIVESTAR_CONFIG_DIR"])
    (cfg / "registry.csv").write_text(
        "code,name,level,parent_code,branch_type,township\n410000,河南省,province,,,\n410500,安阳市,city,410000,,\n"
        '410522,"林州\r\n市",county,410500,,\n',
        encoding="utf-8",
    )
    (cfg / "submitters.csv").write_text(
        'county_code,name,email,webhook_url\n410522,王五,"linzhou@example.org\r\nBcc: x@evil.example",\n',
        encoding="utf-8",
    )
    reg = load_registry(cfg)
    assert reg.county_name("410522") == "林州市"
    email = reg.contacts_of("410522")["email"].iloc[0]
    assert "\r" not in email and "\n" not in email


def test_undecodable_registry_is_a_config_error(env: dict[str, str]) -> None:
    cfg = Path(env["FIVESTAR_CONFIG_DIR"])
    (cfg / "registry.csv").write_bytes(b"code,name\n\xff\xfe\xfd\x80\x81\n")
    with pytest.raises(ConfigError, match="registry.csv"):
        load_registry(cfg)


def test_a_setting_that_is_no_number_is_named(env: dict[str, str]) -> None:
    code, out = invoke("run", FIVESTAR_SETTLE_SECONDS="soon")
    assert code == EXIT_USAGE
    assert_one_clean_line(out, "FIVESTAR_SETTLE_SECONDS", "soon")
