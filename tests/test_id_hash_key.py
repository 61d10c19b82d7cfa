"""The built-in resident-ID hash key is for the SQLite quickstart only.

In: `fivestar run` as a process with FIVESTAR_ID_HASH_KEY unset, on the PostgreSQL test
server (a database of this module) or with FIVESTAR_SMTP_HOST set; the CLI in-process on
SQLite (the pipeline flow replaced by an empty result: only the start-up check is under
test there).
Out: a refusal (exit 2, one clear English line, before anything is processed) on
PostgreSQL and with e-mail; a single warning on SQLite, and the run goes on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fivestar.settings import Settings, id_hash_key_refusal

ROOT = Path(__file__).resolve().parents[1]


def _cli_without_key(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FIVESTAR_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / ".prefect"),
        FIVESTAR_RAW_DIR=str(tmp_path / "raw"),
        FIVESTAR_CONFIG_DIR=str(ROOT / "config"),
        FIVESTAR_PROCESSED_DIR=str(tmp_path / "processed"),
        **settings,
    )
    return subprocess.run(
        [sys.executable, "-m", "fivestar.cli", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _refusal_line(proc: subprocess.CompletedProcess[str]) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-3000:]
    assert "Traceback" not in out
    (line,) = [ln for ln in out.splitlines() if "Refusing to start" in ln]
    assert "FIVESTAR_ID_HASH_KEY is not set" in line and "can be reversed" in line
    return line


@pytest.mark.postgres
def test_a_run_on_postgresql_refuses_the_built_in_key(pg_database: str, tmp_path: Path) -> None:
    # pg_database: a database of this module, so a regression could never touch another one.
    line = _refusal_line(_cli_without_key(tmp_path, FIVESTAR_WAREHOUSE_URL=pg_database))
    assert "on a PostgreSQL warehouse" in line
    assert not (tmp_path / "processed").exists()  # refused before anything was done


def test_a_run_with_email_refuses_the_built_in_key(tmp_path: Path) -> None:
    proc = _cli_without_key(
        tmp_path,
        FIVESTAR_WAREHOUSE_URL=f"sqlite:///{tmp_path / 'warehouse.db'}",
        FIVESTAR_SMTP_HOST="127.0.0.1",
    )
    assert "with e-mail configured (FIVESTAR_SMTP_HOST)" in _refusal_line(proc)


def test_the_sqlite_quickstart_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import flows.nightly
    from fivestar.cli import app

    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(flows.nightly, "fivestar_run", lambda **kw: ran.append(kw) or {"summary": []})
    for k in [k for k in os.environ if k.startswith("FIVESTAR_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.db'}")
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert ran, "the run went on"
    assert result.output.count("FIVESTAR_ID_HASH_KEY is not set") == 1
    assert "Warning" in result.output and "Refusing" not in result.output


def test_a_key_of_ones_own_is_never_refused() -> None:
    base = {"warehouse_url": "postgresql+psycopg://u@h/db", "raw_dir": Path("r")}
    paths = {"processed_dir": Path("p"), "config_dir": Path("c")}
    assert id_hash_key_refusal(Settings(**base, **paths, smtp_host="mail", id_hash_key="k" * 32)) is None
    assert id_hash_key_refusal(Settings(**base, **paths)) is not None
    sqlite = {**base, "warehouse_url": "sqlite:///w.db"}
    assert id_hash_key_refusal(Settings(**sqlite, **paths)) is None
    assert Settings(**sqlite, **paths).id_hash_key_is_default
