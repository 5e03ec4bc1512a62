"""The iCalendar feed over HTTP: who may read it and what calendar apps get."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers import PR, announcement, book, booking, reply_to
from icalendar import Calendar, Event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, SignedClient

TOKEN = "calendar-token-0123456789abcdef"


@pytest.fixture
def feed_bot(start_bot: Callable[..., BotProcess]) -> BotProcess:
    return start_bot(CALENDAR_TOKEN=TOKEN)


@pytest.fixture
def client(feed_bot: BotProcess, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(feed_bot, fake_slack) as signed:
        yield signed


def fetch(bot: BotProcess, token: str | None = TOKEN) -> httpx.Response:
    params = {} if token is None else {"token": token}
    return bot.get("/calendar.ics", params=params)


def events_of(response: httpx.Response) -> dict[str, Event]:
    assert response.status_code == 200, response.text
    calendar = Calendar.from_ical(response.content)
    return {str(event["UID"]): event for event in calendar.events}


def history(engine: Engine, short_id: str, status: str, days_ago: float) -> None:
    """A finished booking in the past, which no command can create."""
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    row = Booking(
        short_id=short_id,
        app="foundation-site",
        kind="migration",
        title=f"Old {status} deploy",
        pull_requests=["mozilla/foundation.mozilla.org#7"],
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        status=status,
        requester_id=BOB,
        rollback_plan="migrate back to 0040",
        revision=4,
        started_at=starts,
        finished_at=starts + timedelta(minutes=20),
    )
    with Session(engine) as session:
        session.add(row)
        session.commit()


def test_the_feed_lists_bookings_as_events(
    client: SignedClient, feed_bot: BotProcess, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    scheduled = book(
        client, fake_slack, db_engine, when="tomorrow 10:00", extra='rollback:"migrate back"'
    )
    approved = book(client, fake_slack, db_engine, when="tomorrow 12:00")
    reply_to(fake_slack, client.command(f"ready {approved.short_id}"))
    posted = announcement(fake_slack, approved.short_id)
    client.click(posted, "approval_approve", f"{approved.short_id}:0", user_id=BOB)
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    awaiting = book(client, fake_slack, db_engine, when="tomorrow 16:00")
    reply_to(fake_slack, client.command(f"ready {awaiting.short_id}"))
    cancelled = book(client, fake_slack, db_engine, when="tomorrow 18:00")
    reply_to(fake_slack, client.command(f"cancel {cancelled.short_id}"))
    history(db_engine, "LAND2", "landed", days_ago=3)
    history(db_engine, "FAIL2", "failed", days_ago=10)
    history(db_engine, "RBCK2", "rolled_back", days_ago=10.5)
    history(db_engine, "OLD22", "landed", days_ago=45)  # outside the 30-day window

    response = fetch(feed_bot)
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0"
    assert "deploybot" in str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) == "Deploys (deploybot)"
    assert calendar.refresh_interval == timedelta(minutes=15)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M" in response.content
    assert b"X-PUBLISHED-TTL:PT15M" in response.content

    events = events_of(response)
    listed = [b.short_id for b in (scheduled, approved, awaiting, cancelled)]
    listed += ["LAND2", "FAIL2", "RBCK2"]
    assert set(events) == {f"{short_id}@deploybot" for short_id in listed}
    statuses = {uid.split("@")[0]: str(event["STATUS"]) for uid, event in events.items()}
    assert statuses == {
        scheduled.short_id: "TENTATIVE",
        awaiting.short_id: "TENTATIVE",
        approved.short_id: "CONFIRMED",
        cancelled.short_id: "CANCELLED",
        "LAND2": "CONFIRMED",
        "FAIL2": "CONFIRMED",
        "RBCK2": "CONFIRMED",
    }

    first = events[f"{scheduled.short_id}@deploybot"]
    stored = booking(db_engine, scheduled.short_id)
    assert first.start == stored.starts_at and first.start.tzinfo is not None
    assert first.start.utcoffset() == timedelta(0)
    assert first.end == stored.ends_at
    assert first.end - first.start == timedelta(minutes=45)
    assert str(first["SUMMARY"]) == f"[foundation-site] {stored.title} (other)"
    assert first["SEQUENCE"] == stored.revision
    assert first.last_modified is not None
    description = str(first["DESCRIPTION"])
    assert PR in description and ALICE in description and "migrate back" in description
    assert "Status: scheduled" in description

    # Every visible change bumps the revision, and with it the SEQUENCE clients compare.
    assert events[f"{approved.short_id}@deploybot"]["SEQUENCE"] == (
        booking(db_engine, approved.short_id).revision
    )
    assert booking(db_engine, approved.short_id).revision > 1
    old = events["LAND2@deploybot"]
    assert "Status: landed" in str(old["DESCRIPTION"]) and "Finished:" in str(old["DESCRIPTION"])


def test_wrong_or_missing_tokens_get_the_ordinary_not_found(feed_bot: BotProcess) -> None:
    unknown = feed_bot.get("/no-such-page")
    assert unknown.status_code == 404
    for token in (None, "", "wrong-token-0123456789", TOKEN[:-1], TOKEN + "x", "jöken"):
        response = fetch(feed_bot, token)
        assert response.status_code == 404, token
        assert response.text == unknown.text
    assert fetch(feed_bot).status_code == 200


def test_the_feed_is_off_without_a_token_setting(bot: BotProcess) -> None:
    assert fetch(bot).status_code == 404
    assert fetch(bot, None).status_code == 404


def test_an_empty_feed_is_still_a_calendar(feed_bot: BotProcess) -> None:
    response = fetch(feed_bot)
    assert events_of(response) == {}
    assert Calendar.from_ical(response.content)["PRODID"]
