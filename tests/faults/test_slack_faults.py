"""Slack's Web API answering 429 (with Retry-After) or 5xx: messages are retried and
delivered exactly once, never lost and never duplicated.

The bot's WebClient retries rate limits and server errors itself (slack_sdk's retry
handlers, bot/slack/app.py); what it still cannot send waits in the outbox, which the
clock retries (ADR 0019). The fake Slack records every attempt, so the tests count both.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import DEPLOY_CHANNEL, announcement, book, booking, reply_to
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.clock.runner import ClockTask, tick
from bot.clock.sent_once import SentNotification
from bot.slack.outbox import OutboxMessage
from faults.common import PR, assert_acknowledged
from support.fake_slack import FakeSlack, SlackCall
from support.slack_requests import ALICE, BOB, SignedClient

# (status, Retry-After): Slack's rate limit, and the server errors it answers when unwell.
FAULTS = [
    pytest.param(429, 1, id="429"),
    pytest.param(500, None, id="500"),
    pytest.param(503, None, id="503"),
]


def delivered(calls: list[SlackCall]) -> list[SlackCall]:
    return [c for c in calls if c.status == 200 and c.ok]


@pytest.mark.parametrize(("status", "retry_after"), FAULTS)
def test_a_commands_channel_notice_survives_slack_failing_twice(
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    status: int,
    retry_after: int | None,
) -> None:
    fake_slack.fail_next("chat.postMessage", status=status, retry_after=retry_after, times=2)
    sent = slack.command(f"schedule {PR} tomorrow 14:00 for 45m")
    assert_acknowledged(sent)
    assert "Booked" in reply_to(fake_slack, sent)

    def notice(call: SlackCall) -> bool:
        return call.get("channel") == DEPLOY_CHANNEL and "Deploy booked" in call.all_text()

    attempts = fake_slack.wait_for_count("chat.postMessage", 3, notice, timeout=15)
    fake_slack.assert_no_call("chat.postMessage", lambda c: notice(c) and c not in attempts)
    assert [c.status for c in attempts] == [status, status, 200]
    assert len(delivered(attempts)) == 1
    assert len(fake_slack.messages(DEPLOY_CHANNEL)) == 1


@pytest.mark.parametrize(("status", "retry_after"), FAULTS)
def test_the_announcement_update_survives_slack_failing_twice(
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    status: int,
    retry_after: int | None,
) -> None:
    booked = book(slack, fake_slack, db_engine)
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    posted = announcement(fake_slack, booked.short_id)
    ts = posted.response["ts"]
    before = len(fake_slack.calls("chat.update"))

    fake_slack.fail_next("chat.update", status=status, retry_after=retry_after, times=2)
    click = slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
    assert_acknowledged(click)

    attempts = fake_slack.wait_for_count(
        "chat.update", before + 3, lambda c: c.get("ts") == ts, timeout=15
    )[before:]
    fake_slack.assert_no_call("chat.update", lambda c: c.get("ts") == ts and c not in attempts)
    assert [c.status for c in attempts] == [status, status, 200]
    final = fake_slack.message(DEPLOY_CHANNEL, ts)
    assert final is not None and "Approved" in str(final["blocks"])
    assert booking(db_engine, booked.short_id).status == "approved"
    # The requester's "approved" message went out once too.
    approved_dms = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.get("channel") == ALICE and "is approved" in c.all_text()
    ]
    assert len(delivered(approved_dms)) == 1


def test_a_clock_reminder_slack_refuses_is_sent_on_a_later_tick_once(
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    clock_tasks: list[ClockTask],
) -> None:
    booked = book(slack, fake_slack, db_engine)
    fake_slack.reset()
    due = booked.starts_at - timedelta(minutes=60)

    # More failures than the client retries (3 attempts): the reminder is handed to the
    # outbox (sent once as far as the clock is concerned) and waits there.
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1, times=3)
    tick(clock_tasks, due)
    assert delivered(fake_slack.calls("chat.postMessage")) == []
    with Session(db_engine) as session:
        [claim] = session.query(SentNotification).all()
        assert claim.sent_at is not None and claim.attempts == 1
        [waiting] = session.query(OutboxMessage).filter_by(conversation=ALICE).all()
        assert (waiting.state, waiting.attempts, waiting.error) == ("pending", 1, "ratelimited")

    # The next tick, 30 seconds later: Slack is unwell once more, the client's own retry
    # gets it through.
    fake_slack.fail_next("chat.postMessage", status=503, times=1)
    tick(clock_tasks, due + timedelta(seconds=30))
    tick(clock_tasks, due + timedelta(seconds=60))
    hour_reminders = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.get("channel") == ALICE and "in about an hour" in c.all_text()
    ]
    assert [c.status for c in hour_reminders] == [429, 429, 429, 503, 200]
    assert len(delivered(hour_reminders)) == 1
    with Session(db_engine) as session:
        [claim] = session.query(SentNotification).all()
        assert claim.attempts == 1
        [sent] = session.query(OutboxMessage).filter_by(conversation=ALICE).all()
        assert (sent.state, sent.attempts) == ("sent", 2)
