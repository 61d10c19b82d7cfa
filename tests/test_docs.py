"""Every command, option and setting a user can use is in the README (as sqlite-utils'
tests/test_docs.py does for its CLI).

In: the typer app of fivestar/cli.py (its commands and their options, read through
click) and every FIVESTAR_* name the code reads. Out: checks that README.md names each
command as `fivestar <command>`, each option, and each setting (the README's
`FIVESTAR_SMTP_HOST` / `_PORT` shorthand counts).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from fivestar.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CODE_DIRS = ("fivestar", "flows")


def _commands() -> dict[str, list[str]]:
    """Every command path (`run`, `db upgrade`, …) and its long options."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, cmd: object) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(f"{prefix} {name}".strip(), sub)
            return
        out[prefix] = [o for p in cmd.params for o in p.opts if o.startswith("--") and o != "--help"]  # type: ignore[attr-defined]

    walk("", typer.main.get_command(app))
    return out


def _documented_settings() -> set[str]:
    names = set(re.findall(r"FIVESTAR_[A-Z0-9_]*[A-Z0-9]", README))
    # `FIVESTAR_SMTP_HOST` / `_PORT` / `_FROM`: a suffix after a setting shares its prefix.
    for line in README.splitlines():
        first = re.search(r"FIVESTAR_[A-Z0-9]+(?:_[A-Z0-9]+)*", line)
        if not first:
            continue
        prefix = first.group(0).rsplit("_", 1)[0]
        names |= {prefix + s for s in re.findall(r"`(_[A-Z0-9_]+)`", line)}
    return names


def _settings_in_code() -> set[str]:
    found: set[str] = set()
    for d in CODE_DIRS:
        for path in (ROOT / d).rglob("*.py"):
            found |= set(
                re.findall(r"[\"'](FIVESTAR_[A-Z0-9_]*[A-Z0-9])[\"']", path.read_text(encoding="utf-8"))
            )
    return found


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_command_and_option_is_in_the_readme(command: str) -> None:
    # `fivestar db upgrade` / `db current`: a sub-command may be named after its group's first mention.
    named = f"fivestar {command}" in README or (" " in command and f"`{command}" in README)
    assert named, f"README does not mention `fivestar {command}`"
    missing = [o for o in _commands()[command] if o not in README]
    assert not missing, f"`fivestar {command}` options missing from README: {missing}"


def test_every_setting_the_code_reads_is_in_the_readme() -> None:
    missing = sorted(_settings_in_code() - _documented_settings())
    assert not missing, f"settings read by the code but not in README: {missing}"
