"""The words of the clock's messages about bookings."""

from __future__ import annotations

from bot.booking.model import Booking
from bot.booking.rules import Status
from bot.reminders.rules import Reminder
from bot.slack.format import escape, mention, slack_date

LATE_NOTE = " _(sent late: the reminder clock was down when this fell due)_"


def _what(booking: Booking) -> str:
    return f"`{booking.short_id}` ({escape(booking.app)}: {escape(booking.title)})"


def requester_reminder(booking: Booking, reminder: Reminder, late: bool) -> str:
    soon = "in about an hour" if reminder is Reminder.REQUESTER_HOUR else "in 15 minutes"
    text = (
        f":alarm_clock: Your deploy {_what(booking)} starts "
        f"{slack_date(booking.starts_at)} ({soon})."
    )
    if booking.status == Status.APPROVED.value:
        text += f" It is approved: `/deploy start {booking.short_id}` when the slot comes."
    elif booking.status == Status.AWAITING_APPROVAL.value:
        text += " It is still waiting for approval."
    else:
        text += f" It is not announced yet: `/deploy ready {booking.short_id}`."
    return text + (LATE_NOTE if late else "")


def unapproved_warning(booking: Booking, needed: int, late: bool) -> str:
    if booking.status == Status.SCHEDULED.value:
        state = f"{mention(booking.requester_id)} has not announced it for approval yet"
    else:
        state = f"it still needs {needed} approval{'s' if needed != 1 else ''}"
    return (
        f":hourglass_flowing_sand: {_what(booking)} starts {slack_date(booking.starts_at)} "
        f"and {state}." + (LATE_NOTE if late else "")
    )


def slot_passed_unapproved(booking: Booking, late: bool) -> str:
    return (
        f":hourglass: The slot of {_what(booking)} has started and it is not approved, so it "
        f"cannot start. {mention(booking.requester_id)}: get it approved or "
        f"`/deploy edit {booking.short_id}` to move it." + (LATE_NOTE if late else "")
    )


def expired_notice(booking: Booking, late: bool) -> str:
    return (
        f":wastebasket: {_what(booking)} expired: its slot ended "
        f"{slack_date(booking.ends_at)} without a deploy." + (LATE_NOTE if late else "")
    )
