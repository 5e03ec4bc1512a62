"""The iCalendar feed of booked deploys (`GET /calendar.ics?token=...`).

Calendar apps poll a subscribed URL and replace what they had with what they get, so
the feed carries a stable UID per booking, a SEQUENCE that grows with every visible change
(`Booking.revision`), and keeps cancelled bookings for a while as STATUS:CANCELLED so a
client that cached the event learns it is off. See docs/adr/0010-calendar-feed.md.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from icalendar import Calendar, Event, vDuration
from icalendar.enums import STATUS, TRANSP

from bot.booking.model import Booking
from bot.booking.rules import Kind, Status
from bot.db import Database, utcnow

PAST = timedelta(days=30)
FUTURE = timedelta(days=180)  # as far ahead as a booking may be made
LIMIT = 2000
# How often calendar apps should poll. Google Calendar ignores both hints and polls on
# its own schedule (hours); Apple Calendar and Outlook honour them.
REFRESH = timedelta(minutes=15)

CALENDAR_NAME = "Deploys (deploybot)"
PRODID = "-//deploybot//Deploy calendar//EN"

_EVENT_STATUS = {
    Status.SCHEDULED: STATUS.TENTATIVE,
    Status.AWAITING_APPROVAL: STATUS.TENTATIVE,
    Status.APPROVED: STATUS.CONFIRMED,
    Status.DEPLOYING: STATUS.CONFIRMED,
    Status.LANDED: STATUS.CONFIRMED,
    # It happened, even if it went badly: the slot was used.
    Status.FAILED: STATUS.CONFIRMED,
    Status.ROLLED_BACK: STATUS.CONFIRMED,
    Status.CANCELLED: STATUS.CANCELLED,
    Status.EXPIRED: STATUS.CANCELLED,
}


def feed_query(now: datetime, limit: int = LIMIT) -> sa.Select[Booking]:
    # Naming every status keeps the predicate on the leading column of
    # ix_booking_status_starts_at, so each status is one range scan of that index.
    return (
        sa.select(Booking)
        .where(Booking.status.in_(sorted(s.value for s in _EVENT_STATUS)))
        .where(Booking.starts_at >= now - PAST)
        .where(Booking.starts_at < now + FUTURE)
        .order_by(Booking.starts_at, Booking.id)
        .limit(limit)
    )


class CalendarFeed:
    def __init__(
        self,
        database: Database,
        token: str | None,
        now: Callable[[], datetime] = utcnow,
        extra_events: Callable[[datetime, datetime], list[Event]] | None = None,
    ) -> None:
        self.database = database
        self.token = token
        self.now = now
        # Events of other packages over the feed's span (the blackouts, bot/windows).
        self.extra_events = extra_events

    def allows(self, given: str | None) -> bool:
        """Whether `given` is the feed's token. Without a configured token the feed is
        off. Compared in constant time, as bytes (compare_digest refuses non-ASCII str)."""
        if not self.token or not given:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())

    def render(self) -> bytes:
        now = self.now()
        with self.database.transaction() as session:
            bookings = list(session.scalars(feed_query(now)))
        calendar = build_calendar(bookings, now)
        if self.extra_events is not None:
            for event in self.extra_events(now - PAST, now + FUTURE):
                calendar.add_component(event)
        ical: bytes = calendar.to_ical()
        return ical


def build_calendar(bookings: list[Booking], now: datetime) -> Calendar:
    calendar = Calendar.new(
        prodid=PRODID,
        name=CALENDAR_NAME,
        description="Risky deploys booked with deploybot",
        method="PUBLISH",
        calscale="GREGORIAN",
        # A fixed UID: the library would otherwise make up a new one on every request.
        uid="deploys@deploybot",
    )
    # RFC 7986 wants VALUE=DURATION spelled out; X-PUBLISHED-TTL is Outlook's older name.
    calendar.add("REFRESH-INTERVAL", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    for booking in bookings:
        calendar.add_component(booking_event(booking, now))
    return calendar


def booking_event(booking: Booking, now: datetime) -> Event:
    status = Status(booking.status)
    kind = Kind(booking.kind)
    return Event.new(
        uid=f"{booking.short_id}@deploybot",
        start=booking.starts_at,
        end=booking.ends_at,
        stamp=now,
        created=booking.created_at,
        last_modified=booking.updated_at,
        sequence=booking.revision,
        summary=f"[{booking.app}] {booking.title} ({kind.label})",
        description=_description(booking),
        status=_EVENT_STATUS[status],
        categories=[kind.label],
        # Subscribers are told about a deploy; it should not mark them busy.
        transparency=TRANSP.TRANSPARENT,
    )


def _description(booking: Booking) -> str:
    lines = [
        f"Booking {booking.short_id}: {Kind(booking.kind).label} on {booking.app}",
        f"Status: {Status(booking.status).label}",
        f"Requested by Slack user {booking.requester_id}",
    ]
    if booking.started_at is not None:
        lines.append(f"Started: {booking.started_at:%Y-%m-%d %H:%M} UTC")
    if booking.finished_at is not None:
        lines.append(f"Finished: {booking.finished_at:%Y-%m-%d %H:%M} UTC")
    lines.append("Pull requests:")
    lines += [f"  {pr.url}" for pr in booking.pull_request_refs]
    if booking.rollback_plan:
        lines.append(f"Rollback plan: {booking.rollback_plan}")
    if booking.notes:
        lines.append(f"Notes: {booking.notes}")
    lines.append(f"In Slack: /deploy history {booking.short_id}")
    return "\n".join(lines)
