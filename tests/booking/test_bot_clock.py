"""The bot's clock is the one its composition root was given: moving it moves what every
service sees. (The first test is the README's example of an in-process test.)"""

from __future__ import annotations

from helpers import reply_to

from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import SignedClient

PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"
LISTED = "mozilla/foundation.mozilla.org#123"  # how `list` names the PR


def test_a_booking_can_be_listed(
    slack: SignedClient, fake_slack: FakeSlack, bot: InProcessBot
) -> None:
    assert "Booked" in reply_to(fake_slack, slack.command(f"schedule {PR} tomorrow 14:00"))
    bot.clock.advance(hours=1)  # the bot's "now", for its services and rules
    assert LISTED in reply_to(fake_slack, slack.command("list"))
    bot.tick()  # the clock's tasks, once, at the bot's now


def test_a_booking_past_the_bots_now_is_no_longer_upcoming(
    slack: SignedClient, fake_slack: FakeSlack, bot: InProcessBot
) -> None:
    assert "Booked" in reply_to(fake_slack, slack.command(f"schedule {PR} tomorrow 14:00"))
    assert LISTED in reply_to(fake_slack, slack.command("list"))
    bot.clock.advance(days=3)
    assert LISTED not in reply_to(fake_slack, slack.command("list"))
    # And a booking for "tomorrow" is read against the moved clock, not the wall clock.
    assert "Booked" in reply_to(fake_slack, slack.command(f"schedule {PR} tomorrow 14:00"))
    assert LISTED in reply_to(fake_slack, slack.command("list"))
