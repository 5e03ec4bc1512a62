"""Deploy windows' rules in-process: cron read in the window's zone, wall-clock durations
across daylight-saving changes, breaches, the next slot that fits, parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.windows.rules import (
    Window,
    WindowError,
    WindowKind,
    allowed_at,
    boundaries,
    breach,
    next_slot,
    occurrences,
    parse_override_flag,
    parse_seed,
    parse_window,
    state_at,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def weekend(zone: str = "Europe/Berlin") -> Window:
    """Friday 15:00 to Monday 09:00, local time."""
    return Window(
        WindowKind.BLACKOUT, zone, "Weekend", cron="0 15 * * 5", duration=timedelta(hours=66)
    )


def office(zone: str) -> Window:
    return Window(
        WindowKind.ALLOWED, zone, "Office hours", cron="0 9 * * 1-5", duration=timedelta(hours=8)
    )


# ------------------------------------------------------------------ daylight saving


def test_the_weekend_of_the_spring_change_in_berlin_ends_at_nine_local() -> None:
    # Clocks went forward on Sunday 29 March 2026: the weekend is 65 real hours long.
    [interval] = occurrences(weekend(), utc(2026, 3, 28), utc(2026, 3, 29))
    assert interval.starts_at.astimezone(BERLIN) == datetime(2026, 3, 27, 15, tzinfo=BERLIN)
    assert interval.ends_at.astimezone(BERLIN).hour == 9
    assert interval.starts_at == utc(2026, 3, 27, 14)
    assert interval.ends_at == utc(2026, 3, 30, 7)


def test_the_weekend_of_the_autumn_change_in_berlin_ends_at_nine_local() -> None:
    # Clocks went back on Sunday 25 October 2026: 67 real hours.
    [interval] = occurrences(weekend(), utc(2026, 10, 24), utc(2026, 10, 25))
    assert interval.starts_at == utc(2026, 10, 23, 13)
    assert interval.ends_at == utc(2026, 10, 26, 8)
    assert interval.ends_at - interval.starts_at == timedelta(hours=67)


@pytest.mark.parametrize(
    ("day", "opens_utc", "closes_utc"),
    [
        # Friday before the US spring change (8 March 2026): EST, UTC-5.
        (utc(2026, 3, 6, 12), utc(2026, 3, 6, 14), utc(2026, 3, 6, 22)),
        # Monday after it: EDT, UTC-4.
        (utc(2026, 3, 9, 12), utc(2026, 3, 9, 13), utc(2026, 3, 9, 21)),
        # Friday before the autumn change (1 November 2026): EDT.
        (utc(2026, 10, 30, 12), utc(2026, 10, 30, 13), utc(2026, 10, 30, 21)),
        # Monday after it: EST again.
        (utc(2026, 11, 2, 12), utc(2026, 11, 2, 14), utc(2026, 11, 2, 22)),
    ],
)
def test_office_hours_in_new_york_follow_the_clock_change(
    day: datetime, opens_utc: datetime, closes_utc: datetime
) -> None:
    [interval] = occurrences(office("America/New_York"), day, day + timedelta(hours=12))
    assert (interval.starts_at, interval.ends_at) == (opens_utc, closes_utc)
    assert allowed_at([office("America/New_York")], opens_utc)
    assert not allowed_at([office("America/New_York")], closes_utc)
    assert not allowed_at([office("America/New_York")], opens_utc - timedelta(minutes=1))


def test_a_start_in_the_skipped_hour_happens_once_and_the_repeated_hour_once() -> None:
    nightly = Window(
        WindowKind.BLACKOUT,
        "Europe/Berlin",
        "Backups",
        cron="30 2 * * *",
        duration=timedelta(hours=1),
    )
    spring = occurrences(nightly, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert len(spring) == 1  # 02:30 did not exist on 29 March; cronsim moves it to 03:00
    autumn = occurrences(nightly, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert len(autumn) == 1  # 02:30 came twice on 25 October; the window starts once


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "Australia/Sydney",
        "Pacific/Chatham",
        "UTC",
    ],
)
def test_fridays_at_three_are_fridays_at_three_in_every_zone(zone: str) -> None:
    tz = ZoneInfo(zone)
    found = occurrences(weekend(zone), utc(2026, 1, 1), utc(2026, 12, 31))
    assert len(found) in (52, 53)
    for interval in found:
        local_start = interval.starts_at.astimezone(tz)
        local_end = interval.ends_at.astimezone(tz)
        assert (local_start.weekday(), local_start.hour, local_start.minute) == (4, 15, 0)
        assert (local_end.weekday(), local_end.hour) == (0, 9)


# ------------------------------------------------------------------ breaches and slots


def test_a_blackout_wins_over_an_allowed_window() -> None:
    holidays = parse_window('blackout 2026-12-20 to 2027-01-03 Europe/Berlin "Holidays"')
    windows = [office("Europe/Berlin"), holidays]
    monday = utc(2026, 12, 21, 10)
    found = breach(windows, monday, monday + timedelta(hours=1))
    assert found is not None and found.window == holidays
    assert "Holidays" in found.message
    # The end date is inclusive: all of 3 January is in the blackout.
    assert not allowed_at([holidays], datetime(2027, 1, 3, 23, 59, tzinfo=BERLIN))
    assert allowed_at([holidays], datetime(2027, 1, 4, 0, 0, tzinfo=BERLIN))


def test_outside_the_allowed_windows_and_running_past_their_end() -> None:
    windows = [office("Europe/Berlin")]
    night = breach(windows, utc(2026, 12, 1, 22), utc(2026, 12, 1, 23))
    assert night is not None and "outside the allowed windows" in night.message
    late = breach(windows, utc(2026, 12, 1, 15, 30), utc(2026, 12, 1, 16, 30))
    assert late is not None and "runs past the end" in late.message
    assert breach(windows, utc(2026, 12, 1, 9), utc(2026, 12, 1, 10)) is None


def test_the_next_slot_skips_the_weekend_the_night_and_the_bookings() -> None:
    windows = [office("Europe/Berlin"), weekend()]
    friday_late = utc(2026, 12, 4, 13, 30)  # 14:30 Berlin, weekend starts at 15:00
    busy = [(utc(2026, 12, 7, 8), utc(2026, 12, 7, 9, 30))]
    found = next_slot(windows, busy, friday_late, timedelta(hours=1))
    # Monday 09:00 Berlin is 08:00 UTC, taken until 09:30 UTC.
    assert found == (utc(2026, 12, 7, 9, 30), utc(2026, 12, 7, 10, 30))


def test_no_slot_when_nothing_ever_fits() -> None:
    always = Window(
        WindowKind.BLACKOUT, "UTC", "Never", cron="0 * * * *", duration=timedelta(minutes=61)
    )
    assert (
        next_slot([always], [], utc(2026, 12, 1), timedelta(hours=1), horizon=timedelta(days=2))
        is None
    )


def test_state_says_what_is_on_and_when_it_changes() -> None:
    windows = [weekend()]
    saturday = utc(2026, 12, 5, 12)
    state = state_at(windows, saturday)
    assert not state.open
    assert state.current is not None and state.current.window.description == "Weekend"
    assert state.changes_at == utc(2026, 12, 7, 8)
    tuesday = state_at(windows, utc(2026, 12, 8, 12))
    assert tuesday.open and tuesday.changes_at == utc(2026, 12, 11, 14)
    assert boundaries(windows, utc(2026, 12, 4), utc(2026, 12, 8)) == [
        utc(2026, 12, 4, 14),
        utc(2026, 12, 7, 8),
    ]


zones = st.sampled_from(
    ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "UTC"]
)


@settings(max_examples=60, deadline=None)
@given(
    zone=zones,
    start_hour=st.integers(0, 23),
    weekday=st.integers(0, 6),
    hours=st.integers(1, 72),
    offset_minutes=st.integers(0, 60 * 24 * 400),
    duration_minutes=st.integers(5, 240),
    busy_at=st.lists(st.integers(0, 60 * 24 * 14), max_size=4),
)
def test_the_suggested_slot_always_fits(
    zone: str,
    start_hour: int,
    weekday: int,
    hours: int,
    offset_minutes: int,
    duration_minutes: int,
    busy_at: list[int],
) -> None:
    windows = [
        Window(
            WindowKind.BLACKOUT,
            zone,
            "Blackout",
            cron=f"0 {start_hour} * * {weekday}",
            duration=timedelta(hours=hours),
        ),
        office("America/New_York"),
    ]
    wanted = utc(2026, 1, 1) + timedelta(minutes=offset_minutes)
    duration = timedelta(minutes=duration_minutes)
    busy = [(wanted + timedelta(minutes=m), wanted + timedelta(minutes=m + 90)) for m in busy_at]
    found = next_slot(windows, busy, wanted, duration)
    assert found is not None
    start, end = found
    assert start >= wanted and end - start == duration
    assert breach(windows, start, end) is None
    assert not any(s < end and start < e for s, e in busy)


# ------------------------------------------------------------------ parsing


def test_parsing_the_two_forms() -> None:
    recurring = parse_window(
        'blackout "0 15 * * 5" for 66h Europe/Berlin "Weekend: Friday 15:00 to Monday 09:00"'
    )
    assert (recurring.cron, recurring.duration, recurring.zone) == (
        "0 15 * * 5",
        timedelta(hours=66),
        "Europe/Berlin",
    )
    one_off = parse_window(
        "blackout 2026-11-24 18:00 to 2026-11-25 06:00 America/New_York “Launch” --freeze"
    )
    assert one_off.freeze_branch and one_off.description == "Launch"
    assert one_off.starts_at == datetime(2026, 11, 24, 18, tzinfo=NEW_YORK)
    assert one_off.ends_at == datetime(2026, 11, 25, 6, tzinfo=NEW_YORK)
    seeded = parse_seed(
        'blackout "0 15 * * 5" for 66h Europe/Berlin "Weekend"; '
        'blackout 2026-12-20 to 2027-01-03 Europe/Berlin "Holidays"'
    )
    assert [w.description for w in seeded] == ["Weekend", "Holidays"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Start with `allowed` or `blackout`"),
        ('sometimes "0 15 * * 5" for 1h UTC "x"', "Start with `allowed` or `blackout`"),
        ('blackout "0 15 * *" for 1h UTC "x"', "five-field cron"),
        ('blackout "0 25 * * 5" for 1h UTC "x"', "not a valid cron expression"),
        ('blackout "0 15 * * 5" for 1h Mars/Olympus "x"', "not an IANA time zone"),
        ('blackout "*/10 * * * *" for 5m UTC "x"', "more often than once an hour"),
        ('blackout "0,30 9 * * *" for 5m UTC "x"', "more often than once an hour"),
        ('blackout "0 15 * * 5" for soon UTC "x"', "not a duration"),
        ('blackout "0 15 * * 5" for 40d UTC "x"', "between a minute and 31 days"),
        ('blackout "0 15 * * 5" for 1h UTC', "description in quotes"),
        ('blackout 0 15 * * 5 for 1h UTC "x"', "cron expression in quotes"),
        ("blackout 2026-12-20 to 2027-01-03 UTC", "description in quotes"),
        ('blackout 2027-01-03 to 2026-12-20 UTC "x"', "must end after it starts"),
        ('blackout 20 Dec to 3 Jan UTC "x"', "is not a date"),
        ('allowed 2026-12-20 to 2026-12-21 UTC "x" --freeze', "Only a blackout"),
    ],
)
def test_bad_windows_are_refused_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(WindowError) as raised:
        parse_window(text)
    assert says in str(raised.value)


def test_the_override_flag() -> None:
    assert parse_override_flag('#1 fri 16:00 "T" --override-window "launch"') == (
        '#1 fri 16:00 "T"',
        "launch",
    )
    assert parse_override_flag("#1 fri 16:00") == ("#1 fri 16:00", None)
    with pytest.raises(ValueError, match="needs a reason"):
        parse_override_flag("#1 fri --override-window")


def test_a_malformed_seed_setting_stops_start_up_naming_it() -> None:
    from bot.settings import Settings

    with pytest.raises(ValueError, match="not an IANA time zone"):
        Settings(deploy_windows='blackout "0 15 * * 5" for 66h Berlin "Weekend"')  # type: ignore[call-arg]
    ok = Settings(deploy_windows='blackout "0 15 * * 5" for 66h Europe/Berlin "Weekend"')  # type: ignore[call-arg]
    assert len(parse_seed(ok.deploy_windows)) == 1
