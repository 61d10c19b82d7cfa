"""The one submission status vocabulary (fivestar.status) and its readers.

In: every SubmissionStatus. Out: checks that each has Chinese and English words, and
that the alert message, the feedback summary sheet and the leaders' report show the
same Chinese label for it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from fivestar.alerts.compose import submission_message
from fivestar.status import SubmissionStatus, status_en, status_zh

STORED = [s for s in SubmissionStatus if s is not SubmissionStatus.FAILED]


def test_every_status_has_distinct_chinese_and_english_words() -> None:
    zh = [s.zh for s in SubmissionStatus]
    en = [s.en for s in SubmissionStatus]
    assert len(set(zh)) == len(zh) and len(set(en)) == len(en)
    assert all(status_zh(s.value) == s.zh and status_en(s.value) == s.en for s in SubmissionStatus)
    assert status_zh("no-such-status") == "no-such-status"


@pytest.mark.parametrize("status", STORED)
def test_alert_subject_uses_the_shared_label(status: SubmissionStatus) -> None:
    empty = pd.DataFrame(
        columns=[
            "county_code",
            "severity",
            "sheet",
            "row",
            "cell",
            "column_name",
            "value",
            "message",
            "explained",
        ]
    )
    msg = submission_message("410522", "林州市", "2026-11", 1, status.value, empty)
    assert status.zh in msg.subject and status.zh in msg.text


def test_alert_message_refuses_a_word_that_is_no_status() -> None:
    with pytest.raises(ValueError):
        submission_message("410522", "林州市", "2026-11", 1, "approved", pd.DataFrame())
