"""Slack surface of the Home tab: publish it whenever someone opens it."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.home import blocks
from bot.home.blocks import ApproverStatus
from bot.home.service import AlreadyShown, HomeService
from bot.settings import Settings
from bot.slack.commands import CommandRouter, acknowledge
from bot.slack.listeners import Listeners
from bot.slack.users import is_approver

log = logging.getLogger(__name__)


class HomeSlack:
    def __init__(self, service: HomeService, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
        # No subcommand of its own: the Home tab is drawn when it is opened.
        # Drawn after the acknowledgement, like every other listener (docs/adr/0012).
        listeners.event("app_home_opened", ack=acknowledge, work=self.home_opened)

    def home_opened(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        # The same event fires for the Messages tab; only the Home tab is ours to draw.
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        # Bolt has already acknowledged the event, so a Slack retry means the first
        # delivery was slow, not lost: the event id makes the retry a no-op. (If the
        # first publish failed, the tab is refreshed the next time it is opened.)
        event_id = body.get("event_id")
        try:
            view = self.service.home(
                user_id, event_key=f"app_home_opened:{event_id}" if event_id else None
            )
        except sa.exc.OperationalError:
            log.exception("database unavailable while drawing the Home tab")
            self._publish(client, user_id, blocks.unavailable_view())
            return
        if isinstance(view, AlreadyShown):
            log.info("app_home_opened %s already handled; not publishing again", event_id)
            return
        approver = self._approver_status(client, user_id)
        self._publish(
            client,
            user_id,
            blocks.home_view(view, approver, self.settings.approver_usergroup),
        )

    def _approver_status(self, client: WebClient, user_id: str) -> ApproverStatus:
        match is_approver(client, self.settings.approver_usergroup, user_id):
            case True:
                return ApproverStatus.APPROVER
            case False:
                return ApproverStatus.NOT_IN_GROUP
            case None:
                return ApproverStatus.UNKNOWN

    def _publish(self, client: WebClient, user_id: str, view: dict[str, Any]) -> None:
        try:
            client.views_publish(user_id=user_id, view=view)
        except SlackApiError as exc:
            log.warning("could not publish the Home tab of %s: %s", user_id, exc.response)
