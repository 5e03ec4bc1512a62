"""The multi-PR migration plans from the seeds, as data.

Backward-incompatible migrations are split so that old and new code can both run against
the database while Heroku's preboot overlaps them: rename or retype a field in 3 PRs,
remove a field or model in 2, each deployed separately and in order.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from bot.booking.rules import BookingRequest, Kind, PullRequestRef


class PlanKind(enum.StrEnum):
    RENAME = "rename"
    RETYPE = "retype"
    REMOVE = "remove"


STEPS: dict[PlanKind, tuple[str, ...]] = {
    PlanKind.RENAME: (
        "add the new field and its migration (copy the data over)",
        "replace every reference to the old field with the new one",
        "remove the old field and generate its migration",
    ),
    PlanKind.RETYPE: (
        "add a field of the new type and its migration (convert the data)",
        "replace every reference to the old field with the new one",
        "remove the old field and generate its migration",
    ),
    PlanKind.REMOVE: (
        "remove every usage (models, templates, views, tests)",
        "generate the migration that removes it",
    ),
}

EXAMPLE = (
    "/deploy plan rename #101 #102 #103 tomorrow 14:00 for 45m every 1d "
    '"Rename Person.name to full_name"'
)
DEFAULT_INTERVAL = timedelta(days=1)


def parse_plan_kind(text: str) -> PlanKind:
    try:
        return PlanKind(text.strip().lower())
    except ValueError:
        raise ValueError(
            f"Unknown plan `{text}`. Use rename or retype (3 PRs) or remove (2 PRs)."
        ) from None


def check_pull_request_count(
    kind: PlanKind, pull_requests: tuple[PullRequestRef, ...]
) -> str | None:
    wanted = len(STEPS[kind])
    if len(pull_requests) != wanted:
        return (
            f"A {kind.value} plan has {wanted} steps, one PR each, in deploy order; "
            f"got {len(pull_requests)}."
        )
    return None


def step_requests(
    kind: PlanKind,
    *,
    app: str,
    title: str,
    pull_requests: tuple[PullRequestRef, ...],
    first_start: datetime,
    duration: timedelta,
    interval: timedelta,
    rollback_plan: str = "",
) -> list[BookingRequest]:
    """One booking request per step, `interval` apart, each with its own PR."""
    total = len(STEPS[kind])
    return [
        BookingRequest(
            app=app,
            kind=Kind.MIGRATION,
            pull_requests=(pr,),
            starts_at=first_start + index * interval,
            duration=duration,
            title=f"{title} ({index + 1}/{total}: {description})"[:200],
            rollback_plan=rollback_plan,
        )
        for index, (pr, description) in enumerate(zip(pull_requests, STEPS[kind], strict=True))
    ]
