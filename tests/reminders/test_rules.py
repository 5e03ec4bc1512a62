from datetime import UTC, datetime, timedelta

from bot.booking.rules import Status
from bot.reminders.rules import BookingFacts, Reminder, due_reminders, reminder_key, should_expire

START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def facts(status: Status = Status.SCHEDULED, created: datetime | None = None) -> BookingFacts:
    return BookingFacts(
        1, status, START, START + timedelta(minutes=45), created or START - timedelta(days=1)
    )


def due_at(now: datetime, booking: BookingFacts | None = None) -> set[Reminder]:
    return {reminder for reminder, _ in due_reminders(booking or facts(), now)}


def test_reminders_fall_due_in_turn() -> None:
    assert due_at(START - timedelta(minutes=61)) == set()
    assert due_at(START - timedelta(minutes=60)) == {Reminder.REQUESTER_HOUR}
    assert due_at(START - timedelta(minutes=20)) == {
        Reminder.REQUESTER_HOUR,
        Reminder.CHANNEL_UNAPPROVED,
    }
    assert due_at(START) == {Reminder.CHANNEL_SLOT_PASSED}


def test_approved_deploys_get_only_the_requester_reminders() -> None:
    approved = facts(Status.APPROVED)
    assert due_at(START - timedelta(minutes=1), approved) == {
        Reminder.REQUESTER_HOUR,
        Reminder.REQUESTER_QUARTER,
    }
    assert due_at(START + timedelta(minutes=1), approved) == set()


def test_reminders_owed_before_the_booking_existed_are_not_sent() -> None:
    late_booking = facts(created=START - timedelta(minutes=20))
    assert due_at(START - timedelta(minutes=5), late_booking) == {Reminder.REQUESTER_QUARTER}


def test_keys_change_when_the_booking_moves() -> None:
    moved = BookingFacts(
        1, Status.SCHEDULED, START + timedelta(hours=1), START + timedelta(hours=2), START
    )
    assert reminder_key(facts(), Reminder.REQUESTER_HOUR) != reminder_key(
        moved, Reminder.REQUESTER_HOUR
    )


def test_expiry() -> None:
    ends = START + timedelta(minutes=45)
    after = timedelta(hours=12)
    assert not should_expire(Status.APPROVED, ends, ends + after - timedelta(seconds=1), after)
    assert should_expire(Status.APPROVED, ends, ends + after, after)
    assert not should_expire(Status.DEPLOYING, ends, ends + after * 10, after)
