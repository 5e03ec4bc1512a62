"""Property-based tests of the parsers, in-process (cheap, so many examples): whatever
people type, a parser returns a result or a refusal that says what to fix. It never
raises anything else, which would reach Slack as an apology instead of a useful answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.approval.blocks import parse_button_value
from bot.booking.parsing import (
    ParseDefaults,
    ScheduleParseError,
    parse_duration,
    parse_edit_text,
    parse_kind,
    parse_pull_request,
    parse_schedule_text,
)
from bot.booking.rules import BookingPolicy, BookingRequest, check_request

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
DEFAULTS = ParseDefaults(
    app="foundation-site", repo="mozilla/foundation.mozilla.org", duration=timedelta(minutes=30)
)
POLICY = BookingPolicy(min_lead=timedelta(minutes=10), max_duration=timedelta(hours=8))
ZONES = st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"])

# Pieces people really type, so examples reach past the first check.
WORDS = st.sampled_from(
    [
        "#123",
        "https://github.com/mozilla/foundation.mozilla.org/pull/7",
        "<https://github.com/o/r/pull/9|o/r#9>",
        "<@U0ALICE001>",
        "<#C0DEPLOY|engineering>",
        "tomorrow",
        "14:00",
        "mon",
        "in 15 minutes",
        "for",
        "45m",
        "1h30m",
        "forever",
        "app:foundation-site",
        "kind:migration",
        "kind:es",
        "kind:bogus",
        '"Rename a field"',
        'rollback:"migrate back"',
        "2026-13-45",
        "25:99",
        "-1h",
        "0m",
        "every",
        "--override",
        "\u202e",
        "日本語",
        "😀",
    ]
)
TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=12).map(" ".join),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, zone=ZONES)
def test_schedule_text_parses_or_refuses_with_a_reason(text: str, zone: str) -> None:
    try:
        request = parse_schedule_text(text, tz=ZoneInfo(zone), now=NOW, defaults=DEFAULTS)
    except ScheduleParseError as exc:
        assert exc.problems
        assert all(problem.message.strip() for problem in exc.problems)
        return
    assert isinstance(request, BookingRequest)
    assert request.starts_at.tzinfo is not None
    # What the parser lets through, the booking rules check before anything is stored:
    # a request they accept is a complete one.
    problems = check_request(request, NOW, POLICY)
    assert all(problem.message.strip() for problem in problems)
    if not problems:
        assert request.app and request.pull_requests
        assert NOW < request.starts_at <= NOW + POLICY.max_horizon
        assert POLICY.min_duration <= request.duration <= POLICY.max_duration


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, zone=ZONES)
def test_edit_text_parses_or_refuses_with_a_reason(text: str, zone: str) -> None:
    try:
        parse_edit_text(text, tz=ZoneInfo(zone), now=NOW, repo=DEFAULTS.repo)
    except ScheduleParseError as exc:
        assert exc.problems and all(p.message.strip() for p in exc.problems)


@settings(max_examples=1000, deadline=None)
@given(text=st.one_of(st.text(max_size=20), WORDS))
def test_small_parsers_raise_only_value_errors_with_a_message(text: str) -> None:
    for parse in (
        parse_duration,
        parse_kind,
        lambda t: parse_pull_request(t, DEFAULTS.repo),
        parse_button_value,
    ):
        try:
            parse(text)
        except ValueError as exc:
            assert parse is parse_button_value or str(exc).strip()
