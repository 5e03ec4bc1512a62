"""One place for what happens after a deploy starts, lands, fails, is rolled back or is
edited: the channel notice and the announcement brought up to date (both recorded in the
move's own transaction), the ES runbook's freeze and checklist (or unfreeze), the
rollback checklist.

Slack commands, the Heroku and GitHub webhooks and the clock all call these flows the same
way, so a deploy landed by a Heroku release unfreezes master exactly as `/deploy done`
does. The Slack adapters only parse the command and render the reply (docs/adr/0017).
The deploy-gate statuses follow every booking change by themselves (`watch_bookings`),
and reminders read the booking's status when they are due, so neither needs a call here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.approval.announcer import Announcer
from bot.booking.lifecycle import Action
from bot.booking.model import Booking
from bot.deploys import blocks
from bot.deploys.rules import rollback_checklist
from bot.deploys.service import (
    Changes,
    DeployService,
    Done,
    FinishOutcome,
    Outcome,
)
from bot.runbook.flows import RunbookFlows
from bot.slack.notices import post_notice
from bot.slack.outbox import Outbox


@dataclass(frozen=True)
class Via:
    """What moved a booking when no person typed it: shown in the notices and kept as
    the audit entry's reason, e.g. "Heroku release v42 of foundation-site (1a2b3c4)"."""

    description: str
    # Extra lines for the failure notice: the release's output, who to call.
    details: tuple[str, ...] = ()


class DeployFlows:
    def __init__(
        self,
        deploys: DeployService,
        announcer: Announcer,
        runbooks: RunbookFlows,
        outbox: Outbox,
        channel: str | None,
    ) -> None:
        self.deploys = deploys
        self.announcer = announcer
        self.runbooks = runbooks
        self.outbox = outbox
        self.channel = channel

    def start(self, short_id: str, *, user_id: str, override_reason: str | None = None) -> Outcome:
        outcome = self.deploys.start(
            short_id,
            user_id=user_id,
            override_reason=override_reason,
            notify=lambda session, booking: self._started_notice(session, booking, user_id),
        )
        if isinstance(outcome, Done):
            self._after_start(outcome.booking, user_id)
        return outcome

    def _started_notice(self, session: Session, booking: Booking, user_id: str) -> None:
        post_notice(
            self.outbox, self.channel, blocks.started_notice(booking, user_id), session=session
        )
        self.runbooks.starting(session, booking)
        self.announcer.changed(session, booking)

    def _after_start(self, booking: Booking, user_id: str) -> None:
        self.runbooks.started(booking, user_id)

    def finish(
        self,
        short_id: str,
        *,
        user_id: str,
        may_act: bool,
        action: Action,
        via: Via | None = None,
    ) -> FinishOutcome:
        """Land, fail or roll back, then everything that follows. `via` says what moved
        it when no person did (a Heroku release)."""

        def notice(session: Session, booking: Booking) -> None:
            # Recorded in the move's own transaction (docs/adr/0019).
            channel, thread_ts = self.channel, None
            if action is Action.LAND:
                text = blocks.landed_notice(booking, user_id, via)
            elif action is Action.FAIL:
                # In the announcement's thread, which lives in the announcement's own
                # channel whatever DEPLOY_CHANNEL says now.
                text = failure_text(booking, via)
                channel, thread_ts = booking.announcement_thread(self.channel)
            else:
                text = blocks.rolled_back_notice(booking, user_id)
            post_notice(self.outbox, channel, text, thread_ts=thread_ts, session=session)
            if action is Action.LAND:
                self.runbooks.landing(session, booking)
            elif action is Action.FAIL:
                self.runbooks.failing(session, booking)
            self.announcer.changed(session, booking)

        outcome = self.deploys.finish(
            short_id,
            user_id=user_id,
            may_act=may_act,
            action=action,
            reason=via.description if via else None,
            notify=notice,
        )
        if not isinstance(outcome, Done):
            return outcome
        booking = outcome.booking
        if action is Action.LAND:
            self.runbooks.landed(booking)
        elif action is Action.FAIL:
            self.runbooks.failed(booking)
        return outcome

    def edit(self, short_id: str, *, user_id: str, changes: Changes) -> Outcome:
        def notice(session: Session, booking: Booking, voided: bool) -> None:
            # Recorded in the edit's own transaction (docs/adr/0019).
            post_notice(
                self.outbox,
                self.channel,
                blocks.edited_notice(booking, user_id, voided),
                session=session,
            )
            # The announcement shows the slot, the PRs and, when the edit voided the
            # approvals, that its buttons no longer count: any edit changes it.
            self.announcer.changed(session, booking)

        return self.deploys.edit(short_id, user_id=user_id, changes=changes, notify=notice)


def failure_text(booking: Booking, via: Via | None = None) -> str:
    """The rollback checklist, with what failed when a release failed it."""
    checklist = rollback_checklist(booking.app, booking.short_id, booking.rollback_plan)
    if via is None:
        return checklist
    return "\n".join((checklist, f"Failed by {via.description}.", *via.details))
