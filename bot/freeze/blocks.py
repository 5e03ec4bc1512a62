"""Messages about freezes (Block Kit and plain text). Presentation only: the decisions
come from rules.py and service.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.audit.model import SYSTEM_ACTOR
from bot.freeze.model import Freeze
from bot.freeze.rules import format_elapsed, shown_reason
from bot.slack.format import escape, mention, slack_date

Blocks = list[dict[str, Any]]

UNFREEZE_ACTION = "freeze_unfreeze"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def who(user_id: str | None) -> str:
    if not user_id or user_id == SYSTEM_ACTOR:
        return "deploybot"
    return mention(user_id)


def _booking(freeze: Freeze) -> str:
    return f" for booking `{freeze.booking_short_id}`" if freeze.booking_short_id else ""


def _exempt(freeze: Freeze) -> str:
    if not freeze.exempt_pulls:
        return ""
    numbers = ", ".join(f"#{n}" for n in freeze.exempt_pulls)
    return f"\n*May still merge (part of the change):* {numbers}"


def freeze_summary(freeze: Freeze) -> str:
    """One line: who froze which branch, since when, why."""
    return (
        f"`{escape(freeze.branch)}` was frozen by {who(freeze.frozen_by)} "
        f"{slack_date(freeze.frozen_at)}{_booking(freeze)}: {escape(shown_reason(freeze.reason))}"
    )


def freeze_notice(freeze: Freeze) -> tuple[str, Blocks]:
    branch = escape(freeze.branch)
    text = (
        f":snowflake: {who(freeze.frozen_by)} froze {branch}: "
        f"{escape(shown_reason(freeze.reason))}. Hold off merging to {branch} and deploying."
    )
    body = (
        f":snowflake: *{branch} is frozen*\n"
        f"*By:* {who(freeze.frozen_by)}   *Since:* {slack_date(freeze.frozen_at)}\n"
        f"*Why:* {escape(shown_reason(freeze.reason))}"
    )
    if freeze.booking_short_id:
        body += f"\n*Booking:* `{freeze.booking_short_id}`"
    body += _exempt(freeze)
    return text, [
        _section(body),
        _section(
            f"*Hold off merging to {branch} and deploying* until it is unfrozen. "
            f"Open pull requests against {branch} show a failing `deploybot/freeze` check."
        ),
        _context("`/deploy status` shows the freeze; `/deploy unfreeze` lifts it."),
    ]


def _lasted(freeze: Freeze) -> str:
    return format_elapsed((freeze.unfrozen_at or freeze.frozen_at) - freeze.frozen_at)


def unfreeze_notice(freeze: Freeze) -> str:
    lasted = _lasted(freeze)
    return (
        f":sunny: {who(freeze.unfrozen_by)} unfroze `{escape(freeze.branch)}` after {lasted} "
        f"(frozen by {who(freeze.frozen_by)} {slack_date(freeze.frozen_at)}"
        f"{_booking(freeze)}). Merging and deploying may resume."
    )


def frozen_reply(freeze: Freeze) -> str:
    return (
        f":snowflake: Frozen. `{escape(freeze.branch)}` is frozen{_booking(freeze)} "
        f"and the channel has been told. Lift it with `/deploy unfreeze`."
    )


def already_frozen_reply(freeze: Freeze) -> str:
    return f":snowflake: Already frozen: {freeze_summary(freeze)}."


def unfrozen_reply(freeze: Freeze) -> str:
    lasted = _lasted(freeze)
    return f":sunny: Unfrozen `{escape(freeze.branch)}` (it was frozen for {lasted})."


def not_frozen_reply(branch: str, last: Freeze | None) -> str:
    text = f"`{escape(branch)}` is not frozen."
    if last is not None and last.unfrozen_at is not None:
        text += f" It was last unfrozen by {who(last.unfrozen_by)} {slack_date(last.unfrozen_at)}."
    return text


def not_allowed_reply(freeze: Freeze, usergroup: str | None) -> str:
    approvers = f"a member of <!subteam^{usergroup}>" if usergroup else "an approver"
    return (
        f":no_entry: You can't unfreeze `{escape(freeze.branch)}`: only "
        f"{who(freeze.frozen_by)}, who froze it, or {approvers} can. {freeze_summary(freeze)}."
    )


def status_reply(
    branch: str,
    freeze: Freeze | None,
    last: Freeze | None,
    *,
    now: datetime,
    enforcement: bool,
    unsynced: int,
) -> str:
    if freeze is None:
        lines = [f":white_check_mark: {not_frozen_reply(branch, last)}"]
    else:
        lines = [
            f":snowflake: {freeze_summary(freeze)}.",
            f"Frozen for {format_elapsed(now - freeze.frozen_at)} so far. "
            f"Hold off merging to {escape(branch)} and deploying.",
        ]
        if freeze.exempt_pulls:
            lines.append(_exempt(freeze).strip())
    if not enforcement:
        lines.append(
            "_GitHub enforcement is off (GITHUB_TOKEN or GITHUB_REPO is not set): "
            "freezes are announced only._"
        )
    elif unsynced:
        lines.append(f"_{unsynced} commit status(es) are waiting to be sent to GitHub._")
    return "\n".join(lines)


def reminder(freeze: Freeze, every: timedelta, *, late: bool) -> tuple[str, Blocks]:
    branch = escape(freeze.branch)
    text = (
        f"Reminder: {branch} has been frozen since {slack_date(freeze.frozen_at)} "
        f"({escape(shown_reason(freeze.reason))}). Unfreeze it if it is no longer needed."
    )
    note = "This reminder comes late: the bot's clock was down. " if late else ""
    blocks: Blocks = [
        _section(
            f":snowflake: *{branch} is still frozen.* You froze it "
            f"{slack_date(freeze.frozen_at)}{_booking(freeze)}: "
            f"{escape(shown_reason(freeze.reason))}\n"
            f"Everyone is holding off merging and deploying. If the freeze is no longer "
            f"needed, lift it."
        ),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": UNFREEZE_ACTION,
                    "text": {"type": "plain_text", "text": f"Unfreeze {freeze.branch}"[:75]},
                    "style": "primary",
                    "value": str(freeze.id),
                }
            ],
        },
        _context(f"{note}I'll remind you again every {format_elapsed(every)} while it stays on."),
    ]
    return text, blocks
