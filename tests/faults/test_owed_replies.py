"""A request whose work committed but whose reply never reached Slack is answered once,
by the run that does it again (docs/adr/0018, "Exactly once" and its amendment); Slack's
own retries of a request stay one booking, one channel notice and one answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.freeze.model import Freeze
from bot.idempotency import ProcessedRequest
from bot.plans.model import DeployPlan
from bot.slack.work_table import SlackWork
from faults.common import assert_acknowledged
from support.fake_slack import FakeSlack, SlackCall
from support.server import BotProcess
from support.slack_requests import Sent, SignedClient

pytestmark = pytest.mark.real_server

PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"
# Short, so that the work a killed process had claimed is claimed again within seconds.
LEASE_SECONDS = 3
DEPLOY_CHANNEL = "C0DEPLOY"


def _schedule() -> str:
    start = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    start += timedelta(days=2)
    return f"schedule {PR} {start.date().isoformat()} {start:%H:%M} for 30m"


def _bookings(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [b.short_id for b in session.query(Booking)]


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition never became true")


def _no_work_left(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.query(SlackWork).count() == 0


def _answers(fake_slack: FakeSlack, sent: Sent) -> list[SlackCall]:
    """The answers Slack took on the command's response URL."""
    return [
        c
        for c in fake_slack.calls("response_url")
        if c.target == sent.response_url_id and c.status == 200
    ]


def _notices(fake_slack: FakeSlack, short_id: str) -> list[SlackCall]:
    return [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.get("channel") == DEPLOY_CHANNEL and short_id in c.all_text() and c.ok
    ]


def _noted(engine: Engine, sent: Sent) -> bool:
    """Whether the command's work has committed (its claim notes what it did)."""
    key = f"command:{sent.request.payload['trigger_id']}"
    with Session(engine) as session:
        row = session.get(ProcessedRequest, key)
        return row is not None and row.result is not None


COMMANDS = {
    "schedule": _schedule,
    "plan": lambda: "plan remove #1 #2 tomorrow 13:00 for 30m every 1h",
    "freeze": lambda: "freeze Release day",
}


# Commands whose channel notice is recorded in the work's own transaction (ADR 0019).
NOTICE_IN_THE_WORKS_TRANSACTION = ("schedule", "plan", "freeze")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_work_whose_reply_died_with_its_process_is_answered_once_after_the_restart(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine, command: str
) -> None:
    bot = start_bot(WORK_LEASE_SECONDS=str(LEASE_SECONDS))
    # The reply hangs on Slack's side and then fails: it never reaches the person, and
    # the process is killed while it waits (after the work committed).
    fake_slack.set_delay("response_url", 3)
    fake_slack.fail_next("response_url", status=500)
    with SignedClient.for_bot(bot, fake_slack) as slack:
        sent = slack.command(COMMANDS[command]())
        assert_acknowledged(sent)
        _wait_for(lambda: _noted(db_engine, sent))
        if command in NOTICE_IN_THE_WORKS_TRANSACTION:
            # Its channel notice, recorded with the work, goes out once the work commits
            # and before the reply (ADR 0019): killed after it, the reply is in flight.
            fake_slack.wait_for("chat.postMessage", lambda c: c.get("channel") == DEPLOY_CHANNEL)
            time.sleep(1)  # the reply is on its way (the fake holds it 3 s)
        bot.kill()
        assert _answers(fake_slack, sent) == []
        assert not _no_work_left(db_engine), "the work finished before the kill"

        # The first run's reply may still have been on its way (a busy machine): given
        # the fault's time to answer it, whatever the fake has not taken is cleared, so
        # that the failure belongs to the run that died and never to the one that redoes.
        time.sleep(3.5)
        fake_slack.clear_faults()
        fake_slack.set_delay("response_url", 0)
        bot.start()
        # Claimed again once the killed process's lease has run out, done again: the
        # key is taken, the reply owed, so the person hears what was done.
        _wait_for(lambda: _no_work_left(db_engine) and bool(_answers(fake_slack, sent)))
        time.sleep(1)  # anything more on its way to Slack

    [answer] = _answers(fake_slack, sent)
    if command == "schedule":
        [short_id] = _bookings(db_engine)
        assert f"Booked `{short_id}`" in answer.all_text(), answer.all_text()
        # Never a second notice: the first run died before posting its own (an outbox's
        # business, not the repeated run's).
        assert len(_notices(fake_slack, short_id)) <= 1
    elif command == "plan":
        with Session(db_engine) as session:
            [plan] = session.query(DeployPlan).all()
        assert f"Plan `{plan.short_id}`" in answer.all_text(), answer.all_text()
        assert len(_bookings(db_engine)) == 2
        assert len(_notices(fake_slack, f"Plan `{plan.short_id}`")) <= 1
    else:
        assert "Frozen." in answer.all_text(), answer.all_text()
        with Session(db_engine) as session:
            assert session.query(Freeze).count() == 1
        assert len(_notices(fake_slack, "Release day")) <= 1


def test_a_reply_slack_refused_is_given_by_the_retry_and_a_retry_after_an_answer_is_silent(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    bot = start_bot()
    with SignedClient.for_bot(bot, fake_slack) as slack:
        # Slack's response URL fails the first answer: the booking stands, its reply is
        # owed, and Slack's retry of the request (its acknowledgement seemed late) gets it.
        fake_slack.fail_next("response_url", status=500)
        sent = slack.command(_schedule())
        assert_acknowledged(sent)
        fake_slack.wait_for_count("response_url", 1)
        _wait_for(lambda: _no_work_left(db_engine))
        assert _answers(fake_slack, sent) == []
        retry = slack.send(sent.request, retry_num=1, response_url_id=sent.response_url_id)
        assert_acknowledged(retry)
        fake_slack.wait_for_count("response_url", 2)
        _wait_for(lambda: _no_work_left(db_engine))
        # Answered now: a further retry says nothing more.
        again = slack.send(sent.request, retry_num=2, response_url_id=sent.response_url_id)
        assert_acknowledged(again)
        _wait_for(lambda: _no_work_left(db_engine))
        time.sleep(1)  # anything more on its way to Slack

    [short_id] = _bookings(db_engine)
    [answer] = _answers(fake_slack, sent)
    assert f"Booked `{short_id}`" in answer.all_text(), answer.all_text()
    assert len(_notices(fake_slack, short_id)) == 1
    assert len(fake_slack.calls("response_url")) == 2  # the refused one, the answer


def test_slack_retries_while_the_first_is_worked_are_one_booking_one_notice_one_answer(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    bot = start_bot()
    # A slow answer keeps the first delivery's work going while the retries arrive.
    fake_slack.set_delay("response_url", 1)
    with SignedClient.for_bot(bot, fake_slack) as slack:
        sent = slack.command(_schedule())
        assert_acknowledged(sent)
        for n in (1, 2):
            retry = slack.send(sent.request, retry_num=n, response_url_id=sent.response_url_id)
            assert_acknowledged(retry)
        fake_slack.wait_for_count("response_url", 1)
        _wait_for(lambda: _no_work_left(db_engine))
        # And once more after it was all done.
        late = slack.send(sent.request, retry_num=3, response_url_id=sent.response_url_id)
        assert_acknowledged(late)
        _wait_for(lambda: _no_work_left(db_engine))
        time.sleep(1.5)  # anything more on its way to Slack

    [short_id] = _bookings(db_engine)
    assert len(_answers(fake_slack, sent)) == 1
    assert len(fake_slack.calls("response_url")) == 1
    assert len(_notices(fake_slack, short_id)) == 1
