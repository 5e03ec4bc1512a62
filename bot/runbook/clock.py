"""The next-day reminder after an ES mapping change landed (sent once, by the clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.booking.model import Booking
from bot.booking.rules import Kind, Status
from bot.clock.sent_once import Due, deliver
from bot.db import Database
from bot.runbook import blocks
from bot.slack.outbox import Outbox

NEXT_DAY = timedelta(days=1)
# A reminder more than a week overdue is no longer useful.
LOOK_BACK = timedelta(days=7)


class RunbookClock:
    def __init__(self, database: Database, outbox: Outbox, channel: str | None) -> None:
        self.database = database
        self.outbox = outbox
        self.channel = channel

    def next_day_reminders(self, now: datetime) -> int:
        if not self.channel:
            return 0
        with self.database.transaction() as session:
            landed = list(
                session.scalars(
                    sa.select(Booking)
                    .where(Booking.status == Status.LANDED.value)
                    .where(Booking.kind == Kind.ES_MAPPING.value)
                    .where(Booking.starts_at > now - NEXT_DAY - LOOK_BACK)
                    .where(Booking.finished_at <= now - NEXT_DAY)
                )
            )
            session.expunge_all()
        due = []
        for booking in landed:

            def send(late: bool, booking: Booking = booking) -> None:
                assert self.channel is not None  # noqa: S101 -- checked above
                self.outbox.post(
                    self.channel, blocks.next_day_reminder(booking, late), send_now=False
                )

            assert booking.finished_at is not None  # noqa: S101 -- by the query
            due.append(
                Due(f"booking:{booking.id}:es-next-day", booking.finished_at + NEXT_DAY, send)
            )
        return deliver(self.database, due, now)
