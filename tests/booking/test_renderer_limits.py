"""The renderers themselves keep a booking's messages inside Slack's limits, whatever is
stored (rows from before the input bounds, escaping that multiplies characters), without
relying on the client's last-resort fitting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.approval.blocks import announcement
from bot.approval.service import AnnouncementView
from bot.booking.blocks import booked_channel_notice, booked_confirmation
from bot.booking.model import Booking
from support.block_kit import validate_blocks
from support.slack_limits import message_error

REPO = "o" * 39 + "/" + "r" * 100


def huge_booking(status: str = "awaiting_approval") -> Booking:
    starts = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    return Booking(
        id=1,
        short_id="B7K2Q",
        app="a" * 100,
        kind="migration",
        title="&" * 200,  # each & is escaped to five characters
        pull_requests=[f"{REPO}#{9_000_000 + n}" for n in range(40)],
        starts_at=starts,
        ends_at=starts + timedelta(minutes=45),
        started_at=starts,
        status=status,
        requester_id="U0ALICE001",
        rollback_plan="<&>" * 2000,
        notes="& " * 3000,
        override_reason="&" * 2000,
        revision=1,
        approval_round=0,
    )


def assert_fits(text: str, blocks: list[dict[str, object]]) -> None:
    assert validate_blocks(blocks, surface="message") == []
    assert message_error({"text": text, "blocks": blocks}) is None


def test_confirmation_and_notice_fit_and_point_to_the_history() -> None:
    booking = huge_booking()
    for text, blocks in (booked_confirmation(booking), booked_channel_notice(booking)):
        assert_fits(text, blocks)
        shown = str(blocks)
        assert "/deploy history B7K2Q" in shown
        assert "more (`/deploy history B7K2Q`)" in shown  # the PRs left out


@pytest.mark.parametrize(
    "status", ["awaiting_approval", "approved", "scheduled", "deploying", "landed", "failed"]
)
def test_the_announcement_fits_with_many_approvers_and_long_reasons(status: str) -> None:
    view = AnnouncementView(
        booking=huge_booking(status),
        approvers=[f"U{n:09d}" for n in range(300)],
        required=300,
        changes_requested_by="U0BOB00001",
        changes_reason="&" * 1000,
    )
    text, blocks = announcement(view)
    assert_fits(text, blocks)
