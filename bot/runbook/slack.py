"""The ES mapping-change runbook in Slack: freeze and checklist when the deploy starts,
step buttons, STUCK THE LANDING! and the unfreeze when it lands, unfreeze on abort."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.booking.model import Booking
from bot.booking.rules import Kind
from bot.freeze.slack import FreezeSlack
from bot.runbook import blocks
from bot.runbook.service import Checked, RunbookService
from bot.settings import Settings
from bot.slack.commands import CommandRouter, acknowledge, run_reporting_database_outage
from bot.slack.notices import post_notice

log = logging.getLogger(__name__)


class RunbookSlack:
    """Registers the step button, and implements the deploy lifecycle's hooks."""

    def __init__(self, service: RunbookService, freezes: FreezeSlack, settings: Settings) -> None:
        self.service = service
        self.freezes = freezes
        self.settings = settings

    def register(self, app: App, router: CommandRouter) -> None:
        # No subcommand of its own: the runbook is driven by its checklist's buttons.
        app.action(blocks.STEP_ACTION)(ack=acknowledge, lazy=[self.click_step])

    # -- lifecycle hooks ------------------------------------------------------------------

    def started(self, client: WebClient, booking: Booking, user_id: str) -> None:
        if booking.kind != Kind.ES_MAPPING.value:
            return
        self.freezes.freeze_for_booking(
            client,
            user_id=user_id,
            booking_short_id=booking.short_id,
            reason=f"ES mapping change `{booking.short_id}` in progress: {booking.title}",
            exempt_pulls=self._own_pulls(booking),
            request_key=f"runbook-freeze:{booking.short_id}:{booking.started_at}",
        )
        self.service.open(booking.id)
        view = self.service.view(booking.short_id)
        if view is None:
            return
        text, checklist = blocks.checklist(view)
        posted = post_notice(
            client,
            self.settings.deploy_channel,
            text,
            blocks=checklist,
            thread_ts=booking.announcement_ts,
        )
        if posted is not None:
            self.service.record_message(booking.id, str(posted["channel"]), str(posted["ts"]))

    def landed(self, client: WebClient, booking: Booking, user_id: str) -> None:
        if booking.kind != Kind.ES_MAPPING.value:
            return
        self.freezes.unfreeze_for_booking(client, booking_short_id=booking.short_id)
        post_notice(client, self.settings.deploy_channel, blocks.stuck_the_landing(booking))

    def failed(self, client: WebClient, booking: Booking, user_id: str) -> None:
        if booking.kind != Kind.ES_MAPPING.value:
            return
        self.freezes.unfreeze_for_booking(client, booking_short_id=booking.short_id)
        post_notice(
            client,
            self.settings.deploy_channel,
            blocks.aborted(booking),
            thread_ts=booking.announcement_ts,
        )

    # -- the step button --------------------------------------------------------------------

    def click_step(self, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        def tell(text: str) -> None:
            respond(text=text, response_type="ephemeral", replace_original=False)

        short_id, step = blocks.parse_step_value(body["actions"][0]["value"])
        run_reporting_database_outage(
            lambda: self._check_off(client, short_id, step, body["user"]["id"], tell), tell
        )

    def _check_off(
        self, client: WebClient, short_id: str, step: int, user_id: str, tell: Callable[[str], None]
    ) -> None:
        outcome = self.service.check_off(short_id, step, user_id=user_id)
        if not isinstance(outcome, Checked):
            tell(f"Not checked off: {outcome.reason}.")
            return
        view = outcome.view
        if view.channel and view.message_ts:
            text, checklist = blocks.checklist(view)
            try:
                client.chat_update(
                    channel=view.channel, ts=view.message_ts, text=text, blocks=checklist
                )
            except SlackApiError as exc:
                log.warning(
                    "could not update the runbook of %s: %s", short_id, exc.response.get("error")
                )

    # -- helpers --------------------------------------------------------------------------

    def _own_pulls(self, booking: Booking) -> list[int]:
        """The booked change's PRs in the configured repository stay mergeable."""
        return [
            pr.number for pr in booking.pull_request_refs if pr.repo == self.settings.github_repo
        ]
