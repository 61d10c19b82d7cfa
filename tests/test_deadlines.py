"""Deadlines and reminder stages from config/deadlines.yaml (time is a parameter)."""

from __future__ import annotations

import datetime as dt

import pytest

from fivestar.config import ConfigError
from fivestar.deadlines import SHANGHAI, Deadlines, load_deadlines


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def test_the_spec_defaults_without_the_file(tmp_path) -> None:
    d = load_deadlines(tmp_path)
    assert d == Deadlines()
    assert d.deadline("2026-11") == at(2026, 12, 5, 23, 59, 59)
    assert d.deadline("2026-12") == at(2027, 1, 5, 23, 59, 59)


def test_the_shipped_file_holds_the_defaults() -> None:
    assert load_deadlines("config") == Deadlines()


def test_on_time_and_started_days_late() -> None:
    d = Deadlines()
    assert d.is_on_time("2026-11", at(2026, 12, 5, 23, 59, 59))
    assert not d.is_on_time("2026-11", at(2026, 12, 6, 0, 0, 0))
    assert d.days_late("2026-11", at(2026, 12, 1)) == 0
    assert d.days_late("2026-11", at(2026, 12, 6, 3, 0)) == 1  # 3 hours late = 1 day
    assert d.days_late("2026-11", at(2026, 12, 6, 23, 59, 59)) == 1
    assert d.days_late("2026-11", at(2026, 12, 7, 0, 0, 0)) == 2
    utc = dt.datetime(2026, 12, 5, 15, 59, 59, tzinfo=dt.UTC)  # = the deadline in Beijing
    assert d.is_on_time("2026-11", utc)


def test_the_latest_due_stage_within_the_horizon() -> None:
    d = Deadlines()
    assert d.due_stage("2026-11", at(2026, 12, 1, 23)) is None
    assert d.due_stage("2026-11", at(2026, 12, 2, 0, 0)).days == -3
    assert d.due_stage("2026-11", at(2026, 12, 5, 8)).key == "d0"
    assert d.due_stage("2026-11", at(2026, 12, 9, 8)).key == "d+3"  # d+1 missed: not sent in a burst
    assert d.due_stage("2026-11", at(2027, 1, 1)).key == "d+7"
    assert d.due_stage("2026-11", at(2027, 2, 3, 12)).key == "d+7"  # within 60 days of the deadline
    assert d.due_stage("2026-11", at(2027, 2, 4, 0)) is None  # older gaps flood no one
    assert not d.city_list_due("2026-11", at(2026, 12, 8, 23))
    assert d.city_list_due("2026-11", at(2026, 12, 9, 0))


def test_a_configured_deadline_and_bad_values(tmp_path) -> None:
    (tmp_path / "deadlines.yaml").write_text("deadline_day_of_next_month: 10\ndeadline_time: '18:00'\n")
    assert load_deadlines(tmp_path).deadline("2026-11") == at(2026, 12, 10, 18, 0)
    (tmp_path / "deadlines.yaml").write_text("deadline_day: 10\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_deadlines(tmp_path)
    (tmp_path / "deadlines.yaml").write_text("deadline_day_of_next_month: 31\n")
    with pytest.raises(ConfigError, match="1-28"):
        load_deadlines(tmp_path)
