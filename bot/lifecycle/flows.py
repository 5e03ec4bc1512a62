"""One place for what happens after a deploy starts, lands, fails, is rolled back or is
edited: the channel notice (bot/deploys/notices.py) and the announcement brought up to
date (both recorded in the move's own transaction), the ES runbook's freeze and
checklist (or unfreeze), the rollback checklist.

Slack commands, the Heroku and GitHub webhooks and the clock all call these flows the same
way, so a deploy landed by a Heroku release unfreezes master exactly as `/deploy done`
does. The Slack adapters only parse the command and render the reply (docs/adr/0017).
The deploy-gate statuses follow every booking change by themselves (`watch_bookings`),
and reminders read the booking's status when they are due, so neither needs a call here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.approval.announcer import Announcer
from bot.booking.lifecycle import Action
from bot.booking.model import Booking
from bot.deploys.notices import DeployNotices
from bot.deploys.rules import Via
from bot.deploys.service import (
    Changes,
    DeployService,
    Done,
    FinishOutcome,
    Outcome,
)
from bot.runbook.flows import RunbookFlows


class DeployFlows:
    def __init__(
        self,
        deploys: DeployService,
        announcer: Announcer,
        runbooks: RunbookFlows,
        notices: DeployNotices,
    ) -> None:
        self.deploys = deploys
        self.announcer = announcer
        self.runbooks = runbooks
        self.notices = notices

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
        self.notices.started(session, booking, user_id)
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
            if action is Action.LAND:
                self.notices.landed(session, booking, user_id, via)
                self.runbooks.landing(session, booking)
            elif action is Action.FAIL:
                self.notices.failed(session, booking, via)
                self.runbooks.failing(session, booking)
            else:
                self.notices.rolled_back(session, booking, user_id)
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
            self.notices.edited(session, booking, user_id, voided)
            # The announcement shows the slot, the PRs and, when the edit voided the
            # approvals, that its buttons no longer count: any edit changes it.
            self.announcer.changed(session, booking)

        return self.deploys.edit(short_id, user_id=user_id, changes=changes, notify=notice)
