"""Environment for tests that run fivestar apart from the developer's own settings.

In: this process's environment (conftest sets the test-wide settings). Out: copies or
edits of it without the developer's FIVESTAR_* / PREFECT_* variables, keeping the
settings every test run needs (the resident-ID hash key, no settle wait, no reminders).
"""

from __future__ import annotations

import os

import pytest

# Set for the whole session by conftest; a test of those settings overrides them itself.
KEPT = ("FIVESTAR_ID_HASH_KEY", "FIVESTAR_SETTLE_SECONDS", "FIVESTAR_REMINDERS")


def clean_env(prefixes: tuple[str, ...] = ("PREFECT_", "FIVESTAR_")) -> dict[str, str]:
    """A copy of the environment without variables of those prefixes (but the kept settings)."""
    return {k: v for k, v in os.environ.items() if k in KEPT or not k.startswith(prefixes)}


def drop_fivestar_settings(mp: pytest.MonkeyPatch) -> None:
    """Unset every FIVESTAR_* variable of this process but the kept settings."""
    for k in list(os.environ):
        if k.startswith("FIVESTAR_") and k not in KEPT:
            mp.delenv(k)


def require_tool(*names: str, package: str) -> str:
    """The path of the first of `names` on PATH. Missing: the test fails under CI=true
    (.ci/run installs `package`, so a real-component test never silently skips there)
    and is skipped on a developer machine without it."""
    import shutil

    for name in names:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on"):
        pytest.fail(f"{names[0]} is required in CI (apt-get install -y {package})", pytrace=False)
    pytest.skip(f"{names[0]} is not on PATH")
