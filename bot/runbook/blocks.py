"""Block Kit for the runbook checklist and the landing announcements."""

from __future__ import annotations

from typing import Any

from bot.booking.model import Booking
from bot.runbook.rules import NEXT_DAY_TODO, STEPS, next_step
from bot.runbook.service import RunbookView
from bot.slack.format import escape, mention, slack_date

STEP_ACTION = "runbook_step"


def checklist(view: RunbookView) -> tuple[str, list[dict[str, Any]]]:
    booking = view.booking
    lines = [f"*ES mapping-change runbook for `{booking.short_id}`* (steps go in order)"]
    for number, description in enumerate(STEPS, start=1):
        if number in view.done:
            by, at = view.done[number]
            lines.append(
                f":white_check_mark: {number}. {description}: {mention(by)}, "
                f"{slack_date(at, '{time}')}"
            )
        else:
            lines.append(f":white_square: {number}. {description}")
    upcoming = next_step(set(view.done))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}
    ]
    if upcoming is not None:
        blocks.append(
            {
                "type": "actions",
                "block_id": "runbook",
                "elements": [
                    {
                        "type": "button",
                        "action_id": STEP_ACTION,
                        "value": f"{booking.short_id}:{upcoming}",
                        "text": {"type": "plain_text", "text": f"Step {upcoming} done"[:75]},
                    }
                ],
            }
        )
    else:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"All steps done: land it with `/deploy done {booking.short_id}`.",
                    }
                ],
            }
        )
    text = f"Runbook for {booking.short_id}: {len(view.done)} of {len(STEPS)} steps done"
    return text, blocks


def parse_step_value(value: str) -> tuple[str, int]:
    short_id, _, step = value.partition(":")
    return short_id, int(step or 0)


def stuck_the_landing(booking: Booking) -> str:
    return (
        f":tada: *STUCK THE LANDING!* The ES mapping change `{booking.short_id}` "
        f"({escape(booking.title)}) is out and master is unfrozen. Thanks "
        f"{mention(booking.requester_id)}! Tomorrow: merge the special branch into master "
        "and delete the old read index."
    )


def next_day_reminder(booking: Booking, late: bool) -> str:
    text = (
        f":broom: Next-day cleanup for the ES mapping change `{booking.short_id}` "
        f"({escape(booking.title)}), landed {slack_date(booking.finished_at or booking.ends_at)}: "
        f"{NEXT_DAY_TODO} {mention(booking.requester_id)}"
    )
    return text + (" _(sent late: the reminder clock was down)_" if late else "")


def aborted(booking: Booking) -> str:
    return (
        f":rotating_light: The ES mapping change `{booking.short_id}` was aborted: master is "
        "unfrozen. Deploy master back to stage/production and follow the rollback checklist."
    )
