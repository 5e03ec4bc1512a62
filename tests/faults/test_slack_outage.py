"""A Slack outage of many minutes with commands during it (ADR 0019).

Slack's Web API answers 503 (or refuses connections) for longer than the client's own
retries; people go on booking, approving and starting deploys, their answers come back
on response URLs (a different host), and every channel notice, announcement update and
DM is delivered once Slack answers again: once each, in the order they happened, the
announcement's stale updates collapsed to the latest. Time is the bot's movable clock;
the clock's outbox task is run by `tick()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from helpers import DEPLOY_CHANNEL, announcement, book, reply_to
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.slack.outbox import OutboxMessage
from faults.common import PR, assert_acknowledged
from support.fake_slack import FakeSlack, SlackCall
from support.inprocess import InProcessBot
from support.slack_requests import ALICE, BOB, CAROL, SignedClient
from support.tcp_proxy import TcpProxy

# Two hours of outage, moved through with the clock but sent for real: about 35 s.
pytestmark = pytest.mark.slow

OUTAGE = ("chat.postMessage", "chat.update")


def delivered(fake_slack: FakeSlack, method: str, channel: str) -> list[SlackCall]:
    return [c for c in fake_slack.calls(method) if c.ok and c.get("channel") == channel]


def slack_down(fake_slack: FakeSlack) -> None:
    for method in OUTAGE:
        fake_slack.fail_next(method, status=503, retry_after=None, times=100_000)


@pytest.fixture
def two_approvals_bot(start_bot: Callable[..., InProcessBot]) -> InProcessBot:
    return start_bot(REQUIRED_APPROVALS="2")


@pytest.fixture
def client(two_approvals_bot: InProcessBot, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(two_approvals_bot, fake_slack) as signed:
        yield signed


def test_notices_updates_and_dms_of_a_long_outage_arrive_once_in_order_collapsed(
    two_approvals_bot: InProcessBot,
    client: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    bot = two_approvals_bot
    first = book(client, fake_slack, db_engine, when="in 20 minutes")
    reply_to(fake_slack, client.command(f"ready {first.short_id}"))
    posted = announcement(fake_slack, first.short_id)
    ts = posted.response["ts"]
    before = len(fake_slack.calls())

    slack_down(fake_slack)
    # Bob and Carol approve (two updates of the announcement, a DM to Alice), a second
    # booking is made, then the slot comes and Alice starts (a third update, a notice).
    for approver in (BOB, CAROL):
        click = client.click(posted, "approval_approve", f"{first.short_id}:0", user_id=approver)
        assert_acknowledged(click)
        bot.wait_idle()
    bot.clock.advance(minutes=5)
    bot.tick()
    second = reply_to(fake_slack, client.command(f"schedule {PR} tomorrow 15:00 for 30m"))
    assert "Booked" in second
    second_id = second.split("`")[1]
    bot.clock.advance(minutes=15)
    bot.tick()
    assert "is deploying" in reply_to(fake_slack, client.command(f"start {first.short_id}"))
    bot.wait_idle()
    # Two hours of Slack refusing: the clock keeps trying, and the people's commands
    # keep being answered.
    for _ in range(4):
        bot.clock.advance(minutes=30)
        bot.tick()
    during = fake_slack.calls()[before:]
    assert [c for c in during if c.method in OUTAGE]
    assert not [c for c in during if c.method in OUTAGE and c.ok]

    fake_slack.clear_faults()
    bot.clock.advance(minutes=5)
    bot.tick()

    notices = [c.all_text() for c in delivered(fake_slack, "chat.postMessage", DEPLOY_CHANNEL)]
    # The notices of the outage, once each and in the order they happened.
    outage_notices = notices[2:]
    assert len(outage_notices) == 2, outage_notices
    assert "Deploy booked" in outage_notices[0] and second_id in outage_notices[0]
    assert first.short_id in outage_notices[1] and "started" in outage_notices[1]
    # Three updates of the announcement were recorded; only the latest went out.
    updates = [c for c in fake_slack.calls("chat.update") if c.ok and c.get("ts") == ts]
    assert len(updates) == 1, [u.all_text()[:80] for u in updates]
    final = fake_slack.message(DEPLOY_CHANNEL, ts)
    assert final is not None
    assert "approval_approve" not in str(final["blocks"])
    # Alice's DM that her deploy was approved, once.
    dms = [
        c
        for c in delivered(fake_slack, "chat.postMessage", ALICE)
        if "is approved by" in c.all_text()
    ]
    assert len(dms) == 1
    with Session(db_engine) as session:
        states = {row.state for row in session.query(OutboxMessage)}
        assert states == {"sent", "collapsed"}

    # Nothing goes out twice however often the clock comes back.
    count = len(fake_slack.calls())
    bot.clock.advance(minutes=10)
    bot.tick()
    assert len(fake_slack.calls()) == count


def test_a_notice_slack_refuses_for_good_is_logged_marked_failed_and_not_retried(
    two_approvals_bot: InProcessBot,
    client: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = two_approvals_bot
    slack_down(fake_slack)
    first = reply_to(fake_slack, client.command(f"schedule {PR} tomorrow 14:00 for 30m"))
    second = reply_to(fake_slack, client.command(f"schedule {PR} tomorrow 16:00 for 30m"))
    first_id, second_id = first.split("`")[1], second.split("`")[1]
    bot.wait_idle()

    # Slack comes back, but refuses the first notice for good (say its blocks).
    fake_slack.clear_faults()
    fake_slack.fail_next("chat.postMessage", status=200, error="invalid_blocks")
    bot.clock.advance(minutes=2)
    with caplog.at_level(logging.ERROR, logger="bot.slack.outbox"):
        bot.tick()
    assert "invalid_blocks" in caplog.text

    def attempts_of(short_id: str) -> list[SlackCall]:
        return [
            c
            for c in fake_slack.calls("chat.postMessage")
            if c.get("channel") == DEPLOY_CHANNEL and short_id in c.all_text()
        ]

    # The refused one does not hold the channel back: the next notice went out.
    assert [c.ok for c in attempts_of(second_id)][-1]
    refused = len(attempts_of(first_id))
    for _ in range(6):
        bot.clock.advance(minutes=10)
        bot.tick()
    assert len(attempts_of(first_id)) == refused
    with Session(db_engine) as session:
        failed = session.query(OutboxMessage).filter_by(state="failed").one()
        assert failed.error == "invalid_blocks" and first_id in failed.text


def test_a_refused_connection_is_an_outage_too(
    start_bot: Callable[..., InProcessBot],
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    with TcpProxy("127.0.0.1", fake_slack.port) as proxy:
        bot = start_bot(SLACK_API_URL=f"http://127.0.0.1:{proxy.port}/api/")
        with SignedClient.for_bot(bot, fake_slack) as signed:
            proxy.down()
            # (A command that needs the person's time zone from Slack cannot be done
            # while the Web API is unreachable; a freeze needs nothing from it.)
            assert "Frozen" in reply_to(fake_slack, signed.command("freeze reindexing"))
            bot.wait_idle()
            assert not delivered(fake_slack, "chat.postMessage", DEPLOY_CHANNEL)
            # An hour later Slack can be reached again.
            bot.clock.advance(timedelta(hours=1))
            bot.tick()
            assert not delivered(fake_slack, "chat.postMessage", DEPLOY_CHANNEL)
            proxy.up()
            bot.clock.advance(minutes=5)
            bot.tick()
            [notice] = delivered(fake_slack, "chat.postMessage", DEPLOY_CHANNEL)
            assert "reindexing" in notice.all_text()
