"""Config files read once, through fivestar.config: the data-quality thresholds.

In: a copy of the repository's config folder with validation.yaml edited or removed.
Out: checks that the thresholds come with the documented defaults, that a value set
in the file is what validation and the sample generator both use, and that an unknown
or malformed setting is a ConfigError naming the file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fivestar.config import ConfigError, ValidationThresholds, load_validation_thresholds

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path / "config"


def test_defaults_without_the_file(cfg: Path) -> None:
    (cfg / "validation.yaml").unlink()
    assert load_validation_thresholds(cfg) == ValidationThresholds()


def test_the_file_is_what_validation_and_the_sample_use(cfg: Path) -> None:
    from fivestar.sample.inject import MonthContext
    from fivestar.validate import batch

    (cfg / "validation.yaml").write_text(
        "rate_jump_points: 12\nsatisfaction_min_branches: 3\n", encoding="utf-8"
    )
    t = load_validation_thresholds(cfg)
    assert (t.rate_jump_points, t.satisfaction_min_branches) == (12.0, 3)
    assert batch._settings_of(cfg)["rate_jump_points"] == 12.0  # noqa: SLF001 - the validator's cached view
    assert MonthContext(True, None, None, frozenset(), t).thresholds.rate_jump_points == 12.0


@pytest.mark.parametrize("text", ["rate_jump: 5\n", "rate_jump_points: lots\n", "rate_jump_points: [1\n"])
def test_a_wrong_setting_names_the_file(cfg: Path, text: str) -> None:
    (cfg / "validation.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="validation.yaml"):
        load_validation_thresholds(cfg)
