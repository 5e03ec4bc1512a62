"""Block Kit for the Home tab. Presentation only: what to show was decided in service.py,
and whether the viewer may approve was asked of Slack by slack.py."""

from __future__ import annotations

import enum
from typing import Any

from bot.booking.blocks import pr_links
from bot.booking.rules import Kind, Status, format_duration
from bot.home.service import FreezeSummary, HomeEntry, HomeView, Listing
from bot.releases.blocks import alert_blocks
from bot.slack.format import escape, mention, slack_date
from bot.slack.limits import SECTION_TEXT, fit_view, history_hint, shorten

Block = dict[str, Any]


class ApproverStatus(enum.Enum):
    APPROVER = "approver"
    NOT_IN_GROUP = "not_in_group"
    UNKNOWN = "unknown"  # Slack could not tell us (usergroups.users.list failed)


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _status_text(entry: HomeEntry, required: int) -> str:
    status = Status(entry.booking.status)
    if status is Status.AWAITING_APPROVAL:
        return f"awaiting approval ({entry.approvals} of {required})"
    return status.label


def _entry(entry: HomeEntry, required: int, *, show_requester: bool = True) -> Block:
    booking = entry.booking
    duration = format_duration(booking.ends_at - booking.starts_at)
    plan = ""
    if entry.plan_step is not None:
        plan = f"   *Step {entry.plan_step} of {entry.plan_steps}*"
    first = (
        f"*`{booking.short_id}`* {slack_date(booking.starts_at)} ({duration})   "
        f"*{escape(booking.app)}* {escape(booking.title)}{plan}"
    )
    details = [Kind(booking.kind).label, _status_text(entry, required)]
    if show_requester:
        details.append(f"by {mention(booking.requester_id)}")
    second = " · ".join(details)
    links = pr_links(booking)
    if links:
        second += f"\nPRs: {links}"
    return _section(shorten(f"{first}\n{second}", SECTION_TEXT, history_hint(booking.short_id)))


def _more(listing: Listing, hint: str) -> list[Block]:
    return [_context(f"…and more. {hint}")] if listing.more else []


def _freeze(freeze: FreezeSummary | None) -> list[Block]:
    if freeze is None:
        return [_section(":large_green_circle: Nothing is frozen: merging and deploying are open.")]
    who = mention(freeze.frozen_by) if freeze.frozen_by else "deploybot"
    lines = [
        f":snowflake: *`{escape(freeze.branch)}` is frozen* since {slack_date(freeze.since)} "
        f"by {who}. Don't merge to it or deploy."
    ]
    if freeze.booking_short_id:
        lines.append(f"Held by the ES mapping change `{freeze.booking_short_id}`.")
    if freeze.reason:
        lines.append(f"Reason: {escape(freeze.reason)}")
    return [_section(shorten("\n".join(lines), SECTION_TEXT))]


def _approvals(view: HomeView, approver: ApproverStatus, group: str | None) -> list[Block]:
    if approver is ApproverStatus.NOT_IN_GROUP:
        return [
            _context(
                f"Only members of <!subteam^{group}> approve deploys, and you are not one, "
                "so nothing waits for you here."
            )
        ]
    if approver is ApproverStatus.UNKNOWN:
        return [_context("I couldn't check the approver group with Slack; reopen this tab.")]
    if not view.to_approve.entries:
        return [_context("Nothing is waiting for your approval.")]
    blocks = [_entry(e, view.required_approvals) for e in view.to_approve.entries]
    blocks.append(
        _context("Approve or request changes on each deploy's announcement in the channel.")
    )
    return blocks + _more(view.to_approve, "The oldest requests are shown first.")


def home_view(view: HomeView, approver: ApproverStatus, approver_group: str | None) -> Block:
    """The `home` view for views.publish."""
    required = view.required_approvals
    blocks: list[Block] = []
    if view.alerts:
        # Loud and first until someone acknowledges them (bounded by the service).
        blocks.append(_header("Reached production without an approved booking"))
        for alert in view.alerts:
            blocks += alert_blocks(alert.id, alert.text, None)
        blocks.append({"type": "divider"})
    if view.undelivered:
        # Messages the channel never got (ADR 0019): someone should fix the channel.
        blocks.append(_header("Messages Slack refused"))
        blocks += [_context(line) for line in view.undelivered]
        blocks.append({"type": "divider"})
    blocks += [_header("Freeze"), *_freeze(view.freeze), {"type": "divider"}]
    if view.windows is not None:
        blocks += [_header("Deploy windows"), _section(view.windows), {"type": "divider"}]

    blocks.append(_header("Your upcoming deploys"))
    if view.mine.entries:
        blocks += [_entry(e, required, show_requester=False) for e in view.mine.entries]
        blocks += _more(view.mine, "`/deploy list` shows them all.")
    else:
        blocks.append(_context("You have nothing booked. Book a deploy with `/deploy schedule`."))
    blocks.append({"type": "divider"})

    blocks.append(_header("Waiting for your approval"))
    blocks += _approvals(view, approver, approver_group)
    blocks.append({"type": "divider"})

    blocks.append(_header("Booked for the next 7 days"))
    if view.week.entries:
        blocks += [_entry(e, required) for e in view.week.entries]
        blocks += _more(view.week, "`/deploy list` shows more.")
    else:
        blocks.append(_context("Nothing is booked for the next 7 days."))
    blocks.append(_context("Times are shown in your own time zone."))
    # Each list above is bounded (bot/home/service.py), so this stays inside a view's
    # 100 blocks; fit_view is the net should that change.
    return fit_view({"type": "home", "blocks": blocks}, more="; `/deploy list` shows them all")


def unavailable_view() -> Block:
    """Shown instead when the database cannot be reached."""
    return {
        "type": "home",
        "blocks": [
            _section(
                ":warning: I can't reach my database right now, so I can't show your deploys. "
                "Reopen this tab in a minute."
            )
        ],
    }
