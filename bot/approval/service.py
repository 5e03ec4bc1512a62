"""Approval use cases: announce a booking, approve, request changes.

Every decision locks the booking row first, so concurrent clicks are counted one after
the other and the quorum transition happens exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.approval.model import Approval, Decision
from bot.approval.rules import ApprovalContext, Verdict, judge_approval, judge_change_request
from bot.audit.model import record
from bot.booking.lifecycle import Action, TransitionRefused, next_status
from bot.booking.model import Booking
from bot.booking.rules import Status
from bot.booking.service import locked_booking, normalize_short_id
from bot.booking.transitions import transition
from bot.db import Database, utcnow

# Part of this service's outcomes, so re-exported from here too.
from bot.outcomes import NotAllowed as NotAllowed
from bot.outcomes import NotFound as NotFound


@dataclass(frozen=True)
class AnnouncementView:
    """Everything the announcement message shows, read in one transaction."""

    booking: Booking
    approvers: list[str]
    required: int
    changes_requested_by: str | None = None
    changes_reason: str | None = None


@dataclass(frozen=True)
class Announced:
    view: AnnouncementView


@dataclass(frozen=True)
class Decided:
    verdict: Verdict
    view: AnnouncementView


AnnounceOutcome = Announced | NotFound | NotAllowed
DecisionOutcome = Decided | NotFound


class Announcements(Protocol):
    """The approval announcement (bot/approval/announcer.py): its post and updates are
    recorded in the transaction of the decision that causes them (docs/adr/0019), which
    holds the booking's row lock (docs/adr/0011), so each is rendered from exactly the
    revision that commits and one booking's updates are recorded in commit order."""

    def posted(
        self,
        session: Session,
        booking: Booking,
        previous_channel: str | None,
        previous_ts: str | None,
    ) -> None: ...

    def changed(self, session: Session, booking: Booking) -> None: ...


class Notices(Protocol):
    """The requester's DMs about decisions (bot/approval/notices.py), recorded in the
    transaction of the decision (docs/adr/0019)."""

    def approved(self, session: Session, view: AnnouncementView) -> None: ...

    def changes_requested(
        self, session: Session, booking: Booking, reviewer_id: str, reason: str
    ) -> None: ...


class ApprovalService:
    def __init__(
        self,
        database: Database,
        required: int,
        now: Callable[[], datetime] = utcnow,
        notices: Notices | None = None,
        announcements: Announcements | None = None,
    ) -> None:
        self.database = database
        self.required = required
        self.now = now
        self.notices = notices
        self.announcements = announcements

    def announce(self, short_id: str, *, user_id: str) -> AnnounceOutcome:
        with self.database.transaction() as session:
            booking = locked_booking(session, short_id)
            if booking is None:
                return NotFound(normalize_short_id(short_id))
            if booking.requester_id != user_id:
                return NotAllowed(f"only <@{booking.requester_id}>, who booked it, can announce it")
            previous = (booking.announcement_channel, booking.announcement_ts)

            def unannounced(booking: Booking) -> None:
                # A new announcement replaces the last one (its post, recorded below, is
                # sent after this commits and records its ts).
                booking.announcement_channel = None
                booking.announcement_ts = None

            try:
                transition(
                    session,
                    booking,
                    Action.ANNOUNCE,
                    actor_id=user_id,
                    at=self.now(),
                    also=unannounced,
                    audit_action="booking.announced",
                )
            except TransitionRefused as refused:
                return NotAllowed(str(refused))
            if self.announcements is not None:
                self.announcements.posted(session, booking, *previous)
            return Announced(self._view(session, booking))

    def approve(
        self, short_id: str, *, clicked_round: int, approver_id: str, is_approver: bool
    ) -> DecisionOutcome:
        with self.database.transaction() as session:
            booking = locked_booking(session, short_id)
            if booking is None:
                return NotFound(normalize_short_id(short_id))
            context = self._context(session, booking)
            verdict = judge_approval(
                context,
                approver_id=approver_id,
                clicked_round=clicked_round,
                is_approver=is_approver,
            )
            if verdict in (Verdict.COUNTED, Verdict.QUORUM):
                now = self.now()
                session.add(
                    Approval(
                        booking_id=booking.id,
                        round=booking.approval_round,
                        approver_id=approver_id,
                        decision=Decision.APPROVE.value,
                        decided_at=now,
                    )
                )
                record(
                    session,
                    actor_id=approver_id,
                    action="approval.approved",
                    entity_type="booking",
                    entity_id=booking.short_id,
                    after={"round": booking.approval_round},
                    at=now,
                )
                if verdict is Verdict.QUORUM:
                    before = booking.snapshot()
                    booking.status = next_status(booking.status, Action.APPROVE).value
                    session.flush()
                    record(
                        session,
                        actor_id=approver_id,
                        action="booking.approved",
                        entity_type="booking",
                        entity_id=booking.short_id,
                        before=before,
                        after=booking.snapshot(),
                        at=now,
                    )
                booking.touch()
                session.flush()
                if self.announcements is not None:
                    self.announcements.changed(session, booking)
            view = self._view(session, booking)
            if verdict is Verdict.QUORUM and self.notices is not None:
                self.notices.approved(session, view)
            return Decided(verdict, view)

    def request_changes(
        self, short_id: str, *, clicked_round: int, reviewer_id: str, is_approver: bool, reason: str
    ) -> DecisionOutcome:
        with self.database.transaction() as session:
            booking = locked_booking(session, short_id)
            if booking is None:
                return NotFound(normalize_short_id(short_id))
            context = self._context(session, booking)
            verdict = judge_change_request(
                context,
                reviewer_id=reviewer_id,
                clicked_round=clicked_round,
                is_approver=is_approver,
            )
            if verdict is Verdict.COUNTED:
                now = self.now()
                session.add(
                    Approval(
                        booking_id=booking.id,
                        round=booking.approval_round,
                        approver_id=reviewer_id,
                        decision=Decision.REQUEST_CHANGES.value,
                        reason=reason,
                        decided_at=now,
                    )
                )
                # The reviewer may have approved earlier in this round; the unique
                # constraint allows one decision each, so that approval is replaced.
                session.execute(
                    sa.delete(Approval)
                    .where(Approval.booking_id == booking.id)
                    .where(Approval.round == booking.approval_round)
                    .where(Approval.approver_id == reviewer_id)
                    .where(Approval.decision == Decision.APPROVE.value)
                )
                before = booking.snapshot()
                void_approvals(booking)
                session.flush()
                record(
                    session,
                    actor_id=reviewer_id,
                    action="booking.changes_requested",
                    entity_type="booking",
                    entity_id=booking.short_id,
                    before=before,
                    after=booking.snapshot(),
                    reason=reason,
                    at=now,
                )
                if self.notices is not None:
                    self.notices.changes_requested(session, booking, reviewer_id, reason)
                if self.announcements is not None:
                    self.announcements.changed(session, booking)
            return Decided(verdict, self._view(session, booking))

    def refresh_announcement(self, short_id: str) -> None:
        """Record an update of the announcement to what the booking is now, under its row
        lock like any decision: for a click on a button that should no longer be there
        (the update after an earlier decision may never have reached Slack)."""
        if self.announcements is None:
            return
        with self.database.transaction() as session:
            booking = locked_booking(session, short_id)
            if booking is not None:
                self.announcements.changed(session, booking)

    # -- helpers ---------------------------------------------------------------------

    def _context(self, session: Session, booking: Booking) -> ApprovalContext:
        return ApprovalContext(
            requester_id=booking.requester_id,
            status=Status(booking.status),
            current_round=booking.approval_round,
            approvals_this_round=frozenset(approvers_of(session, booking, booking.approval_round)),
            required=self.required,
        )

    def _view(self, session: Session, booking: Booking) -> AnnouncementView:
        view = announcement_view(session, booking, self.required)
        session.expunge(booking)
        return view


def announcement_view(session: Session, booking: Booking, required: int) -> AnnouncementView:
    """Everything the announcement of `booking` shows, read with `session` (so within the
    transaction that is changing it, when there is one)."""
    change_request = None
    if booking.status == Status.SCHEDULED.value and booking.approval_round > 0:
        change_request = session.scalars(
            sa.select(Approval)
            .where(Approval.booking_id == booking.id)
            .where(Approval.round == booking.approval_round - 1)
            .where(Approval.decision == Decision.REQUEST_CHANGES.value)
            .order_by(Approval.decided_at.desc(), Approval.id.desc())
            .limit(1)
        ).first()
    return AnnouncementView(
        booking=booking,
        approvers=approvers_of(session, booking, booking.approval_round),
        required=required,
        changes_requested_by=change_request.approver_id if change_request else None,
        changes_reason=change_request.reason if change_request else None,
    )


def approvers_of(session: Session, booking: Booking, round_: int) -> list[str]:
    return list(
        session.scalars(
            sa.select(Approval.approver_id)
            .where(Approval.booking_id == booking.id)
            .where(Approval.round == round_)
            .where(Approval.decision == Decision.APPROVE.value)
            .order_by(Approval.decided_at, Approval.id)
        )
    )


def void_approvals(booking: Booking) -> bool:
    """Start a new approval round; back to scheduled if it was awaiting or approved.
    Returns whether anything was voided. The caller records it in the audit log."""
    if booking.status not in (Status.AWAITING_APPROVAL.value, Status.APPROVED.value):
        return False
    booking.status = next_status(booking.status, Action.VOID_APPROVALS).value
    booking.approval_round += 1
    booking.touch()
    return True
