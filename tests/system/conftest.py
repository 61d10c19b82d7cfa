"""System tests: real Prefect servers and workers, Dask clusters, `kill -9`, the benchmark.

Every test in this folder carries the `system` marker (`pytest -m "not system"` runs the
rest, the unit tests that mirror the packages, in a few minutes).
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = str(config.rootpath / "tests" / "system")
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.system)
