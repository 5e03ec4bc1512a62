"""Freeze rules in plain Python: who may unfreeze, what commit status a pull request should
carry, when a reminder is due. No Slack, no database, no GitHub.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.slack.limits import FREEZE_REASON_MAX

# The commit-status context that branch protection is told to require.
STATUS_CONTEXT = "deploybot/freeze"
MAX_REASON_LENGTH = FREEZE_REASON_MAX  # bot/slack/limits.py, with the other bounds
# GitHub refuses commit-status descriptions longer than this.
MAX_STATUS_DESCRIPTION = 140
NO_REASON = "no reason given"


class CommitState(enum.StrEnum):
    """The two commit-status states the bot sets (GitHub also knows pending and error)."""

    FAILURE = "failure"
    SUCCESS = "success"


@dataclass(frozen=True)
class DesiredStatus:
    state: CommitState
    description: str


@dataclass(frozen=True)
class FreezeFacts:
    """What the status rule needs to know about the branch's active freeze."""

    branch: str
    reason: str
    booking_short_id: str | None
    exempt_pulls: Collection[int]
    # The repository the exempt numbers are in (the booked app's); None: the one
    # repository there is, so a number is exempt wherever it is seen.
    exempt_repo: str | None = None


def clean_reason(text: str) -> str:
    """The reason as stored: surrounding whitespace and runs of blanks squeezed."""
    return " ".join(text.split())


def reason_problem(reason: str) -> str | None:
    """Why a freeze reason is refused, or None when it is fine (empty is fine)."""
    if len(reason) > MAX_REASON_LENGTH:
        return (
            f"Keep the reason under {MAX_REASON_LENGTH} characters, "
            "e.g. `/deploy freeze ES mapping change for search (booking B7K2Q)`."
        )
    return None


def shown_reason(reason: str) -> str:
    return reason or NO_REASON


def may_unfreeze(*, frozen_by: str, user_id: str, user_is_approver: bool) -> bool:
    """The person who froze the branch may always lift the freeze; anyone else must be an
    approver (everyone is one when no APPROVER_USERGROUP is set)."""
    return user_id == frozen_by or user_is_approver


def needs_approver_check(*, frozen_by: str, user_id: str) -> bool:
    """Whether deciding `may_unfreeze` needs to ask Slack about the user group."""
    return user_id != frozen_by


def desired_status(
    freeze: FreezeFacts | None, branch: str, number: int, repo: str | None = None
) -> DesiredStatus:
    """The commit status pull request `number` (of `repo`) against `branch` should carry
    right now."""
    if freeze is None:
        return DesiredStatus(CommitState.SUCCESS, _fit(f"{branch} is not frozen"))
    if number in freeze.exempt_pulls and _same_repo(freeze.exempt_repo, repo):
        booking = f" (booking {freeze.booking_short_id})" if freeze.booking_short_id else ""
        return DesiredStatus(
            CommitState.SUCCESS,
            _fit(f"Exempt from the {branch} freeze: part of the change{booking}"),
        )
    return DesiredStatus(
        CommitState.FAILURE,
        _fit(f"{branch} is frozen, hold off merging: {shown_reason(freeze.reason)}"),
    )


def _same_repo(exempt_repo: str | None, repo: str | None) -> bool:
    # #12 of another app's repository is another pull request: it stays frozen.
    return exempt_repo is None or repo is None or exempt_repo.lower() == repo.lower()


def _fit(text: str, limit: int = MAX_STATUS_DESCRIPTION) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reminder_due(
    frozen_at: datetime, now: datetime, every: timedelta
) -> tuple[int, datetime] | None:
    """The latest reminder that has fallen due for a freeze still on at `now`: its number
    (1 for the first) and when it fell due; None before the first is due.

    Only the latest counts: a clock that was down for a day sends one late reminder, not
    six in a row.
    """
    if now < frozen_at + every:
        return None
    number = int((now - frozen_at) / every)
    return number, frozen_at + number * every


def format_elapsed(value: timedelta) -> str:
    """A duration for people: "3 minutes", "2h05m", "1 day 4h"."""
    minutes = max(0, int(value.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        day_text = "1 day" if days == 1 else f"{days} days"
        return f"{day_text} {hours}h" if hours else day_text
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
