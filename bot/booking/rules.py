"""Booking rules in plain Python: what a booking is, what makes one acceptable, and where
the next free slot is. No Slack, no database: everything here is testable on its own.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.slack.limits import MAX_PULL_REQUESTS, NOTES_MAX, ROLLBACK_PLAN_MAX, TITLE_MAX


class Kind(enum.StrEnum):
    MIGRATION = "migration"
    ES_MAPPING = "es_mapping"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            Kind.MIGRATION: "migration",
            Kind.ES_MAPPING: "ES mapping change",
            Kind.OTHER: "other",
        }[self]


# What people may type for each kind; the first alias is the one shown in examples.
KIND_ALIASES: dict[str, Kind] = {
    "migration": Kind.MIGRATION,
    "migrate": Kind.MIGRATION,
    "es": Kind.ES_MAPPING,
    "es-mapping": Kind.ES_MAPPING,
    "es_mapping": Kind.ES_MAPPING,
    "mapping": Kind.ES_MAPPING,
    "other": Kind.OTHER,
}


class Status(enum.StrEnum):
    SCHEDULED = "scheduled"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    DEPLOYING = "deploying"
    LANDED = "landed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


# A booking holds its slot in these states; the database's no-overlap constraint uses
# the same list (see the first migration).
ACTIVE_STATUSES: frozenset[Status] = frozenset(
    {Status.SCHEDULED, Status.AWAITING_APPROVAL, Status.APPROVED, Status.DEPLOYING}
)


@dataclass(frozen=True)
class PullRequestRef:
    repo: str  # owner/name
    number: int

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repo}/pull/{self.number}"

    @property
    def short(self) -> str:
        return f"{self.repo}#{self.number}"


@dataclass(frozen=True)
class BookingRequest:
    """What someone asked for, already parsed but not yet checked against the rules."""

    app: str
    kind: Kind
    pull_requests: tuple[PullRequestRef, ...]
    starts_at: datetime
    duration: timedelta
    title: str
    rollback_plan: str = ""
    notes: str = ""

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + self.duration


@dataclass(frozen=True)
class BookingPolicy:
    min_lead: timedelta
    max_duration: timedelta
    min_duration: timedelta = timedelta(minutes=5)
    # Bookings further out than this are almost certainly a typo in the year.
    max_horizon: timedelta = timedelta(days=180)


@dataclass(frozen=True)
class Problem:
    """A reason a request is refused, with an example of what would be accepted."""

    field: str
    message: str
    example: str = ""


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, field_name: str, message: str, example: str = "") -> None:
        self.items.append(Problem(field_name, message, example))

    def __bool__(self) -> bool:
        return bool(self.items)


def check_request(request: BookingRequest, now: datetime, policy: BookingPolicy) -> list[Problem]:
    """Every rule a booking must satisfy before it is even compared with other bookings."""
    problems = Problems()
    if not request.app:
        problems.add("app", "Name the Heroku app to deploy.", "app:foundation-site")
    if not request.pull_requests:
        problems.add(
            "pull_requests",
            "Name at least one pull request.",
            "https://github.com/org/repo/pull/123 or #123",
        )
    if request.duration < policy.min_duration:
        problems.add(
            "duration",
            f"A deploy slot must last at least {format_duration(policy.min_duration)}.",
            "for 45m",
        )
    elif request.duration > policy.max_duration:
        problems.add(
            "duration",
            f"{format_duration(request.duration)} is longer than the allowed "
            f"{format_duration(policy.max_duration)}; split the work into steps.",
            "for 1h30m",
        )
    earliest = now + policy.min_lead
    if request.starts_at < now:
        problems.add("starts_at", "That time is in the past.", "tomorrow 14:00")
    elif request.starts_at < earliest:
        problems.add(
            "starts_at",
            f"Book at least {format_duration(policy.min_lead)} ahead so people can see it.",
            "tomorrow 14:00",
        )
    elif request.starts_at > now + policy.max_horizon:
        problems.add(
            "starts_at",
            f"That is more than {policy.max_horizon.days} days away; check the date.",
            "2026-11-24 15:30",
        )
    # Bounds on what people type, so that every message about the booking fits Slack's
    # limits (bot/slack/limits.py); the modal asks for the same with max_length.
    if len(request.title) > TITLE_MAX:
        problems.add(
            "title", f"Keep the title under {TITLE_MAX} characters.", '"Rename Person.name"'
        )
    if len(request.pull_requests) > MAX_PULL_REQUESTS:
        problems.add(
            "pull_requests",
            f"{len(request.pull_requests)} pull requests is more than the "
            f"{MAX_PULL_REQUESTS} one booking may name; book a plan or several deploys.",
            "#123 #124",
        )
    if len(request.rollback_plan) > ROLLBACK_PLAN_MAX:
        problems.add(
            "rollback_plan",
            f"The rollback plan is {len(request.rollback_plan)} characters; keep it under "
            f"{ROLLBACK_PLAN_MAX} (link to a longer document).",
            'rollback:"migrate app 0041, redeploy master"',
        )
    if len(request.notes) > NOTES_MAX:
        problems.add(
            "notes",
            f"The notes are {len(request.notes)} characters; keep them under {NOTES_MAX} "
            "(link to a longer document).",
            'notes:"see https://example.com/runbook"',
        )
    return problems.items


def overlaps(a: Slot, b: Slot) -> bool:
    """Half-open intervals: a slot ending at 15:00 does not clash with one starting then."""
    return a.starts_at < b.ends_at and b.starts_at < a.ends_at


def next_free_slot(busy: Iterable[Slot], wanted_start: datetime, duration: timedelta) -> Slot:
    """The earliest slot of `duration` starting at or after `wanted_start` that clashes
    with none of `busy`."""
    ordered = sorted(busy, key=lambda s: s.starts_at)
    candidate = Slot(wanted_start, wanted_start + duration)
    moved = True
    # Repeat until a pass moves nothing, so the answer holds even if `busy` itself
    # contains overlapping slots.
    while moved:
        moved = False
        for slot in ordered:
            if overlaps(candidate, slot):
                candidate = Slot(slot.ends_at, slot.ends_at + duration)
                moved = True
    return candidate


def format_duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours}h{minutes:02d}m"
    if hours:
        return f"{hours}h"
    return f"{minutes}m"
