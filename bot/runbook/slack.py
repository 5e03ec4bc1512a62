"""The ES mapping-change runbook in Slack: the checklist's step buttons. What the runbook
does when a deploy starts, lands or fails is bot/runbook/flows.py (docs/adr/0017)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import Respond

from bot.runbook import blocks
from bot.runbook.service import Checked, RunbookService
from bot.slack.commands import CommandRouter, acknowledge, run_reporting_database_outage
from bot.slack.listeners import Listeners
from bot.slack.replies import reply_privately

log = logging.getLogger(__name__)


class RunbookSlack:
    """Registers the step button."""

    def __init__(self, service: RunbookService) -> None:
        self.service = service

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
        # No subcommand of its own: the runbook is driven by its checklist's buttons.
        listeners.action(blocks.STEP_ACTION, ack=acknowledge, work=self.click_step)

    # -- the step button --------------------------------------------------------------------

    def click_step(self, body: dict[str, Any], respond: Respond) -> None:
        tell = partial(reply_privately, respond)
        short_id, step = blocks.parse_step_value(body["actions"][0]["value"])
        run_reporting_database_outage(
            lambda: self._check_off(short_id, step, body["user"]["id"], tell), tell
        )

    def _check_off(
        self, short_id: str, step: int, user_id: str, tell: Callable[[str], object]
    ) -> None:
        # The checklist's update is recorded with the step (RunbookNotices); a click
        # that is not refused needs no answer of its own.
        outcome = self.service.check_off(short_id, step, user_id=user_id)
        if not isinstance(outcome, Checked):
            tell(f"Not checked off: {outcome.reason}.")
