"""Messages about followed deploys: the unbooked-change alert, release notes, the
release-failure details. Rendering only."""

from __future__ import annotations

from typing import Any

from bot.slack.format import escape, mention
from bot.slack.limits import SECTION_TEXT, shorten

ACK_ACTION = "deploy_alert_ack"


def unbooked_merge_text(ref: str, title: str, merged_by: str, sha: str, concern: str) -> str:
    return (
        f":rotating_light: *Merged without an approved booking:* {escape(ref)} "
        f"({escape(title)}) was merged by {escape(merged_by or 'someone')} as "
        f"`{sha[:7]}`, and its migrations are tricky: {escape(concern)}. It reaches "
        "production with the next release. Book it now (`/deploy schedule`) or check that "
        "the release is safe."
    )


def unbooked_release_text(heroku_app: str, version: int, sha: str, concern: str) -> str:
    return (
        f":rotating_light: *Released without an approved booking:* v{version} of "
        f"{escape(heroku_app)} (`{sha[:7]}`) contains a tricky migration that no "
        f"deploying booking explains: {escape(concern)}."
    )


def awaiting_checklist_text(short_id: str, released_by: str) -> str:
    return (
        f":hourglass: `{short_id}` is released ({escape(released_by)}); finish the runbook "
        f"checklist, then `/deploy done {short_id}`."
    )


def alert_blocks(alert_id: int, text: str, acknowledged_by: str | None) -> list[dict[str, Any]]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": shorten(text, SECTION_TEXT)}}
    if acknowledged_by:
        return [
            section,
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"Acknowledged by {mention(acknowledged_by)}."}
                ],
            },
        ]
    return [
        section,
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACK_ACTION,
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "value": str(alert_id),
                }
            ],
        },
    ]


def release_notes(
    heroku_app: str,
    version: int,
    sha: str | None,
    status: str,
    pulls: list[str],
    deployed_by: str,
) -> str:
    icon = ":package:" if status == "succeeded" else ":x:"
    commit = f" `{sha[:7]}`" if sha else ""
    prs = ", ".join(escape(p) for p in pulls[:20]) or "no merged PRs known"
    if len(pulls) > 20:
        prs += f" and {len(pulls) - 20} more"
    who = f" by {escape(deployed_by)}" if deployed_by else ""
    return shorten(
        f"{icon} {escape(heroku_app)} v{version}{commit} {status}{who}. PRs: {prs}.", 3000
    )


def failure_details(
    heroku_app: str,
    release_id: str,
    output_url: str | None,
    requester_id: str,
    approver_group: str | None,
) -> tuple[str, ...]:
    """The release's output and who to call, for the failure notice."""
    link = output_url or (
        f"https://dashboard.heroku.com/apps/{heroku_app}/activity/releases/{release_id}"
        if release_id
        else f"https://dashboard.heroku.com/apps/{heroku_app}/activity"
    )
    call = mention(requester_id)
    if approver_group:
        call += f", then <!subteam^{approver_group}>"
    return (f"Release output: <{link}|the release phase log>", f"Who to call: {call}.")
