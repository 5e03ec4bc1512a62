"""Which reminders a booking has, when they fall due and whether they still matter."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.booking.rules import Status

UNAPPROVED = frozenset({Status.SCHEDULED, Status.AWAITING_APPROVAL})
NOT_STARTED = UNAPPROVED | {Status.APPROVED}


class Reminder(enum.StrEnum):
    REQUESTER_HOUR = "remind-60"
    REQUESTER_QUARTER = "remind-15"
    CHANNEL_UNAPPROVED = "unapproved-30"
    CHANNEL_SLOT_PASSED = "slot-passed-unapproved"


# How long before the slot each one falls due.
LEAD: dict[Reminder, timedelta] = {
    Reminder.REQUESTER_HOUR: timedelta(hours=1),
    Reminder.REQUESTER_QUARTER: timedelta(minutes=15),
    Reminder.CHANNEL_UNAPPROVED: timedelta(minutes=30),
    Reminder.CHANNEL_SLOT_PASSED: timedelta(0),
}
# The furthest ahead any reminder looks: bounds the clock's query.
HORIZON = max(LEAD.values())


@dataclass(frozen=True)
class BookingFacts:
    id: int
    status: Status
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


def due_reminders(booking: BookingFacts, now: datetime) -> list[tuple[Reminder, datetime]]:
    """The reminders of `booking` that are due at `now` and still worth sending."""
    due = []
    for reminder, lead in LEAD.items():
        due_at = booking.starts_at - lead
        # A reminder that fell due before the booking existed is not owed to anyone.
        if due_at > now or due_at < booking.created_at:
            continue
        if reminder in (Reminder.REQUESTER_HOUR, Reminder.REQUESTER_QUARTER):
            relevant = booking.status in NOT_STARTED and now < booking.starts_at
        elif reminder is Reminder.CHANNEL_UNAPPROVED:
            relevant = booking.status in UNAPPROVED and now < booking.starts_at
        else:
            relevant = booking.status in UNAPPROVED and now < booking.ends_at
        if relevant:
            due.append((reminder, due_at))
    return due


def reminder_key(booking: BookingFacts, reminder: Reminder) -> str:
    # The start time is part of the key: a moved booking gets fresh reminders.
    return f"booking:{booking.id}:{reminder.value}:{booking.starts_at.isoformat()}"


def should_expire(status: Status, ends_at: datetime, now: datetime, after: timedelta) -> bool:
    return status in NOT_STARTED and now >= ends_at + after
