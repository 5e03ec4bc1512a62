"""The one approver check (bot/slack/users.py `is_approver`) when Slack cannot read the
approver group: whatever needs an approver is refused, and the person is told Slack could
not be asked rather than "only approvers"."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from helpers import PR, announcement, book, booking, count, reply_to
from sqlalchemy.engine import Engine

from bot.booking.model import Booking
from bot.windows.model import DeployWindow
from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import ALICE, BOB, SignedClient

UNKNOWN = "couldn't check the approver group"


@pytest.fixture
def slack(start_bot: Callable[..., InProcessBot], fake_slack: FakeSlack) -> Iterator[SignedClient]:
    # No members configured for the group: Slack answers no_such_subteam.
    unreadable = start_bot(APPROVER_USERGROUP="S0MISSING")
    with SignedClient.for_bot(unreadable, fake_slack) as client:
        yield client


def test_an_approve_click_is_refused_and_explained(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    posted = announcement(fake_slack, booked.short_id)
    sent = slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
    assert UNKNOWN in reply_to(fake_slack, sent)
    assert booking(db_engine, booked.short_id).status == "awaiting_approval"


def test_changing_the_windows_is_refused_and_explained(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    answer = reply_to(
        fake_slack, slack.command('window add blackout 2030-01-02 to 2030-01-02 UTC "Launch"')
    )
    assert UNKNOWN in answer and "Only approvers" not in answer
    assert count(db_engine, DeployWindow) == 0


def test_booking_over_the_windows_is_refused_and_explained(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    text = f'schedule {PR} tomorrow 14:00 for 45m --override-window "the launch needs it"'
    answer = reply_to(fake_slack, slack.command(text, user_id=ALICE))
    assert answer.startswith("Not booked") and UNKNOWN in answer
    assert count(db_engine, Booking) == 0
