"""Deploy use cases after approval: start (or override), land, fail, roll back, edit the
booking, and read its history. One transaction each, the booking row locked first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.approval.service import void_approvals
from bot.audit.model import AuditEntry, record
from bot.booking.constraints import is_one_deploying, is_overlap
from bot.booking.lifecycle import Action, TransitionRefused, next_status
from bot.booking.model import Booking
from bot.booking.rules import (
    ACTIVE_STATUSES,
    BookingPolicy,
    BookingRequest,
    Kind,
    PullRequestRef,
    Slot,
    Status,
    check_request,
)
from bot.booking.service import WindowRules, locked_booking, normalize_short_id
from bot.booking.transitions import transition
from bot.db import Database, utcnow
from bot.deploys.rules import StartContext, start_refusal

# Part of this service's outcomes, so re-exported from here too.
from bot.outcomes import NotFound as NotFound
from bot.outcomes import OutsideWindow as OutsideWindow
from bot.outcomes import Refused as Refused
from bot.plans.steps import position

# Where each finishing action leaves a booking (to tell "already done" from refused).
FINISHED_BY = {
    Action.LAND: Status.LANDED,
    Action.FAIL: Status.FAILED,
    Action.ROLL_BACK: Status.ROLLED_BACK,
}

# Says why a booking may not land yet (e.g. its ES runbook is incomplete), or None.
LandingGuard = Callable[[Session, Booking], str | None]


@dataclass(frozen=True)
class Done:
    booking: Booking
    voided: bool = False


@dataclass(frozen=True)
class Already:
    """The booking was already where this asked to move it (a Heroku release landed it
    before `/deploy done`, or the other way round): nothing changed. `how` is what moved
    it (the audit entry's reason, e.g. the release), or None when a person did."""

    booking: Booking
    by: str
    how: str | None


Outcome = Done | Refused | NotFound | OutsideWindow
FinishOutcome = Done | Already | Refused | NotFound


@dataclass(frozen=True)
class Changes:
    starts_at: datetime | None = None
    duration: timedelta | None = None
    pull_requests: tuple[PullRequestRef, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.starts_at or self.duration or self.pull_requests)


# Records what the channel is told of a move, in the move's own transaction
# (docs/adr/0019): the lifecycle flows (bot/lifecycle/flows.py) pass one.
Notify = Callable[[Session, Booking], None]
# The same for an edit, which also says whether it voided the approvals.
EditNotify = Callable[[Session, Booking, bool], None]


class DeployService:
    def __init__(
        self,
        database: Database,
        policy: BookingPolicy,
        *,
        early_start_grace: timedelta,
        allow_override: bool,
        landing_guard: LandingGuard | None = None,
        now: Callable[[], datetime] = utcnow,
        windows: WindowRules | None = None,
    ) -> None:
        self.database = database
        self.policy = policy
        self.grace = early_start_grace
        self.allow_override = allow_override
        self.landing_guard = landing_guard
        self.now = now
        self.windows = windows

    def start(
        self,
        short_id: str,
        *,
        user_id: str,
        override_reason: str | None = None,
        notify: Notify | None = None,
    ) -> Outcome:
        """Start the deploy; `notify` records its notice in the start's own transaction."""
        override = override_reason is not None
        if override and not self.allow_override:
            return Refused("emergency override is turned off here (ALLOW_EMERGENCY_OVERRIDE)")
        if override and not (override_reason or "").strip():
            return Refused(
                "an override needs a reason, e.g. `/deploy start B7K2Q --override "
                '"site down, fix cannot wait"`'
            )
        try:
            with self.database.transaction() as session:
                booking = locked_booking(session, short_id)
                if booking is None:
                    return NotFound(normalize_short_id(short_id))
                other = session.scalar(
                    sa.select(Booking.short_id)
                    .where(Booking.app == booking.app)
                    .where(Booking.status == Status.DEPLOYING.value)
                    .where(Booking.id != booking.id)
                )
                place = position(session, booking.id)
                previous = None
                if place is not None and place.previous is not None:
                    previous = (
                        place.step - 1,
                        place.previous.short_id,
                        Status(place.previous.status),
                    )
                now = self.now()
                refusal = start_refusal(
                    StartContext(
                        Status(booking.status),
                        booking.starts_at,
                        booking.ends_at,
                        booking.requester_id,
                        other,
                        previous,
                    ),
                    user_id=user_id,
                    now=now,
                    grace=self.grace,
                    override=override,
                )
                if refusal is None and override and Status(booking.status) is Status.APPROVED:
                    override, override_reason = False, None  # approved: a normal start
                action = Action.OVERRIDE_START if override else Action.START
                if refusal is not None:
                    return Refused(refusal)
                if self.windows is not None:
                    # The windows must allow a tricky deploy at this very moment, unless
                    # an approver overrode them for this booking.
                    outside = self.windows.refusal(
                        session,
                        booking.app,
                        Slot(now, now + timedelta(minutes=1)),
                        booking_id=booking.id,
                    )
                    if outside is not None:
                        return outside

                def started(booking: Booking) -> None:
                    booking.started_at = now
                    booking.override_reason = override_reason

                try:
                    transition(
                        session,
                        booking,
                        action,
                        actor_id=user_id,
                        at=now,
                        reason=override_reason,
                        also=started,
                        audit_action="booking.override_start" if override else "booking.started",
                    )
                except TransitionRefused as refused:
                    return Refused(str(refused))
                if notify is not None:
                    notify(session, booking)
                session.expunge(booking)
                return Done(booking)
        except sa.exc.IntegrityError as error:
            if not is_one_deploying(error):
                raise  # not a concurrent start: an unexpected error, nothing stored
            # The one-deploying-per-app index caught a concurrent start.
            return Refused("another deploy of the same app started at the same moment")

    def finish(
        self,
        short_id: str,
        *,
        user_id: str,
        may_act: bool,
        action: Action,
        reason: str | None = None,
        notify: Notify | None = None,
    ) -> FinishOutcome:
        """Land, fail or roll back: the requester, or an approver, may record it (and the
        bot itself, `may_act`, on a Heroku release). `reason` goes into the audit entry
        (which release moved it); `notify` records its notice in the same transaction."""
        with self.database.transaction() as session:
            booking = locked_booking(session, short_id)
            if booking is None:
                return NotFound(normalize_short_id(short_id))
            if user_id != booking.requester_id and not may_act:
                return Refused(f"only <@{booking.requester_id}> or an approver can do that")
            if booking.status == FINISHED_BY[action].value:
                entry = session.scalars(
                    sa.select(AuditEntry)
                    .where(AuditEntry.entity_type == "booking")
                    .where(AuditEntry.entity_id == booking.short_id)
                    .where(AuditEntry.action == f"booking.{booking.status}")
                    .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
                ).first()
                session.expunge(booking)
                return Already(
                    booking,
                    by=entry.actor_id if entry else "",
                    how=entry.reason if entry else None,
                )
            try:
                next_status(booking.status, action)
            except TransitionRefused as refused:
                return Refused(str(refused))
            if action is Action.LAND and self.landing_guard is not None:
                refusal = self.landing_guard(session, booking)
                if refusal is not None:
                    return Refused(refusal)
            now = self.now()

            def finished(booking: Booking) -> None:
                if action in (Action.LAND, Action.FAIL):
                    booking.finished_at = now

            transition(
                session, booking, action, actor_id=user_id, at=now, also=finished, reason=reason
            )
            if notify is not None:
                notify(session, booking)
            session.expunge(booking)
            return Done(booking)

    def edit(
        self,
        short_id: str,
        *,
        user_id: str,
        changes: Changes,
        notify: EditNotify | None = None,
    ) -> Outcome:
        """Move or change the booking; `notify` records its notice in the edit's own
        transaction, told whether the approvals were voided."""
        try:
            with self.database.transaction() as session:
                booking = locked_booking(session, short_id)
                if booking is None:
                    return NotFound(normalize_short_id(short_id))
                if booking.requester_id != user_id:
                    return Refused(f"only <@{booking.requester_id}>, who booked it, can change it")
                if Status(booking.status) not in ACTIVE_STATUSES - {Status.DEPLOYING}:
                    return Refused(f"it is {Status(booking.status).label}")
                starts_at = changes.starts_at or booking.starts_at
                duration = changes.duration or (booking.ends_at - booking.starts_at)
                prs = changes.pull_requests or tuple(booking.pull_request_refs)
                request = BookingRequest(
                    booking.app, Kind(booking.kind), prs, starts_at, duration, booking.title
                )
                problems = check_request(request, self.now(), self.policy)
                if changes.starts_at is None:
                    # Keeping the old start is fine even if it is now inside the lead time.
                    problems = [p for p in problems if p.field != "starts_at"]
                if problems:
                    return Refused(" ".join(p.message for p in problems))
                place = position(session, booking.id)
                if place is not None:
                    if place.previous is not None and starts_at < place.previous.ends_at:
                        return Refused(
                            f"step {place.step} cannot start before step "
                            f"{place.step - 1} (`{place.previous.short_id}`) ends"
                        )
                    if place.following is not None and request.ends_at > place.following.starts_at:
                        return Refused(
                            f"step {place.step} must end before step "
                            f"{place.step + 1} (`{place.following.short_id}`) starts; "
                            "move that one first"
                        )
                if self.windows is not None and (changes.starts_at or changes.duration):
                    outside = self.windows.refusal(
                        session,
                        booking.app,
                        Slot(starts_at, request.ends_at),
                        booking_id=booking.id,
                    )
                    if outside is not None:
                        return outside
                before = booking.snapshot()
                material = (
                    starts_at != booking.starts_at
                    or [pr.short for pr in prs] != booking.pull_requests
                )
                booking.starts_at = starts_at
                booking.ends_at = request.ends_at
                booking.pull_requests = [pr.short for pr in prs]
                voided = void_approvals(booking) if material else False
                booking.touch()
                session.flush()
                record(
                    session,
                    actor_id=user_id,
                    action="booking.edited",
                    entity_type="booking",
                    entity_id=booking.short_id,
                    before=before,
                    after=booking.snapshot(),
                    reason="approvals voided" if voided else None,
                    at=self.now(),
                )
                if notify is not None:
                    notify(session, booking, voided)
                session.expunge(booking)
                return Done(booking, voided=voided)
        except sa.exc.IntegrityError as error:
            if not is_overlap(error):
                raise  # not the slot: an unexpected error, nothing stored
            return Refused(
                "that time overlaps another booking of the same app (`/deploy list` shows them)"
            )

    def booking(self, short_id: str) -> Booking | None:
        """The booking, detached from the session (for showing it whole)."""
        with self.database.transaction() as session:
            booking = session.scalar(
                sa.select(Booking).where(Booking.short_id == normalize_short_id(short_id))
            )
            if booking is not None:
                session.expunge(booking)
            return booking

    def history(self, short_id: str) -> list[AuditEntry] | None:
        with self.database.transaction() as session:
            short_id = normalize_short_id(short_id)
            if session.scalar(sa.select(Booking.id).where(Booking.short_id == short_id)) is None:
                return None
            entries = list(
                session.scalars(
                    sa.select(AuditEntry)
                    .where(AuditEntry.entity_type == "booking")
                    .where(AuditEntry.entity_id == short_id)
                    .order_by(AuditEntry.occurred_at, AuditEntry.id)
                )
            )
            for entry in entries:
                session.expunge(entry)
            return entries
