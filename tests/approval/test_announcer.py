"""The approval announcement's outbox records against real databases and the fake Slack:
an update recorded while the post still waits goes to the conversation the post went
to, whatever the deploy channel is configured to be by then (docs/adr/0019)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import OUTBOX_NOW
from sqlalchemy.orm import Session

from bot.approval.announcer import Announcer
from bot.booking.model import Booking
from bot.slack.outbox import Outbox
from support.fake_slack import FakeSlack

AT = OUTBOX_NOW


@pytest.fixture
def outbox(outbox_to_fake_slack: Outbox) -> Outbox:
    return outbox_to_fake_slack


def scheduled(session: Session) -> Booking:
    booking = Booking(
        short_id="ANNCE",
        app="site",
        kind="migration",
        title="Drop the legacy column",
        pull_requests=[],
        starts_at=AT + timedelta(hours=2),
        ends_at=AT + timedelta(hours=3),
        status="scheduled",
        requester_id="U1",
    )
    session.add(booking)
    session.flush()
    return booking


def test_an_announcement_update_waiting_for_its_post_goes_to_the_posts_channel(
    outbox: Outbox, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=503, retry_after=None)
    with outbox.database.transaction() as session:
        booking = scheduled(session)
        Announcer(outbox, "C0BEFORE", required=2).posted(session, booking, None, None)
    # DEPLOY_CHANNEL changed (a restart with new settings) before Slack took the post.
    with outbox.database.transaction() as session:
        booking = session.get(Booking, booking.id)
        assert booking is not None
        booking.title = "Drop the legacy column, at last"
        Announcer(outbox, "C0AFTER", required=2).changed(session, booking)
    outbox.deliver_due(AT + timedelta(minutes=1))

    [post] = [c for c in fake_slack.calls("chat.postMessage") if c.ok]
    [update] = [c for c in fake_slack.calls("chat.update") if c.ok]
    assert post.get("channel") == update.get("channel") == "C0BEFORE"
    assert update.get("ts") == post.response["ts"]
    assert "at last" in update.all_text()
    assert [c for c in fake_slack.calls() if c.get("channel") == "C0AFTER"] == []


def test_no_update_is_recorded_for_a_booking_never_announced(outbox: Outbox) -> None:
    with outbox.database.transaction() as session:
        Announcer(outbox, "C0DEPLOY", required=2).changed(session, scheduled(session))
    assert outbox.pending() == 0 and outbox.failed() == []
