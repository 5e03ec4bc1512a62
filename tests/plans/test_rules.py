from datetime import UTC, datetime, timedelta

import pytest

from bot.booking.rules import Kind, PullRequestRef
from bot.plans.rules import PlanKind, check_pull_request_count, parse_plan_kind, step_requests

PRS = tuple(PullRequestRef("o/r", n) for n in (1, 2, 3))
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_step_counts_follow_the_seeds() -> None:
    assert check_pull_request_count(PlanKind.RENAME, PRS) is None
    assert check_pull_request_count(PlanKind.RETYPE, PRS) is None
    assert "2 steps" in (check_pull_request_count(PlanKind.REMOVE, PRS) or "")


def test_steps_are_ordered_and_spaced() -> None:
    steps = step_requests(
        PlanKind.RENAME,
        app="site",
        title="Rename x",
        pull_requests=PRS,
        first_start=START,
        duration=timedelta(minutes=30),
        interval=timedelta(days=1),
    )
    assert [s.starts_at for s in steps] == [START + timedelta(days=i) for i in range(3)]
    assert [s.pull_requests for s in steps] == [(pr,) for pr in PRS]
    assert all(s.kind is Kind.MIGRATION for s in steps)
    assert "(2/3: replace every reference" in steps[1].title


def test_unknown_plan_kind() -> None:
    with pytest.raises(ValueError, match="Unknown plan"):
        parse_plan_kind("merge")
