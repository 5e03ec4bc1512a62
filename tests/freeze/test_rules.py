"""The freeze rules on their own: permissions, desired statuses, reminder timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.freeze.rules import (
    CommitState,
    FreezeFacts,
    clean_reason,
    desired_status,
    format_elapsed,
    may_unfreeze,
    needs_approver_check,
    reason_problem,
    reminder_due,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FOUR_HOURS = timedelta(hours=4)
FACTS = FreezeFacts(
    branch="master", reason="ES mapping", booking_short_id="B7K2Q", exempt_pulls={7}
)


def test_whoever_froze_may_unfreeze_others_only_as_approvers() -> None:
    assert may_unfreeze(frozen_by="U1", user_id="U1", user_is_approver=False)
    assert may_unfreeze(frozen_by="U1", user_id="U2", user_is_approver=True)
    assert not may_unfreeze(frozen_by="U1", user_id="U2", user_is_approver=False)
    assert not needs_approver_check(frozen_by="U1", user_id="U1")
    assert needs_approver_check(frozen_by="U1", user_id="U2")


def test_desired_status_follows_the_freeze_and_its_exemptions() -> None:
    assert desired_status(None, "master", 1).state is CommitState.SUCCESS
    frozen = desired_status(FACTS, "master", 1)
    assert frozen.state is CommitState.FAILURE
    assert "ES mapping" in frozen.description
    exempt = desired_status(FACTS, "master", 7)
    assert exempt.state is CommitState.SUCCESS
    assert "B7K2Q" in exempt.description


def test_exemptions_hold_in_the_booked_apps_repository_only() -> None:
    facts = FreezeFacts(
        branch="master",
        reason="ES mapping",
        booking_short_id="B7K2Q",
        exempt_pulls={7},
        exempt_repo="mozilla/donate-wagtail",
    )
    assert desired_status(facts, "master", 7, "Mozilla/Donate-Wagtail").state is CommitState.SUCCESS
    other = desired_status(facts, "master", 7, "mozilla/foundation.mozilla.org")
    assert other.state is CommitState.FAILURE


def test_status_descriptions_fit_githubs_limit() -> None:
    long = FreezeFacts(branch="master", reason="x" * 500, booking_short_id=None, exempt_pulls=())
    assert len(desired_status(long, "master", 1).description) == 140


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (timedelta(hours=3, minutes=59), None),
        (timedelta(hours=4), (1, T0 + FOUR_HOURS)),
        (timedelta(hours=7, minutes=59), (1, T0 + FOUR_HOURS)),
        (timedelta(hours=8, minutes=1), (2, T0 + 2 * FOUR_HOURS)),
        # A clock that was down for a day owes one reminder, the latest.
        (timedelta(hours=25), (6, T0 + 6 * FOUR_HOURS)),
    ],
)
def test_reminders_fall_due_every_interval(
    elapsed: timedelta, expected: tuple[int, datetime] | None
) -> None:
    assert reminder_due(T0, T0 + elapsed, FOUR_HOURS) == expected


def test_reasons_are_tidied_and_limited() -> None:
    assert clean_reason("  ES   mapping\nchange ") == "ES mapping change"
    assert reason_problem("") is None
    assert "500" in (reason_problem("x" * 501) or "")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=42), "42 minutes"),
        (timedelta(hours=2), "2h"),
        (timedelta(hours=2, minutes=5), "2h05m"),
        (timedelta(days=1, hours=3), "1 day 3h"),
        (timedelta(days=2), "2 days"),
    ],
)
def test_elapsed_time_reads_naturally(value: timedelta, text: str) -> None:
    assert format_elapsed(value) == text
