"""Every Slack date token's fallback names the same instant as its timestamp, in UTC.

Slack shows the fallback in notifications, e-mails and clients that cannot render date
tokens, so a fallback that disagrees with the timestamp tells people the wrong hour. The
requesters here live east (Berlin) and west (Los Angeles) of UTC, and the times were just
parsed from their own words, not read back from the database.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.slack.format import slack_date
from support.fake_slack import FakeSlack
from support.slack_requests import ALICE, SignedClient

# A first command in a fresh work process loads the date parser; on a machine shared
# with other test runs that alone has taken over the fake's default 10 s.
LOADED = 60.0
PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"
_TOKEN = re.compile(r"<!date\^(\d+)\^[^|>]*\|([^>]*)>")


def tokens(text: str) -> list[tuple[int, str]]:
    return [(int(ts), fallback) for ts, fallback in _TOKEN.findall(text)]


def assert_fallbacks_match(text: str) -> None:
    found = tokens(text)
    assert found, text
    for timestamp, fallback in found:
        expected = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
        assert fallback == expected, text


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles"])
def test_booking_confirmation_and_notice_fallbacks_are_utc(
    slack: SignedClient, fake_slack: FakeSlack, zone: str
) -> None:
    tz = ZoneInfo(zone)
    fake_slack.set_user(ALICE, tz=zone)
    sent = slack.command(f'schedule {PR} tomorrow 14:00 for 45m "Rename Person.name"')
    assert sent.status_code == 200, sent.text
    reply = fake_slack.wait_for_response(sent.response_url_id, timeout=LOADED).all_text()
    assert "Booked" in reply, reply

    local = (datetime.now(tz) + timedelta(days=1)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    assert (int(local.timestamp()), local.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")) in (
        tokens(reply)
    ), reply
    assert_fallbacks_match(reply)

    notice = fake_slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == "C0DEPLOY", LOADED
    )
    assert_fallbacks_match(notice.all_text())
    assert_fallbacks_match(notice.text or "")


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"])
def test_slack_date_fallback_is_the_same_instant_in_utc(zone: str) -> None:
    local = datetime(2026, 12, 3, 14, 0, tzinfo=ZoneInfo(zone))
    token = slack_date(local)
    [(timestamp, fallback)] = tokens(token)
    assert timestamp == int(local.timestamp())
    assert fallback == local.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def test_slack_date_refuses_a_naive_datetime() -> None:
    # A naive datetime says nothing about whose clock it came from; the same rule as
    # the database's UTCDateTime column.
    with pytest.raises(ValueError, match="naive"):
        slack_date(datetime(2026, 12, 3, 14, 0))
