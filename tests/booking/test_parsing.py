from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.booking.parsing import (
    ParseDefaults,
    ScheduleParseError,
    ZoneUnknown,
    parse_edit_text,
    parse_pull_request,
    parse_schedule_text,
)
from bot.booking.rules import Kind, PullRequestRef

# Sunday 22 November 2026, 20:00 UTC = 12:00 in Los Angeles.
NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
LA = ZoneInfo("America/Los_Angeles")
DEFAULTS = ParseDefaults(app="foundation-site", repo="org/repo", duration=timedelta(minutes=30))


def parse(text: str, tz: ZoneInfo | None = LA, defaults: ParseDefaults = DEFAULTS):  # type: ignore[no-untyped-def]
    return parse_schedule_text(text, tz=tz, now=NOW, defaults=defaults)


def problems_of(text: str, defaults: ParseDefaults = DEFAULTS) -> dict[str, str]:
    with pytest.raises(ScheduleParseError) as caught:
        parse(text, defaults=defaults)
    return {p.field: p.message for p in caught.value.problems}


def test_the_documented_example() -> None:
    request = parse(
        'https://github.com/org/repo/pull/123 tomorrow 14:00 for 45m "Rename Person.name"'
    )
    assert request.pull_requests == (PullRequestRef("org/repo", 123),)
    assert request.starts_at == datetime(2026, 11, 23, 14, 0, tzinfo=LA)
    assert request.duration == timedelta(minutes=45)
    assert request.title == "Rename Person.name"
    assert request.app == "foundation-site"
    assert request.kind is Kind.OTHER


def test_time_is_read_in_the_requesters_zone() -> None:
    in_tokyo = parse("#5 2026-11-24 15:30", tz=ZoneInfo("Asia/Tokyo"))
    assert in_tokyo.starts_at == datetime(2026, 11, 24, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("tomorrow 9am", datetime(2026, 11, 23, 9, 0, tzinfo=LA)),
        ("mon 14:00", datetime(2026, 11, 23, 14, 0, tzinfo=LA)),
        ("2026-11-24 15:30", datetime(2026, 11, 24, 15, 30, tzinfo=LA)),
        ("fri 9am", datetime(2026, 11, 27, 9, 0, tzinfo=LA)),
    ],
)
def test_date_forms(when: str, expected: datetime) -> None:
    assert parse(f"#1 {when}").starts_at == expected


def test_slack_escaped_links_options_and_curly_quotes() -> None:
    request = parse(
        "<https://github.com/org/repo/pull/7> <https://github.com/org/repo/pull/8|#8> "
        "app:other-site kind:es rollback:“restore backup” tomorrow 10:00 for 1h30m “Reindex”"
    )
    assert [pr.number for pr in request.pull_requests] == [7, 8]
    assert request.app == "other-site"
    assert request.kind is Kind.ES_MAPPING
    assert request.rollback_plan == "restore backup"
    assert request.duration == timedelta(minutes=90)
    assert request.title == "Reindex"


def test_default_duration_and_title() -> None:
    request = parse("#12 tomorrow 10:00")
    assert request.duration == timedelta(minutes=30)
    assert request.title == "org/repo#12"


def test_unknown_kind() -> None:
    assert "Unknown kind" in problems_of("#1 tomorrow 10:00 kind:database")["kind"]


def test_malformed_pr_reference() -> None:
    message = problems_of("https://github.com/org/repo/issues/3 tomorrow 10:00")["pull_requests"]
    assert "not a pull request" in message
    assert "#abc" in problems_of("#abc tomorrow 10:00")["pull_requests"]


def test_short_pr_reference_needs_a_repo() -> None:
    no_repo = ParseDefaults(app="a", repo=None, duration=timedelta(minutes=30))
    assert "GITHUB_REPO" in problems_of("#12 tomorrow 10:00", no_repo)["pull_requests"]


def test_unreadable_time_and_duration() -> None:
    problems = problems_of("#1 next blursday for ages")
    assert "could not read" in problems["starts_at"]
    assert "not a duration" in problems["duration"]


def test_missing_time() -> None:
    assert "when" in problems_of("#1")["starts_at"]


def test_no_app_anywhere() -> None:
    no_app = ParseDefaults(app=None, repo="org/repo", duration=timedelta(minutes=30))
    assert "app" in problems_of("#1 tomorrow 10:00", no_app)


def test_pr_url_forms() -> None:
    assert parse_pull_request("https://github.com/o/r/pull/9/files", None) == PullRequestRef(
        "o/r", 9
    )
    assert parse_pull_request("o/r#9", None) == PullRequestRef("o/r", 9)


APPS_DEFAULTS = ParseDefaults(
    app="foundation-site",
    repo="mozilla/foundation.mozilla.org",
    duration=timedelta(minutes=30),
    app_repos={
        "foundation-site": "mozilla/foundation.mozilla.org",
        "donate": "mozilla/donate-wagtail",
    },
)


def test_with_apps_a_short_reference_is_in_the_booked_apps_repository() -> None:
    donate = parse("#12 app:donate tomorrow 14:00", defaults=APPS_DEFAULTS)
    assert donate.pull_requests == (PullRequestRef("mozilla/donate-wagtail", 12),)
    site = parse("#12 tomorrow 14:00", defaults=APPS_DEFAULTS)
    assert site.pull_requests == (PullRequestRef("mozilla/foundation.mozilla.org", 12),)


def test_with_apps_an_unknown_app_is_refused_with_the_known_ones() -> None:
    problems = problems_of("#12 app:nope tomorrow 14:00", defaults=APPS_DEFAULTS)
    assert "donate, foundation-site" in problems["app"]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("in 3 hours", NOW + timedelta(hours=3)),
        ("2026-11-24T15:30Z", datetime(2026, 11, 24, 15, 30, tzinfo=UTC)),
        ("2026-11-24 15:30+01:00", datetime(2026, 11, 24, 14, 30, tzinfo=UTC)),
    ],
)
def test_with_the_zone_unknown_a_time_that_needs_none_is_read(
    when: str, expected: datetime
) -> None:
    assert parse(f"#1 {when}", tz=None).starts_at == expected


@pytest.mark.parametrize("when", ["tomorrow 14:00", "mon 9am", "2026-11-24 15:30", "16:00"])
def test_with_the_zone_unknown_a_time_that_needs_it_is_refused(when: str) -> None:
    with pytest.raises(ZoneUnknown):
        parse(f"#1 {when}", tz=None)
    with pytest.raises(ZoneUnknown):
        parse_edit_text(when, tz=None, now=NOW, repo="org/repo")


def test_with_the_zone_unknown_an_edit_without_a_time_needs_none() -> None:
    assert parse_edit_text("for 1h", tz=None, now=NOW, repo="org/repo").duration == timedelta(
        hours=1
    )
    # Text that is no time at all is the usual problem, not an unknown zone.
    with pytest.raises(ScheduleParseError):
        parse("#1 whenever", tz=None)
