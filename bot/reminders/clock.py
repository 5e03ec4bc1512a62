"""The clock tasks for bookings: reminders (sent once, via sent_once) and expiry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.approval.announcer import Announcer
from bot.approval.model import Approval, Decision
from bot.approval.rules import still_needed
from bot.audit.model import SYSTEM_ACTOR
from bot.booking.lifecycle import Action
from bot.booking.model import Booking
from bot.booking.rules import Status
from bot.booking.service import locked_booking
from bot.booking.transitions import transition
from bot.clock.sent_once import Due, deliver
from bot.db import Database
from bot.reminders import blocks
from bot.reminders.rules import (
    HORIZON,
    NOT_STARTED,
    BookingFacts,
    Reminder,
    due_reminders,
    reminder_key,
    should_expire,
)
from bot.slack.outbox import Outbox

log = logging.getLogger(__name__)

# Expiries are announced if they happened within this window (a clock that was down for
# longer than this has bigger problems than a missing notice).
EXPIRY_NOTICE_WINDOW = timedelta(days=7)


class BookingClock:
    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        announcer: Announcer,
        *,
        channel: str | None,
        required_approvals: int,
        max_duration: timedelta,
        expire_after: timedelta,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.announcer = announcer
        self.channel = channel
        self.required = required_approvals
        self.max_duration = max_duration
        self.expire_after = expire_after

    def candidates(self, now: datetime) -> list[Booking]:
        """Bookings that may have a reminder due: not started, slot within the horizon
        ahead or (for the slot-passed notice) not over yet. Uses ix_booking_status_starts_at."""
        with self.database.transaction() as session:
            rows = list(
                session.scalars(
                    sa.select(Booking)
                    .where(Booking.status.in_([s.value for s in NOT_STARTED]))
                    .where(Booking.starts_at <= now + HORIZON)
                    .where(Booking.starts_at > now - self.max_duration)
                    .order_by(Booking.starts_at)
                )
            )
            session.expunge_all()
            return rows

    def send_reminders(self, now: datetime) -> int:
        due: list[Due] = []
        for booking in self.candidates(now):
            facts = BookingFacts(
                booking.id,
                Status(booking.status),
                booking.starts_at,
                booking.ends_at,
                booking.created_at,
            )
            for reminder, due_at in due_reminders(facts, now):
                due.append(
                    Due(reminder_key(facts, reminder), due_at, self._sender(booking, reminder))
                )
        return deliver(self.database, due, now)

    def _sender(self, booking: Booking, reminder: Reminder) -> Callable[[bool], None]:
        def send(late: bool) -> None:
            if reminder in (Reminder.REQUESTER_HOUR, Reminder.REQUESTER_QUARTER):
                channel = booking.requester_id
                text = blocks.requester_reminder(booking, reminder, late)
            elif not self.channel:
                return
            elif reminder is Reminder.CHANNEL_UNAPPROVED:
                channel = self.channel
                needed = still_needed(self.required, self._approvals(booking))
                text = blocks.unapproved_warning(booking, needed, late)
            else:
                channel = self.channel
                text = blocks.slot_passed_unapproved(booking, late)
            # The outbox sends it at the end of this tick, or once Slack answers again.
            self.outbox.post(channel, text, send_now=False)

        return send

    def _approvals(self, booking: Booking) -> int:
        with self.database.transaction() as session:
            return int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Approval)
                    .where(Approval.booking_id == booking.id)
                    .where(Approval.round == booking.approval_round)
                    .where(Approval.decision == Decision.APPROVE.value)
                )
                or 0
            )

    def expire(self, now: datetime) -> int:
        """Expire bookings left untouched well past their slot, then announce each expiry
        once (the announcement goes through sent_once so a crash can't lose it)."""
        with self.database.transaction() as session:
            candidates = list(
                session.scalars(
                    sa.select(Booking.short_id)
                    .where(Booking.status.in_([s.value for s in NOT_STARTED]))
                    .where(Booking.ends_at <= now - self.expire_after)
                )
            )
        for short_id in candidates:
            with self.database.transaction() as session:
                booking = locked_booking(session, short_id)
                if booking is None or not should_expire(
                    Status(booking.status), booking.ends_at, now, self.expire_after
                ):
                    continue  # another clock got there first, or someone acted on it
                transition(session, booking, Action.EXPIRE, actor_id=SYSTEM_ACTOR, at=now)
                # The announcement loses its buttons with the expiry, in its transaction.
                self.announcer.changed(session, booking)
        return self._announce_expiries(now)

    def _announce_expiries(self, now: datetime) -> int:
        with self.database.transaction() as session:
            expired = list(
                session.scalars(
                    sa.select(Booking)
                    .where(Booking.status == Status.EXPIRED.value)
                    # Bounded look-back; the sent_once keys make re-listing harmless.
                    .where(Booking.starts_at > now - self.expire_after - EXPIRY_NOTICE_WINDOW)
                )
            )
            session.expunge_all()
        due = []
        for booking in expired:

            def send(late: bool, booking: Booking = booking) -> None:
                if self.channel:
                    self.outbox.post(
                        self.channel, blocks.expired_notice(booking, late), send_now=False
                    )

            due.append(
                Due(f"booking:{booking.id}:expired", booking.ends_at + self.expire_after, send)
            )
        return deliver(self.database, due, now)
