from datetime import UTC, datetime, timedelta

from bot.booking.rules import (
    BookingPolicy,
    BookingRequest,
    Kind,
    PullRequestRef,
    Slot,
    check_request,
    format_duration,
    next_free_slot,
    overlaps,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICY = BookingPolicy(min_lead=timedelta(minutes=10), max_duration=timedelta(hours=8))
PR = PullRequestRef("org/repo", 123)


def at(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def request(**changes: object) -> BookingRequest:
    fields: dict[str, object] = {
        "app": "foundation-site",
        "kind": Kind.MIGRATION,
        "pull_requests": (PR,),
        "starts_at": at(14),
        "duration": timedelta(minutes=45),
        "title": "Rename Person.name",
    }
    fields.update(changes)
    return BookingRequest(**fields)  # type: ignore[arg-type]


def fields_of(problems: list) -> list[str]:
    return [p.field for p in problems]


def test_a_well_formed_request_has_no_problems() -> None:
    assert check_request(request(), NOW, POLICY) == []


def test_past_start_is_refused_with_an_example() -> None:
    [problem] = check_request(request(starts_at=NOW - timedelta(minutes=1)), NOW, POLICY)
    assert problem.field == "starts_at"
    assert "past" in problem.message
    assert problem.example


def test_start_inside_the_lead_time_is_refused() -> None:
    problems = check_request(request(starts_at=NOW + timedelta(minutes=5)), NOW, POLICY)
    assert fields_of(problems) == ["starts_at"]
    assert "10m ahead" in problems[0].message


def test_start_exactly_at_the_lead_time_is_allowed() -> None:
    assert check_request(request(starts_at=NOW + timedelta(minutes=10)), NOW, POLICY) == []


def test_absurd_durations_are_refused() -> None:
    too_long = check_request(request(duration=timedelta(hours=9)), NOW, POLICY)
    too_short = check_request(request(duration=timedelta(minutes=1)), NOW, POLICY)
    assert fields_of(too_long) == ["duration"]
    assert fields_of(too_short) == ["duration"]


def test_start_far_in_the_future_is_refused() -> None:
    problems = check_request(request(starts_at=NOW + timedelta(days=400)), NOW, POLICY)
    assert fields_of(problems) == ["starts_at"]


def test_every_problem_is_reported_at_once() -> None:
    problems = check_request(
        request(app="", pull_requests=(), duration=timedelta(hours=20)), NOW, POLICY
    )
    assert set(fields_of(problems)) == {"app", "pull_requests", "duration"}


def test_slots_are_half_open() -> None:
    assert not overlaps(Slot(at(14), at(15)), Slot(at(15), at(16)))
    assert overlaps(Slot(at(14), at(15)), Slot(at(14, 59), at(16)))
    assert overlaps(Slot(at(14), at(18)), Slot(at(15), at(16)))


def test_next_free_slot_is_the_wanted_one_when_free() -> None:
    slot = next_free_slot([Slot(at(10), at(11))], at(14), timedelta(hours=1))
    assert slot == Slot(at(14), at(15))


def test_next_free_slot_skips_over_a_run_of_bookings() -> None:
    busy = [Slot(at(15), at(16)), Slot(at(14), at(15)), Slot(at(16, 30), at(17))]
    # 16:00-16:30 is too short for an hour, so the answer is after the third booking.
    assert next_free_slot(busy, at(14, 30), timedelta(hours=1)) == Slot(at(17), at(18))


def test_next_free_slot_fits_into_a_gap_that_is_long_enough() -> None:
    busy = [Slot(at(14), at(15)), Slot(at(16), at(17))]
    assert next_free_slot(busy, at(14, 30), timedelta(hours=1)) == Slot(at(15), at(16))


def test_format_duration() -> None:
    assert format_duration(timedelta(minutes=45)) == "45m"
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(hours=2)) == "2h"
