"""Turn the text of `/deploy schedule ...` into a BookingRequest, or say precisely what
is wrong with it.

Accepted form (order of the parts is free, except that the duration follows "for"):

    /deploy schedule [app:NAME] [kind:migration|es|other] PR... WHEN [for DURATION]
                     ["Title"] [rollback:"..."]

Dates are read by `dateparser` in the requester's time zone, durations by `pytimeparse`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dateparser
from pytimeparse.timeparse import timeparse

from bot.booking.rules import KIND_ALIASES, BookingRequest, Kind, Problem, PullRequestRef

EXAMPLE = (
    "/deploy schedule https://github.com/org/repo/pull/123 tomorrow 14:00 for 45m "
    '"Rename Person.name"'
)

_PR_URL = re.compile(r"^https?://github\.com/([\w.-]+/[\w.-]+)/pull/(\d+)(?:[/#?].*)?$")
_PR_SHORT = re.compile(r"^(?:([\w.-]+/[\w.-]+))?#(\d+)$")
# Slack escapes links in command text as <url> or <url|label>.
_SLACK_LINK = re.compile(r"<(https?://[^>|]+)(?:\|[^>]*)?>")
# key:value or key:"value with spaces" (straight or curly quotes: Slack clients on macOS
# turn straight quotes into curly ones).
_OPTION = re.compile(r'\b(app|kind|rollback|notes):(?:["“]([^"”]*)["”]|(\S+))', re.IGNORECASE)
_QUOTED = re.compile(r'["“]([^"”]*)["”]')


class ScheduleParseError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class ParseDefaults:
    app: str | None
    repo: str | None  # owner/name, for `#123`
    duration: timedelta
    kind: Kind = Kind.OTHER
    # APPS: each booked app's repository, for `#123` in a booking of that app. Empty:
    # any app name goes and `#123` is in `repo`.
    app_repos: Mapping[str, str | None] = field(default_factory=dict)


def parse_pull_request(token: str, default_repo: str | None) -> PullRequestRef:
    """Parse one PR reference; raise ValueError with the reason when it is not one."""
    token = token.strip().strip("<>")
    if match := _PR_URL.match(token):
        return PullRequestRef(match.group(1), int(match.group(2)))
    if match := _PR_SHORT.match(token):
        repo = match.group(1) or default_repo
        if not repo:
            raise ValueError(
                f"`{token}` needs a repository: GITHUB_REPO is not set, so write the full "
                "URL, e.g. https://github.com/org/repo/pull/123"
            )
        return PullRequestRef(repo, int(match.group(2)))
    raise ValueError(
        f"`{token}` is not a pull request. Use a URL like "
        "https://github.com/org/repo/pull/123 or #123"
    )


def parse_kind(text: str) -> Kind:
    kind = KIND_ALIASES.get(text.strip().lower())
    if kind is None:
        raise ValueError(
            f"Unknown kind `{text}`. Use one of: migration, es (mapping change), other"
        )
    return kind


def parse_duration(text: str) -> timedelta:
    seconds = timeparse(text.strip()) if text.strip() else None
    if seconds is None or seconds <= 0:
        raise ValueError(f"`{text}` is not a duration. Write it like 45m, 1h30m or 2h")
    return timedelta(seconds=seconds)


class ZoneUnknown(Exception):
    """The typed time means different instants in different time zones, and the
    person's zone is not known (Slack could not say): nothing can be booked from it."""


# Two zones whose offsets differ by a fraction of an hour: a time that reads as the same
# instant in both does not depend on the zone ("in 15 minutes", "2026-11-24T15:30Z").
_PROBE_ZONES = (ZoneInfo("UTC"), ZoneInfo("Asia/Kathmandu"))


def parse_when(text: str, tz: ZoneInfo | None, now: datetime) -> datetime:
    """Read a start time typed by a person in time zone `tz`; returns an aware datetime.

    With `tz` None (unknown), a time that does not depend on the zone is still read;
    one that does raises ZoneUnknown, and text that is no time at all ValueError."""
    if tz is None:
        instants = {_parse_in(text, zone, now) for zone in _PROBE_ZONES}
        if len(instants) == 1:
            return instants.pop()
        raise ZoneUnknown(text)
    return _parse_in(text, tz, now)


def _parse_in(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    local_now = now.astimezone(tz).replace(tzinfo=None)
    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "TIMEZONE": tz.key,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": local_now,
        },
    )
    if not isinstance(parsed, datetime):
        raise ValueError(
            f"I could not read `{text}` as a date and time. "
            "Try `tomorrow 14:00`, `mon 9am` or `2026-11-24 15:30`"
        )
    return parsed


@dataclass
class _Parts:
    """The pieces of a booking line, before the pieces are interpreted."""

    options: dict[str, str]
    title: str
    pull_requests: list[PullRequestRef]
    when_text: str
    duration: timedelta | None
    problems: list[Problem]


def _split(text: str, repo: str | None, example: str) -> _Parts:
    problems: list[Problem] = []
    text = _SLACK_LINK.sub(r"\1", text)

    options: dict[str, str] = {}
    for match in _OPTION.finditer(text):
        options[match.group(1).lower()] = (
            match.group(2) if match.group(2) is not None else match.group(3)
        )
    text = _OPTION.sub(" ", text)

    titles = _QUOTED.findall(text)
    title = titles[-1].strip() if titles else ""
    text = _QUOTED.sub(" ", text)

    pull_requests: list[PullRequestRef] = []
    remaining: list[str] = []
    for token in text.split():
        looks_like_pr = token.startswith(("http://", "https://", "#")) or re.match(
            r"^[\w.-]+/[\w.-]+#", token
        )
        if looks_like_pr:
            try:
                pull_requests.append(parse_pull_request(token, repo))
            except ValueError as exc:
                problems.append(Problem("pull_requests", str(exc), example))
        else:
            remaining.append(token)

    duration = None
    lowered = [t.lower() for t in remaining]
    if "for" in lowered:
        cut = len(lowered) - 1 - lowered[::-1].index("for")
        when_text = " ".join(remaining[:cut])
        try:
            duration = parse_duration(" ".join(remaining[cut + 1 :]))
        except ValueError as exc:
            problems.append(Problem("duration", str(exc), example))
    else:
        when_text = " ".join(remaining)
    return _Parts(options, title, list(dict.fromkeys(pull_requests)), when_text, duration, problems)


def parse_schedule_text(
    text: str, *, tz: ZoneInfo | None, now: datetime, defaults: ParseDefaults
) -> BookingRequest:
    """Parse the arguments of `/deploy schedule`; raise ScheduleParseError listing every
    problem found (not just the first), each with an example, or ZoneUnknown when `tz`
    is None and the start time depends on it."""
    parts = _split(text, defaults.repo, EXAMPLE)
    named_app = parts.options.get("app") or defaults.app or ""
    app_repo = defaults.app_repos.get(named_app)
    if app_repo is not None and app_repo != defaults.repo:
        # `#123` means a PR of the booked app's own repository.
        parts = _split(text, app_repo, EXAMPLE)
    problems = parts.problems
    options = parts.options

    kind = defaults.kind
    if "kind" in options:
        try:
            kind = parse_kind(options["kind"])
        except ValueError as exc:
            problems.append(Problem("kind", str(exc), "kind:migration"))

    starts_at = now
    if not parts.when_text:
        problems.append(Problem("starts_at", "Say when the deploy starts.", EXAMPLE))
    else:
        try:
            starts_at = parse_when(parts.when_text, tz, now)
        except ValueError as exc:
            problems.append(Problem("starts_at", str(exc), EXAMPLE))

    app = options.get("app") or defaults.app or ""
    if not app:
        problems.append(
            Problem("app", "Name the app: no default app is configured.", "app:foundation-site")
        )
    elif defaults.app_repos and app not in defaults.app_repos:
        known = sorted(defaults.app_repos)
        problems.append(
            Problem(
                "app",
                f"`{app}` is not one of the apps deploybot knows ({', '.join(known)}).",
                f"app:{known[0]}",
            )
        )
    if problems:
        raise ScheduleParseError(problems)

    title = parts.title or ", ".join(pr.short for pr in parts.pull_requests) or kind.label
    return BookingRequest(
        app=app,
        kind=kind,
        pull_requests=tuple(parts.pull_requests),
        starts_at=starts_at,
        duration=parts.duration or defaults.duration,
        title=title,
        rollback_plan=options.get("rollback", ""),
        notes=options.get("notes", ""),
    )


EDIT_EXAMPLE = "/deploy edit B7K2Q tomorrow 16:00 for 1h"


@dataclass(frozen=True)
class EditRequest:
    starts_at: datetime | None
    duration: timedelta | None
    pull_requests: tuple[PullRequestRef, ...]


def parse_edit_text(
    text: str, *, tz: ZoneInfo | None, now: datetime, repo: str | None
) -> EditRequest:
    """Parse what `/deploy edit ID ...` changes: any of a new time, duration, PR list.
    ZoneUnknown when `tz` is None and the new time depends on it."""
    parts = _split(text, repo, EDIT_EXAMPLE)
    problems = parts.problems
    starts_at = None
    if parts.when_text:
        try:
            starts_at = parse_when(parts.when_text, tz, now)
        except ValueError as exc:
            problems.append(Problem("starts_at", str(exc), EDIT_EXAMPLE))
    if not problems and not (starts_at or parts.duration or parts.pull_requests):
        problems.append(
            Problem("starts_at", "Say what to change: a time, `for DURATION` or PRs.", EDIT_EXAMPLE)
        )
    if problems:
        raise ScheduleParseError(problems)
    return EditRequest(starts_at, parts.duration, tuple(parts.pull_requests))
