"""Slack surface of the gate: `/deploy allow`, the **Book it** button, and the channel
message about tricky pull requests. Parses and renders; the decisions are the service's.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.booking.blocks import schedule_modal
from bot.booking.rules import Kind, format_duration
from bot.gate import blocks
from bot.gate.rules import AllowParseError, parse_allow_target
from bot.gate.service import Allowed, Ambiguous, GateService
from bot.settings import Settings
from bot.slack.commands import CommandContext, CommandRouter, acknowledge
from bot.slack.listeners import Listeners
from bot.slack.users import APPROVER_UNKNOWN_TEXT, is_approver

log = logging.getLogger(__name__)


def display_name(client: WebClient, user_id: str) -> str:
    """The name GitHub's status shows for a Slack user (their id if Slack won't say)."""
    try:
        user = client.users_info(user=user_id)["user"]
        profile = user.get("profile") or {}
        return str(profile.get("display_name") or user.get("real_name") or user.get("name"))
    except (SlackApiError, KeyError, TypeError) as exc:
        log.warning("could not read the name of %s: %s", user_id, exc)
        return user_id


class GateSlack:
    def __init__(self, service: GateService, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
        router.add(
            "allow",
            self.allow,
            usage='/deploy allow #PR "reason"',
            summary="approvers: mark a pull request routine until its next push",
        )
        listeners.action(blocks.BOOK_IT_ACTION, ack=acknowledge, work=self.book_it)
        # The Full analysis button is a link; Slack still sends the click.
        listeners.action("gate_open_analysis", ack=acknowledge)

    def allow(self, ctx: CommandContext) -> None:
        try:
            repo, number, reason = parse_allow_target(ctx.args)
        except AllowParseError as exc:
            ctx.reply(str(exc))
            return
        if not self.service.enabled:
            ctx.reply("The deploybot/deploy check is off here (GITHUB_TOKEN or GITHUB_REPO unset).")
            return
        approver = is_approver(ctx.client, self.settings.approver_usergroup, ctx.user_id)
        if not approver:
            ctx.reply(
                APPROVER_UNKNOWN_TEXT
                if approver is None
                else "Only approvers can mark a pull request routine."
            )
            return
        name = display_name(ctx.client, ctx.user_id)
        outcome = self.service.allow(
            number, user_id=ctx.user_id, user_name=name, reason=reason, repo=repo
        )
        if isinstance(outcome, Ambiguous):
            ctx.reply(
                f"#{number} is open in {' and '.join(f'`{r}`' for r in outcome.repos)}; "
                f'say which, e.g. `/deploy allow {outcome.repos[0]}#{number} "reason"`.'
            )
            return
        if not isinstance(outcome, Allowed):
            ctx.reply(
                f"I don't know of an open pull request #{number} against "
                f"`{self.settings.freeze_branch}`; check the number, e.g. "
                '`/deploy allow #123 "reason"`.'
            )
            return
        # The channel's notice was recorded with the allowance (GateNotices).
        ctx.reply(f"Marked #{number} routine until its next push; its check turns green.")
        self.service.sync(only=[outcome.view.id])

    def book_it(self, body: dict[str, Any], client: WebClient) -> None:
        """Open the booking modal with the PR and kind filled in."""
        try:
            value = json.loads(body["actions"][0]["value"])
            pull_request = str(value["pr"])
            kind = Kind(value.get("kind") or Kind.MIGRATION.value)
            repo = value.get("repo")
            trigger_id = str(body["trigger_id"])
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            # Not a value this bot rendered: nothing to open.
            log.warning("ignored a Book it click with an unreadable value: %r", exc)
            return
        # `#7` means the PR of the app the form names: with several apps, the one built
        # from the PR's repository (buttons posted before the repository was in the
        # value keep DEFAULT_APP).
        apps = self.settings.apps_of_repo(repo) if isinstance(repo, str) else []
        default_app = apps[0].name if self.settings.apps and apps else self.settings.default_app
        client.views_open(
            trigger_id=trigger_id,
            view=schedule_modal(
                default_app=default_app,
                origin_channel_id=(body.get("channel") or {}).get("id"),
                default_duration=format_duration(
                    timedelta(minutes=self.settings.default_duration_minutes)
                ),
                pull_requests=pull_request,
                kind=kind,
            ),
        )


class GateMessenger:
    """Posts the channel message about a tricky PR once, and updates it on later pushes."""

    def __init__(self, service: GateService, channel: str | None) -> None:
        self.service = service
        self.channel = channel

    def send_due(self, client: WebClient) -> int:
        if not self.channel:
            return 0
        sent = 0
        for gate_id in self.service.messages_due():
            try:
                sent += self._send(client, gate_id)
            except SlackApiError as exc:
                log.warning("could not post about a tricky PR: %s", exc.response.get("error"))
        return sent

    def _send(self, client: WebClient, gate_id: int) -> int:
        view = self.service.view_by_id(gate_id)
        if view is None or self.channel is None:
            return 0
        page = self.service.page_url(view.repo, view.number)
        if view.message_ts:
            text, message = blocks.tricky_message(view, page)
            client.chat_update(
                channel=view.message_channel or self.channel,
                ts=view.message_ts,
                text=text,
                blocks=message,
            )
            self.service.record_message(
                gate_id, view.message_channel or self.channel, view.message_ts, view.head_sha
            )
            return 1
        if not self.service.claim_message(gate_id, self.channel):
            return 0
        try:
            text, message = blocks.tricky_message(view, page)
            response = client.chat_postMessage(channel=self.channel, text=text, blocks=message)
        except Exception:
            self.service.release_message(gate_id)
            raise
        self.service.record_message(
            gate_id, str(response["channel"]), str(response["ts"]), view.head_sha
        )
        return 1
