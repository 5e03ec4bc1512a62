"""Slack surface of followed deploys: the Acknowledge button on an unbooked-change alert
(in the channel and in the App Home). Parses and renders; the service decides."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond

from bot.releases import blocks
from bot.releases.service import ReleaseService
from bot.slack.commands import CommandRouter, acknowledge, run_reporting_database_outage
from bot.slack.listeners import Listeners
from bot.slack.replies import reply_privately

log = logging.getLogger(__name__)


class ReleaseSlack:
    def __init__(self, service: ReleaseService) -> None:
        self.service = service

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
        listeners.action(blocks.ACK_ACTION, ack=acknowledge, work=self.click_acknowledge)

    def click_acknowledge(self, body: dict[str, Any], respond: Respond) -> None:
        def tell(text: str) -> None:
            # A click in the App Home carries no response URL: nothing to answer there
            # (the tab drops the alert when it is next drawn).
            if body.get("response_url"):
                reply_privately(respond, text)

        user_id = str(body["user"]["id"])
        try:
            alert_id = int(body["actions"][0]["value"])
        except (KeyError, IndexError, TypeError, ValueError):
            log.warning("ignored an Acknowledge click with an unreadable value")
            return
        run_reporting_database_outage(lambda: self._acknowledge(alert_id, user_id, tell), tell)

    def _acknowledge(self, alert_id: int, user_id: str, tell: Any) -> None:
        alert = self.service.acknowledge(alert_id, user_id)
        if alert is None:
            tell("That alert was already acknowledged.")
            return
        tell("Acknowledged: it leaves the App Home.")
