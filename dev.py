"""Developer launcher: `python3 dev.py run` or `python3 dev.py test`.

`python3 dev.py prefect …` runs the venv's Prefect CLI (e.g. `prefect deploy --all`);
any other command goes to the venv's `fivestar`.

In: a fresh checkout and any Python >= 3.11. Out: a `.venv` with the project
installed (re-installed only when pyproject.toml changes), then the sample run
(summary printed) or the test suite. Stdlib only, so it works before setup.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".fivestar-installed"


def _ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit("fivestar needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == want:
        return
    print("installing fivestar and its dependencies into .venv (first time takes ~2 min) ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(want)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "run"
    rest = argv[1:]
    _ensure_venv()
    os.chdir(ROOT)
    env = _env()
    if cmd == "run":
        args = [str(BIN / "fivestar"), "run", *rest]
        if not env.get("FIVESTAR_RAW_DIR"):
            # The bundled sample is complete, though a fresh clone gives it a fresh mtime:
            # take it at once instead of waiting out the settle time (README, Settings).
            env.setdefault("FIVESTAR_SETTLE_SECONDS", "0")
    elif cmd == "test":
        # Two workers: the suite waits on subprocesses, Prefect servers and PostgreSQL a lot.
        args = [str(BIN / "python"), "-m", "pytest", "-q", "-n", "2", *rest]
    elif cmd == "setup":
        return 0
    elif cmd == "prefect":  # the operator's Prefect commands (README), from the same venv
        args = [str(BIN / "prefect"), *rest]
    else:
        args = [str(BIN / "fivestar"), cmd, *rest]
    return subprocess.run(args, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
