"""Messages about running deploys and a booking's history."""

from __future__ import annotations

from bot.audit.model import AuditEntry
from bot.booking.model import Booking
from bot.booking.rules import Kind
from bot.deploys.rules import Via, rollback_checklist
from bot.slack.format import escape, mention, slack_date

ACTION_LABELS = {
    "booking.created": "booked it",
    "booking.announced": "announced it for approval",
    "approval.approved": "approved",
    "booking.approved": "completed the approvals",
    "booking.changes_requested": "requested changes",
    "booking.edited": "changed it",
    "booking.started": "started the deploy",
    "booking.override_start": "started it WITHOUT approval (emergency override)",
    "booking.merged": "recorded a merge",
    "booking.landed": "marked it landed",
    "booking.failed": "marked it failed",
    "booking.rolled_back": "marked it rolled back",
    "booking.cancelled": "cancelled it",
    "booking.expired": "expired it",
}


def _what(booking: Booking) -> str:
    return f"`{booking.short_id}` ({escape(booking.app)}: {escape(booking.title)})"


def started_notice(booking: Booking, user_id: str) -> str:
    if booking.override_reason:
        return (
            f":rotating_light: *EMERGENCY OVERRIDE*: {mention(user_id)} started {_what(booking)} "
            f"*without the required approval*. Reason: {escape(booking.override_reason)}\n"
            "This bypass is recorded in the audit log."
        )
    return f":rocket: {mention(user_id)} started {_what(booking)}. Hold on to your hats."


def landed_notice(booking: Booking, user_id: str, via: Via | None = None) -> str:
    if via is not None:
        return f":airplane_arriving: {_what(booking)} landed: {escape(via.description)}."
    return f":airplane_arriving: {_what(booking)} landed ({mention(user_id)})."


def failure_notice(booking: Booking, via: Via | None = None) -> str:
    """The rollback checklist, with what failed it when a release did."""
    checklist = rollback_checklist(booking.app, booking.short_id, booking.rollback_plan)
    if via is None:
        return checklist
    return "\n".join((checklist, f"Failed by {via.description}.", *via.details))


def rolled_back_notice(booking: Booking, user_id: str) -> str:
    return f":leftwards_arrow_with_hook: {_what(booking)} was rolled back ({mention(user_id)})."


def edited_notice(booking: Booking, user_id: str, voided: bool) -> str:
    text = (
        f":pencil2: {mention(user_id)} changed {_what(booking)}: now "
        f"{slack_date(booking.starts_at)} to {slack_date(booking.ends_at, '{time}')}."
    )
    if voided:
        text += " Its approvals are void; it must be announced and approved again."
    return text


def details_text(booking: Booking) -> str:
    """All of a booking, nothing cut: what the messages that cut it point to."""
    prs = "\n".join(f"  • <{pr.url}|{pr.short}>" for pr in booking.pull_request_refs)
    lines = [
        f"*`{booking.short_id}`* {escape(booking.title)}",
        f"*App:* {escape(booking.app)}   *Kind:* {Kind(booking.kind).label}",
        f"*When:* {slack_date(booking.starts_at)} to {slack_date(booking.ends_at, '{time}')}",
        f"*PRs:*\n{prs}",
        f"*Requested by:* {mention(booking.requester_id)}",
    ]
    if booking.rollback_plan:
        lines.append(f"*Rollback plan:* {escape(booking.rollback_plan)}")
    if booking.notes:
        lines.append(f"*Notes:* {escape(booking.notes)}")
    return "\n".join(lines)


def history_text(booking_id: str, entries: list[AuditEntry]) -> str:
    lines = [f"*History of `{booking_id}`*"]
    for entry in entries:
        actor = "deploybot" if entry.actor_id == "deploybot" else mention(entry.actor_id)
        line = (
            f"• {slack_date(entry.occurred_at)} {actor} "
            f"{ACTION_LABELS.get(entry.action, entry.action)}"
        )
        if entry.reason:
            line += f": {escape(entry.reason)}"
        lines.append(line)
    return "\n".join(lines)


def kind_label(booking: Booking) -> str:
    return Kind(booking.kind).label
