"""Slack surface of approvals: `/deploy ready`, the Approve / Request changes buttons and
the request-changes modal."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.approval import blocks
from bot.approval.rules import Verdict, still_needed
from bot.approval.service import (
    Announced,
    ApprovalService,
    NotAllowed,
    NotFound,
)
from bot.booking.blocks import READY_ACTION
from bot.settings import Settings
from bot.slack.commands import (
    CommandContext,
    CommandRouter,
    acknowledge,
    run_reporting_database_outage,
)
from bot.slack.limits import CHANGES_REASON_MAX
from bot.slack.listeners import Listeners
from bot.slack.replies import reply_in_dm, reply_privately
from bot.slack.users import APPROVER_UNKNOWN_TEXT, is_approver

log = logging.getLogger(__name__)

REFUSALS = {
    Verdict.SELF_APPROVAL: "You booked this deploy, so you can't approve it or request "
    "changes on it: the rule is a *second* person's approval.",
    Verdict.STALE_ROUND: "This announcement is out of date (the booking changed or was "
    "announced again). Use the newest announcement.",
    Verdict.ALREADY_DECIDED: "You already approved this deploy; you count once.",
}


class ApprovalSlack:
    def __init__(self, service: ApprovalService, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
        router.add(
            "ready",
            self.ready_command,
            usage="/deploy ready ID",
            summary="announce your booking in the deploy channel for approval",
        )
        # Acknowledge on the request thread, work afterwards (docs/adr/0012). Approve
        # first: it is the button many people click at once (see build_bolt_app).
        listeners.action(blocks.APPROVE_ACTION, ack=acknowledge, work=self.approve_button)
        listeners.action(READY_ACTION, ack=acknowledge, work=self.ready_button)
        listeners.action(
            blocks.REQUEST_CHANGES_ACTION, ack=acknowledge, work=self.request_changes_button
        )
        listeners.view(
            blocks.CHANGES_MODAL_CALLBACK, ack=self.check_changes, work=self.submit_changes
        )

    # -- announcing ----------------------------------------------------------------------

    def ready_command(self, ctx: CommandContext) -> None:
        if not ctx.args:
            ctx.reply("Say which booking is ready, e.g. `/deploy ready B7K2Q`.")
            return
        self._announce(ctx.client, ctx.args.split()[0], ctx.user_id, ctx.reply)

    def ready_button(self, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        tell = partial(reply_privately, respond)
        short_id = body["actions"][0]["value"]
        run_reporting_database_outage(
            lambda: self._announce(client, short_id, body["user"]["id"], tell), tell
        )

    def _announce(
        self, client: WebClient, short_id: str, user_id: str, tell: Callable[[str], object]
    ) -> None:
        match self.service.announce(short_id, user_id=user_id):
            case Announced(view):
                # The announcement (and the older one's "superseded") was recorded with
                # the decision (bot/approval/announcer.py).
                needed = still_needed(view.required, len(view.approvers))
                tell(
                    f"Announced `{view.booking.short_id}` in <#{self.settings.deploy_channel}>; "
                    f"it needs {needed} approval{'s' if needed != 1 else ''} before it can start."
                )
            case NotFound(missing):
                tell(f"There is no booking `{missing}`; `/deploy list` shows the ids.")
            case NotAllowed(reason):
                tell(f"Not announced: {reason}")

    # -- deciding ------------------------------------------------------------------------

    def _explain(
        self,
        client: WebClient,
        verdict: Verdict,
        short_id: str,
        status: str,
        not_awaiting: str,
        tell: Callable[[str], object],
    ) -> None:
        """Tell the clicker, privately, why their click changed nothing."""
        if verdict is Verdict.NOT_AN_APPROVER:
            tell(
                f"Only members of <!subteam^{self.settings.approver_usergroup}> can approve "
                "deploys or request changes."
            )
        elif verdict is Verdict.NOT_AWAITING:
            tell(f"`{short_id}` is {status.replace('_', ' ')}: {not_awaiting}.")
            # Someone clicked a button that should no longer be there: the update after
            # an earlier decision may never have reached Slack (the process died, Slack
            # failed). Bring the announcement back to the truth.
            self.service.refresh_announcement(short_id)
        elif verdict in REFUSALS:
            tell(REFUSALS[verdict])

    def approve_button(self, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        tell = partial(reply_privately, respond)
        run_reporting_database_outage(lambda: self._approve(body, client, tell), tell)

    def _approve(
        self, body: dict[str, Any], client: WebClient, tell: Callable[[str], object]
    ) -> None:
        user_id = body["user"]["id"]
        short_id, clicked_round = blocks.parse_button_value(body["actions"][0]["value"])
        may = is_approver(client, self.settings.approver_usergroup, user_id)
        if may is None:
            tell(APPROVER_UNKNOWN_TEXT)
            return
        outcome = self.service.approve(
            short_id, clicked_round=clicked_round, approver_id=user_id, is_approver=may
        )
        if isinstance(outcome, NotFound):
            tell(f"Booking `{outcome.short_id}` no longer exists.")
            return
        verdict, view = outcome.verdict, outcome.view
        # A counted approval's announcement update, and on the quorum the requester's DM,
        # were recorded with the decision (bot/approval/announcer.py, notices.py).
        if verdict is not Verdict.QUORUM:
            self._explain(
                client,
                verdict,
                view.booking.short_id,
                view.booking.status,
                "not waiting for approval",
                tell,
            )

    def request_changes_button(self, body: dict[str, Any], client: WebClient) -> None:
        message = body.get("message") or {}
        client.views_open(
            trigger_id=body["trigger_id"],
            view=blocks.changes_modal(
                body["actions"][0]["value"],
                (body.get("channel") or {}).get("id"),
                message.get("ts"),
            ),
        )

    @staticmethod
    def _reason(view: dict[str, Any]) -> str:
        return str(view["state"]["values"]["reason"]["reason"].get("value") or "").strip()

    def check_changes(self, ack: Ack, view: dict[str, Any]) -> None:
        if len(self._reason(view)) > CHANGES_REASON_MAX:
            # Slack's client enforces the modal's max_length; this is for anything else.
            ack(
                response_action="errors",
                errors={"reason": f"Keep it under {CHANGES_REASON_MAX} characters"},
            )
            return
        if len(self._reason(view)) < 3:
            ack(
                response_action="errors",
                errors={"reason": "Say what needs to change, e.g. PR #2 still reads the old field"},
            )
            return
        ack()

    def submit_changes(self, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        reason = self._reason(view)
        if not 3 <= len(reason) <= CHANGES_REASON_MAX:
            return  # refused in the form by check_changes
        user_id = body["user"]["id"]
        metadata = json.loads(view.get("private_metadata") or "{}")

        # An answer, not a notice: straight to Slack, even while the database is down.
        tell = partial(reply_in_dm, client, user_id)
        run_reporting_database_outage(
            lambda: self._request_changes(client, user_id, metadata["value"], reason, tell), tell
        )

    def _request_changes(
        self,
        client: WebClient,
        user_id: str,
        value: str,
        reason: str,
        tell: Callable[[str], object],
    ) -> None:
        short_id, clicked_round = blocks.parse_button_value(value)
        may = is_approver(client, self.settings.approver_usergroup, user_id)
        if may is None:
            tell(APPROVER_UNKNOWN_TEXT)
            return
        outcome = self.service.request_changes(
            short_id,
            clicked_round=clicked_round,
            reviewer_id=user_id,
            is_approver=may,
            reason=reason,
        )
        if isinstance(outcome, NotFound):
            tell(f"Booking `{outcome.short_id}` no longer exists.")
            return
        verdict, booking = outcome.verdict, outcome.view.booking
        # When counted, the requester's DM and the announcement's update were recorded
        # with the decision (bot/approval/notices.py, announcer.py).
        if verdict is not Verdict.COUNTED:
            self._explain(
                client,
                verdict,
                booking.short_id,
                booking.status,
                "there is nothing to request changes on",
                tell,
            )
