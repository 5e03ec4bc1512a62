"""Block Kit for the approval announcement and its request-changes modal."""

from __future__ import annotations

import json
from typing import Any

from bot.approval.service import AnnouncementView
from bot.booking.blocks import Blocks, booking_fields
from bot.booking.rules import Kind, Status
from bot.slack.format import escape, mention, slack_date
from bot.slack.limits import CHANGES_REASON_MAX, CONTEXT_TEXT, history_hint, shorten

APPROVE_ACTION = "approval_approve"
REQUEST_CHANGES_ACTION = "approval_request_changes"
CHANGES_MODAL_CALLBACK = "approval_changes"


def button_value(view: AnnouncementView) -> str:
    return f"{view.booking.short_id}:{view.booking.approval_round}"


def parse_button_value(value: str) -> tuple[str, int]:
    short_id, _, round_ = value.partition(":")
    return short_id, int(round_ or 0)


def _headline(view: AnnouncementView) -> str:
    booking = view.booking
    status = Status(booking.status)
    # The reasons people typed are bounded, but escaping can multiply them: each is cut
    # to a share of the section, and the audit trail (/deploy history) keeps them whole.
    hint = history_hint(booking.short_id)
    if status is Status.AWAITING_APPROVAL:
        return ":raising_hand: *Tricky deploy ready: approval needed*"
    if status is Status.APPROVED:
        return (
            f":white_check_mark: *Approved*: {mention(booking.requester_id)} may start it "
            f"from {slack_date(booking.starts_at)} with `/deploy start {booking.short_id}`"
        )
    if status is Status.SCHEDULED:
        if view.changes_requested_by:
            reason = shorten(escape(view.changes_reason or ""), 1500, hint)
            return (
                f":hand: *Changes requested* by {mention(view.changes_requested_by)}: "
                f"{reason}\nApprovals are void; it must be "
                f"announced again with `/deploy ready {booking.short_id}`."
            )
        return (
            ":arrows_counterclockwise: *Approvals voided*: the booking changed. It must be "
            f"announced again with `/deploy ready {booking.short_id}`."
        )
    if status is Status.DEPLOYING:
        override = (
            f" :rotating_light: *without approval (emergency override)*: "
            f"{shorten(escape(booking.override_reason or ''), 1500, hint)}"
            if booking.override_reason
            else ""
        )
        since = slack_date(booking.started_at) if booking.started_at else "now"
        return f":rocket: *Deploying* since {since}{override}"
    if status is Status.LANDED:
        return ":airplane_arriving: *Landed*"
    if status is Status.FAILED:
        return ":rotating_light: *Failed*: rollback checklist in the thread"
    return f"*{status.label.capitalize()}*"


def _approvals_line(view: AnnouncementView) -> str:
    count = len(view.approvers)
    names = ", ".join(mention(a) for a in view.approvers) or "none yet"
    # Many approvers still fit one context element; the count says how many there are.
    names = shorten(names, CONTEXT_TEXT - 100, f" (`/deploy history {view.booking.short_id}`)")
    return f"*Approvals:* {names} ({count} of {view.required} needed)"


def announcement(view: AnnouncementView, operations: str | None = None) -> tuple[str, Blocks]:
    """The announcement; `operations` (mrkdwn, bounded by its maker) says what the
    booked PRs' migrations do, so approvers see what they approve."""
    booking = view.booking
    status = Status(booking.status)
    text = (
        f"{Kind(booking.kind).label.capitalize()} `{booking.short_id}` on {booking.app}, "
        f"{slack_date(booking.starts_at)}: {status.label}"
    )
    blocks: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _headline(view)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": booking_fields(booking)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _approvals_line(view)}]},
    ]
    if operations:
        blocks.insert(2, {"type": "section", "text": {"type": "mrkdwn", "text": operations}})
    buttons: list[dict[str, Any]] = []
    if status is Status.AWAITING_APPROVAL:
        buttons.append(
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": button_value(view),
            }
        )
    if status in (Status.AWAITING_APPROVAL, Status.APPROVED):
        buttons.append(
            {
                "type": "button",
                "action_id": REQUEST_CHANGES_ACTION,
                "style": "danger",
                "text": {"type": "plain_text", "text": "Request changes"},
                "value": button_value(view),
            }
        )
    if buttons:
        blocks.append({"type": "actions", "block_id": "approval", "elements": buttons})
    return text, blocks


def superseded(short_id: str) -> tuple[str, Blocks]:
    text = f"`{short_id}` was announced again; this older announcement no longer counts."
    return text, [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]


def changes_modal(value: str, channel: str | None, message_ts: str | None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CHANGES_MODAL_CALLBACK,
        "private_metadata": json.dumps({"value": value, "channel": channel, "ts": message_ts}),
        "title": {"type": "plain_text", "text": "Request changes"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "What needs to change?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "min_length": 3,
                    "max_length": CHANGES_REASON_MAX,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "PR #2 still reads the old field in views.py",
                    },
                },
            }
        ],
    }
