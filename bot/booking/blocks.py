"""Block Kit rendering for bookings. Only presentation lives here: the decisions (what is
allowed, what conflicts) come from rules.py and service.py."""

from __future__ import annotations

import json
from typing import Any

from bot.booking.model import Booking
from bot.booking.parsing import EXAMPLE
from bot.booking.rules import Kind, Problem, Slot, Status, format_duration
from bot.slack.format import escape, mention, slack_date
from bot.slack.limits import (
    APP_MAX,
    DURATION_MAX,
    MAX_PULL_REQUESTS,
    NOTES_MAX,
    PULL_REQUESTS_TEXT_MAX,
    ROLLBACK_PLAN_MAX,
    SECTION_TEXT,
    TITLE_MAX,
    history_hint,
    shorten,
)

Blocks = list[dict[str, Any]]

SCHEDULE_MODAL_CALLBACK = "booking_schedule"
# Handled by the approval package; defined here so bookings don't import approvals.
READY_ACTION = "booking_ready"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


# How much of a booking section each free-text field may take: all of them at their
# longest, with the fixed lines, stay inside one section's SECTION_TEXT.
_TITLE_SHOWN = 300
_PRS_SHOWN = 900
_ROLLBACK_SHOWN = ROLLBACK_PLAN_MAX + 100
_NOTES_SHOWN = 600
_FIELDS_SHOWN = SECTION_TEXT - 100  # room for the line a message puts before them


def pr_links(booking: Booking, limit: int = _PRS_SHOWN) -> str:
    """The PRs as links, as many as fit in `limit` characters, then how many more."""
    refs = booking.pull_request_refs
    shown: list[str] = []
    used = 0
    for index, pr in enumerate(refs):
        link = f"<{pr.url}|{pr.short}>"
        rest = len(refs) - index - 1
        # Keep room for the "and N more" that would follow if later ones do not fit.
        reserve = len(f", and {rest} more (`/deploy history {booking.short_id}`)") if rest else 0
        if used + len(link) + 2 + reserve > limit and shown:
            hidden = len(refs) - index
            return ", ".join(shown) + (
                f", and {hidden} more (`/deploy history {booking.short_id}`)"
            )
        shown.append(link)
        used += len(link) + 2
    return ", ".join(shown)


def when_text(booking: Booking) -> str:
    duration = format_duration(booking.ends_at - booking.starts_at)
    return f"{slack_date(booking.starts_at)} for {duration}"


def booking_fields(booking: Booking, limit: int = _FIELDS_SHOWN) -> str:
    """A booking's details for one section block: each free-text field is cut to its
    share (saying that `/deploy history ID` shows all of it), so that the whole fits
    Slack's section limit whatever is stored."""
    hint = history_hint(booking.short_id)
    lines = [
        f"*`{booking.short_id}`* {shorten(escape(booking.title), _TITLE_SHOWN, hint)}",
        f"*App:* {escape(booking.app)}   *Kind:* {Kind(booking.kind).label}",
        f"*When:* {when_text(booking)}",
        f"*PRs:* {pr_links(booking)}",
        f"*Requested by:* {mention(booking.requester_id)}",
    ]
    if booking.rollback_plan:
        rollback = shorten(escape(booking.rollback_plan), _ROLLBACK_SHOWN, hint)
        lines.append(f"*Rollback plan:* {rollback}")
    if booking.notes:
        lines.append(f"*Notes:* {shorten(escape(booking.notes), _NOTES_SHOWN, hint)}")
    return shorten("\n".join(lines), limit, hint)


def booked_confirmation(booking: Booking) -> tuple[str, Blocks]:
    text = f"Booked `{booking.short_id}`: {booking.app} on {slack_date(booking.starts_at)}"
    blocks = [
        _section(f":white_check_mark: Booked.\n{booking_fields(booking)}"),
        {
            "type": "actions",
            "block_id": "booking_ready",
            "elements": [
                {
                    "type": "button",
                    "action_id": READY_ACTION,
                    "value": booking.short_id,
                    "text": {"type": "plain_text", "text": "Announce for approval"},
                }
            ],
        },
        _context(
            f"When you are ready, announce it for approval (`/deploy ready {booking.short_id}`)."
            f" Cancel with `/deploy cancel {booking.short_id}`."
        ),
    ]
    return text, blocks


def booked_channel_notice(booking: Booking) -> tuple[str, Blocks]:
    text = (
        f"{mention(booking.requester_id)} booked `{booking.short_id}`: {booking.app}, "
        f"{Kind(booking.kind).label}, {slack_date(booking.starts_at)}"
    )
    return text, [_section(f":calendar: *Deploy booked*\n{booking_fields(booking)}")]


def cancelled_channel_notice(booking: Booking, user_id: str) -> str:
    return (
        f":wastebasket: {mention(user_id)} cancelled `{booking.short_id}` "
        f"({escape(booking.app)}, {escape(booking.title)}, was {slack_date(booking.starts_at)})."
    )


def refusal_text(problems: list[Problem], example: str = EXAMPLE) -> str:
    lines = [":warning: Not booked:"]
    for problem in problems:
        line = f"• {problem.message}"
        if problem.example and problem.example not in (EXAMPLE, example):
            line += f" (e.g. `{problem.example}`)"
        lines.append(line)
    lines.append(f"Example: `{example}`")
    return "\n".join(lines)


def conflict_text(conflicting: Booking, next_slot: Slot) -> str:
    return (
        f":no_entry: Not booked: {escape(conflicting.app)} is already booked "
        f"{slack_date(conflicting.starts_at)} to {slack_date(conflicting.ends_at, '{time}')} "
        f"by {mention(conflicting.requester_id)} (`{conflicting.short_id}`: "
        f"{escape(conflicting.title)}).\n"
        f"The next free slot of that length starts {slack_date(next_slot.starts_at)}."
    )


def upcoming_text(bookings: list[Booking], notes: dict[int, str] | None = None) -> str:
    if not bookings:
        return "No deploys are booked. Book one with `/deploy schedule`."
    lines = ["*Upcoming deploys*"]
    for booking in bookings:
        state = (
            "" if booking.status == Status.SCHEDULED.value else f" _{Status(booking.status).label}_"
        )
        lines.append(
            f"• `{booking.short_id}` {slack_date(booking.starts_at)} "
            f"({format_duration(booking.ends_at - booking.starts_at)}) "
            f"*{escape(booking.app)}* {escape(booking.title)}, {Kind(booking.kind).label}, "
            f"{mention(booking.requester_id)}{state}"
            + (f" ({notes[booking.id]})" if notes and booking.id in notes else "")
        )
    return "\n".join(lines)


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _text_input(
    placeholder: str, *, max_length: int, multiline: bool = False, initial: str | None = None
) -> dict[str, Any]:
    # max_length: Slack's client stops the typing there, the same bound check_request
    # holds the one-line form to.
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "multiline": multiline,
        "max_length": max_length,
        "placeholder": {"type": "plain_text", "text": placeholder},
    }
    if initial:
        element["initial_value"] = initial
    return element


def schedule_modal(
    *,
    default_app: str | None,
    origin_channel_id: str | None,
    default_duration: str,
    pull_requests: str | None = None,
    kind: Kind | None = None,
) -> dict[str, Any]:
    """The booking form; `pull_requests` and `kind` pre-fill it (the gate's Book it)."""
    kind_options = [
        {"text": {"type": "plain_text", "text": choice.label.capitalize()}, "value": choice.value}
        for choice in Kind
    ]
    initial_kind = next(
        (option for option in kind_options if kind is not None and option["value"] == kind.value),
        kind_options[0],
    )
    return {
        "type": "modal",
        "callback_id": SCHEDULE_MODAL_CALLBACK,
        "private_metadata": json.dumps({"channel_id": origin_channel_id}),
        "title": {"type": "plain_text", "text": "Book a deploy"},
        "submit": {"type": "plain_text", "text": "Book"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input(
                "app",
                "Heroku app",
                _text_input("foundation-site", max_length=APP_MAX, initial=default_app),
            ),
            _input(
                "pull_requests",
                "Pull requests",
                _text_input(
                    "https://github.com/org/repo/pull/123",
                    max_length=PULL_REQUESTS_TEXT_MAX,
                    multiline=True,
                    initial=pull_requests,
                ),
                hint=f"One per line, in the order they deploy, at most {MAX_PULL_REQUESTS}. "
                "#123 works for the default repo.",
            ),
            _input(
                "kind",
                "Kind",
                {
                    "type": "static_select",
                    "options": kind_options,
                    "initial_option": initial_kind,
                },
            ),
            _input("starts_at", "Start", {"type": "datetimepicker"}, hint="In your own time zone."),
            _input(
                "duration",
                "Expected duration",
                _text_input("45m", max_length=DURATION_MAX, initial=default_duration),
            ),
            _input("title", "What is it?", _text_input("Rename Person.name", max_length=TITLE_MAX)),
            _input(
                "rollback_plan",
                "Rollback plan",
                _text_input(
                    "Migrate back to 0041_previous, redeploy master",
                    max_length=ROLLBACK_PLAN_MAX,
                    multiline=True,
                ),
            ),
            _input(
                "notes",
                "Notes",
                _text_input("Anything reviewers should know", max_length=NOTES_MAX, multiline=True),
                optional=True,
            ),
        ],
    }
