"""The `deploybot/deploy` rule in plain Python: which commit status a pull request should
carry, given its analysis, the booking that covers it and any allowance. No Slack, no
database, no GitHub.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from bot.booking.rules import Status
from bot.github.statuses import MAX_STATUS_DESCRIPTION, fit_description
from bot.migration_analysis import KIND_ES, OperationFinding, Verdict

# The commit-status context that branch protection is told to require.
STATUS_CONTEXT = "deploybot/deploy"
MAX_ALLOW_REASON = 500
ALLOW_EXAMPLE = '/deploy allow #123 "only renames a help text; checked the SQL"'

ROUTINE_TEXT = "No backward-incompatible migration"


class GateState(enum.StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True)
class GateStatus:
    state: GateState
    description: str


@dataclass(frozen=True)
class Cover:
    """The booking that covers a pull request (the most advanced one, if several)."""

    short_id: str
    status: Status
    starts_at: datetime
    # For a plan step: (number of the earlier step, its booking id) when that step has
    # not landed yet.
    waits_for: tuple[int, str] | None = None
    step: int | None = None
    # The deploy-window rule a deploying booking breaks at this moment (bot/windows), if
    # any: its change must not merge until the window opens or an approver overrides.
    held: str | None = None


@dataclass(frozen=True)
class Allowance:
    by: str  # Slack user id
    reason: str


@dataclass(frozen=True)
class AnalysisFacts:
    verdict: Verdict
    kind: str | None
    first_concern: OperationFinding | None
    es_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateFacts:
    number: int
    analysis: AnalysisFacts | None  # None: not analysed (yet)
    # Why the analysis could not be made; `problem_final` when retrying cannot help.
    problem: str | None = None
    problem_final: bool = False
    cover: Cover | None = None
    allowance: Allowance | None = None


# Most advanced first: the booking that decides the status when several name the PR.
COVER_ORDER = (
    Status.DEPLOYING,
    Status.LANDED,
    Status.APPROVED,
    Status.AWAITING_APPROVAL,
    Status.SCHEDULED,
)


def best_cover(covers: list[Cover]) -> Cover | None:
    """The booking that decides the status: deploying or landed beats approved beats
    awaiting approval beats scheduled; cancelled, expired, failed and rolled-back
    bookings cover nothing."""
    ranked = [cover for cover in covers if cover.status in COVER_ORDER]
    if not ranked:
        return None
    return min(ranked, key=lambda cover: (COVER_ORDER.index(cover.status), cover.starts_at))


def format_when(value: datetime) -> str:
    """A slot time in a status description: GitHub shows it to everyone, so UTC."""
    return value.strftime("%a %d %b %H:%M UTC")


def concern_text(analysis: AnalysisFacts) -> str:
    """A few words naming the first thing that makes the deploy tricky."""
    if analysis.kind == KIND_ES:
        first = analysis.es_paths[0] if analysis.es_paths else "a mapping file"
        return f"ES mapping change ({first})"
    finding = analysis.first_concern
    label = "Tricky" if analysis.verdict == Verdict.TRICKY else "Needs review"
    if finding is None:
        return label
    if finding.operation.startswith("("):
        # Not an operation but a file the analyser could not read: the reason says why.
        return f"{label}: {finding.reason}"
    target = ".".join(part for part in (finding.model, finding.field) if part)
    return f"{label}: {finding.operation} {target}".rstrip()


def desired_gate_status(facts: GateFacts) -> GateStatus:
    """The `deploybot/deploy` status a pull request should carry right now."""
    if facts.allowance is not None:
        return _status(
            GateState.SUCCESS,
            f"Marked routine by @{facts.allowance.by}: {facts.allowance.reason}",
        )
    analysis = facts.analysis
    if analysis is None:
        if facts.problem is None:
            return _status(GateState.PENDING, "Reading this pull request's migrations…")
        if facts.problem_final:
            # Fail closed: what could not be read may be tricky.
            return _with_command(
                f"Could not read the migrations ({facts.problem})",
                f" An approver may /deploy allow #{facts.number}",
                GateState.FAILURE,
            )
        return _status(
            GateState.PENDING, f"Could not read the migrations yet, retrying: {facts.problem}"
        )
    if analysis.verdict == Verdict.ROUTINE:
        return _status(GateState.SUCCESS, ROUTINE_TEXT)
    cover = facts.cover
    if cover is None:
        return _with_command(
            concern_text(analysis),
            f". Book it: /deploy schedule #{facts.number} WHEN",
            GateState.FAILURE,
        )
    booking = f"`{cover.short_id}`"
    if cover.status == Status.DEPLOYING and cover.held is not None:
        return _status(
            GateState.PENDING, f"{booking} is deploying but held: {cover.held}; merge later"
        )
    if cover.status == Status.DEPLOYING:
        return _status(GateState.SUCCESS, f"deploying {booking} now: merge it")
    if cover.status == Status.LANDED:
        return _status(GateState.SUCCESS, f"Deploy {booking} landed")
    if cover.waits_for is not None:
        step, waited = cover.waits_for
        return _status(
            GateState.PENDING,
            f"Step {cover.step or step + 1} ({booking}) waits for step {step} (`{waited}`) to land",
        )
    when = format_when(cover.starts_at)
    if cover.status == Status.APPROVED:
        text = f"{booking} approved, starts at {when}; merge once it is deploying"
    elif cover.status == Status.AWAITING_APPROVAL:
        text = f"{booking} awaiting approval, slot {when}"
    else:
        text = f"Booked as {booking} for {when}; not yet announced for approval"
    return _status(GateState.PENDING, text)


def _status(state: GateState, text: str) -> GateStatus:
    return GateStatus(state, fit_description(text))


def _with_command(head: str, tail: str, state: GateState) -> GateStatus:
    """`head` shortened as needed so that `tail` (the command to run) always fits."""
    room = MAX_STATUS_DESCRIPTION - len(tail)
    return GateStatus(state, fit_description(head, room) + tail)


# Straight and curly quotes people put round the reason (Slack curls them on macOS).
QUOTES = "\"'\u201c\u201d\u2018\u2019"
# `/deploy allow #123 "reason"` (straight or curly quotes, or none); with several apps'
# repositories, `/deploy allow owner/name#123 "reason"` says which repository's #123.
_ALLOW = re.compile(
    r"^(?:(?P<repo>[\w.-]+/[\w.-]+)#|#)?(?P<number>\d{1,9})\s+(?P<reason>.+)$", re.S
)


class AllowParseError(ValueError):
    pass


def parse_allow(text: str) -> tuple[int, str]:
    """The PR number and reason of `/deploy allow`, or AllowParseError naming the fix."""
    _, number, reason = parse_allow_target(text)
    return number, reason


def parse_allow_target(text: str) -> tuple[str | None, int, str]:
    """The repository (if named), PR number and reason of `/deploy allow`, or
    AllowParseError naming the fix."""
    text = " ".join(text.replace("\x00", "").split())
    match = _ALLOW.match(text)
    if match is None:
        if not text:
            raise AllowParseError(f"Say which pull request and why, e.g. `{ALLOW_EXAMPLE}`.")
        if re.match(r"^#?\d+$", text):
            raise AllowParseError(f"Say why it is safe, e.g. `{ALLOW_EXAMPLE}`.")
        raise AllowParseError(
            f"Start with the pull request's number, then the reason, e.g. `{ALLOW_EXAMPLE}`."
        )
    reason = match.group("reason").strip().strip(QUOTES).strip()
    if not reason:
        raise AllowParseError(f"Say why it is safe, e.g. `{ALLOW_EXAMPLE}`.")
    if len(reason) > MAX_ALLOW_REASON:
        raise AllowParseError(
            f"Keep the reason under {MAX_ALLOW_REASON} characters, e.g. `{ALLOW_EXAMPLE}`."
        )
    return match.group("repo"), int(match.group("number")), reason
