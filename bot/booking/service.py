"""Booking use cases: book, list, cancel. Each call is one short transaction.

Returns plain outcome objects; deciding what to tell people is left to the Slack layer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.audit.model import record
from bot.booking.constraints import is_overlap
from bot.booking.lifecycle import Action, TransitionRefused
from bot.booking.model import ACTIVE_BOOKING, Booking
from bot.booking.rules import (
    ACTIVE_STATUSES,
    BookingPolicy,
    BookingRequest,
    Problem,
    Slot,
    Status,
    check_request,
    next_free_slot,
)
from bot.booking.transitions import transition
from bot.db import Database, utcnow
from bot.idempotency import AlreadyProcessed, claim, mark_answered, note_result, reply_owed

# Part of this service's outcomes, so re-exported from here too.
from bot.outcomes import Duplicate as Duplicate
from bot.outcomes import NotFound as NotFound
from bot.outcomes import OutsideWindow as OutsideWindow

# No 0/O or 1/I/L: ids are read aloud and typed back.
_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_short_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))


def normalize_short_id(text: str) -> str:
    # NUL can arrive in a button value; PostgreSQL refuses it even in a comparison.
    return text.replace("\x00", "").strip().strip("`").upper()


@dataclass(frozen=True)
class Booked:
    """`repeated`: this request had booked it before, and its reply never went out (its
    work process died first, docs/adr/0018): the person is owed the confirmation, not
    the channel a second notice."""

    booking: Booking
    repeated: bool = False


@dataclass(frozen=True)
class Refused:
    problems: list[Problem]


@dataclass(frozen=True)
class Conflict:
    conflicting: Booking
    next_slot: Slot


BookOutcome = Booked | Refused | Conflict | OutsideWindow | Duplicate


class WindowRules(Protocol):
    """Deploy windows (bot/windows/service.py), as the booking flows use them."""

    def refusal(
        self, session: Session, app: str, slot: Slot, *, booking_id: int | None = None
    ) -> OutsideWindow | None: ...

    def next_slot(
        self, session: Session, app: str, starts_at: datetime, duration: timedelta
    ) -> Slot | None: ...

    def record_override(
        self, session: Session, booking: Booking, *, by: str, reason: str
    ) -> None: ...


@dataclass(frozen=True)
class Cancelled:
    booking: Booking


@dataclass(frozen=True)
class NotAllowed:
    booking: Booking
    reason: str


CancelOutcome = Cancelled | NotFound | NotAllowed


class Notices(Protocol):
    """The channel's notices of bookings (bot/booking/notices.py), recorded in the
    transaction of the change they tell of (docs/adr/0019)."""

    def booked(self, session: Session, booking: Booking, window_override: str | None) -> None: ...

    def cancelled(self, session: Session, booking: Booking, user_id: str) -> None: ...


class BookingService:
    def __init__(
        self,
        database: Database,
        policy: BookingPolicy,
        now: Callable[[], datetime] = utcnow,
        windows: WindowRules | None = None,
        notices: Notices | None = None,
    ) -> None:
        self.database = database
        self.policy = policy
        self.now = now
        self.notices = notices
        # Every booking is a tricky deploy, so every booking is held to the windows.
        self.windows = windows

    def book(
        self,
        request: BookingRequest,
        *,
        requester_id: str,
        origin_channel_id: str | None,
        request_key: str,
        window_override: str | None = None,
    ) -> BookOutcome:
        """`window_override` is an approver's reason for booking outside the deploy
        windows (the caller has checked that `requester_id` is an approver)."""
        problems = check_request(request, self.now(), self.policy)
        if problems:
            return Refused(problems)
        wanted = Slot(request.starts_at, request.ends_at)
        try:
            with self.database.transaction() as session:
                claim(session, request_key)
                conflict = self.first_conflict(session, request.app, wanted)
                if conflict is not None:
                    next_slot = self.next_slot(session, request)
                    # Detach it so the rollback below does not expire its attributes.
                    session.expunge(conflict)
                    # Raising rolls back the claim too: a refused request changed nothing.
                    raise _ConflictFound(conflict, next_slot)
                if self.windows is not None and window_override is None:
                    outside = self.windows.refusal(session, request.app, wanted)
                    if outside is not None:
                        raise _OutsideFound(outside)
                booking = self.insert(session, request, requester_id, origin_channel_id)
                note_result(session, request_key, booking.short_id)
                record(
                    session,
                    actor_id=requester_id,
                    action="booking.created",
                    entity_type="booking",
                    entity_id=booking.short_id,
                    after=booking.snapshot(),
                )
                if self.windows is not None and window_override is not None:
                    self.windows.record_override(
                        session, booking, by=requester_id, reason=window_override
                    )
                if self.notices is not None:
                    self.notices.booked(session, booking, window_override)
            return Booked(booking)
        except AlreadyProcessed:
            return self._repeated(request_key)
        except _OutsideFound as found:
            return found.outcome
        except _ConflictFound as found:
            return Conflict(found.conflicting, found.next_slot)
        except sa.exc.IntegrityError as error:
            if not is_overlap(error):
                raise  # not the slot: an unexpected error, nothing stored
            # Lost a race: another booking of this app committed between our check and
            # our insert, and the database's no-overlap constraint refused ours.
            with self.database.transaction() as session:
                conflict = self.first_conflict(session, request.app, wanted)
                if conflict is None:
                    raise
                return Conflict(conflict, self.next_slot(session, request))

    def _repeated(self, request_key: str) -> Booked | Duplicate:
        """A request whose key is taken: what it booked, if its reply is still owed."""
        short_id = reply_owed(self.database, request_key)
        if short_id is None:
            return Duplicate()
        with self.database.transaction() as session:
            booking = self._by_short_id(session, short_id)
        return Booked(booking, repeated=True) if booking is not None else Duplicate()

    def answered(self, request_key: str) -> None:
        """The reply to `request_key` has gone out (docs/adr/0018)."""
        mark_answered(self.database, request_key)

    def upcoming(self, limit: int = 20) -> list[Booking]:
        """Active bookings that have not ended yet, soonest first."""
        with self.database.transaction() as session:
            query = (
                sa.select(Booking)
                .where(ACTIVE_BOOKING)
                .where(Booking.ends_at > self.now())
                .order_by(Booking.starts_at, Booking.id)
                .limit(limit)
            )
            return list(session.scalars(query))

    def get(self, short_id: str) -> Booking | None:
        with self.database.transaction() as session:
            return self._by_short_id(session, short_id)

    def cancel(self, short_id: str, *, user_id: str) -> CancelOutcome:
        short_id = normalize_short_id(short_id)
        with self.database.transaction() as session:
            booking = self._by_short_id(session, short_id, for_update=True)
            if booking is None:
                return NotFound(short_id)
            if booking.requester_id != user_id:
                return NotAllowed(
                    booking, f"only <@{booking.requester_id}>, who booked it, can cancel it"
                )
            try:
                # The lifecycle table says which statuses may be cancelled (not a deploy
                # under way, nor one already over).
                transition(session, booking, Action.CANCEL, actor_id=user_id, at=self.now())
            except TransitionRefused:
                return NotAllowed(booking, f"it is already {Status(booking.status).label}")
            if self.notices is not None:
                self.notices.cancelled(session, booking, user_id)
            return Cancelled(booking)

    # -- helpers ---------------------------------------------------------------------

    def _by_short_id(
        self, session: Session, short_id: str, *, for_update: bool = False
    ) -> Booking | None:
        query = sa.select(Booking).where(Booking.short_id == normalize_short_id(short_id))
        if for_update:
            query = query.with_for_update()
        return session.scalars(query).first()

    def first_conflict(self, session: Session, app: str, wanted: Slot) -> Booking | None:
        query = (
            sa.select(Booking)
            .where(Booking.app == app)
            .where(Booking.status.in_([s.value for s in ACTIVE_STATUSES]))
            .where(Booking.starts_at < wanted.ends_at)
            .where(Booking.ends_at > wanted.starts_at)
            .order_by(Booking.starts_at)
            .limit(1)
        )
        return session.scalars(query).first()

    def next_slot(self, session: Session, request: BookingRequest) -> Slot:
        if self.windows is not None:
            # The next slot must fit the deploy windows too, not just the other bookings.
            fits = self.windows.next_slot(session, request.app, request.starts_at, request.duration)
            if fits is not None:
                return fits
        query = (
            sa.select(Booking.starts_at, Booking.ends_at)
            .where(Booking.app == request.app)
            .where(Booking.status.in_([s.value for s in ACTIVE_STATUSES]))
            .where(Booking.ends_at > request.starts_at)
        )
        busy = [Slot(start, end) for start, end in session.execute(query)]
        return next_free_slot(busy, request.starts_at, request.duration)

    def insert(
        self,
        session: Session,
        request: BookingRequest,
        requester_id: str,
        origin_channel_id: str | None,
    ) -> Booking:
        """Add a new scheduled booking for `request` to the session (flushed, so it has
        its id). The caller has checked the rules and owns the transaction."""
        booking = Booking(
            short_id=self.unused_short_id(session),
            app=request.app,
            kind=request.kind.value,
            title=request.title,
            pull_requests=[pr.short for pr in request.pull_requests],
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            status=Status.SCHEDULED.value,
            requester_id=requester_id,
            rollback_plan=request.rollback_plan,
            notes=request.notes,
            origin_channel_id=origin_channel_id,
        )
        session.add(booking)
        session.flush()
        return booking

    def unused_short_id(self, session: Session) -> str:
        while True:
            candidate = new_short_id()
            taken = session.scalar(sa.select(sa.func.count()).where(Booking.short_id == candidate))
            if not taken:
                return candidate


def locked_booking(session: Session, short_id: str) -> Booking | None:
    """Load a booking and hold its row lock until the transaction ends.

    The lock is taken with an UPDATE that changes nothing, because that works the same on
    both databases: PostgreSQL locks the row, SQLite takes its database write lock (a
    plain SELECT would not, and two approvers could then both count stale approvals).
    """
    booking_id = session.scalar(
        sa.select(Booking.id).where(Booking.short_id == normalize_short_id(short_id))
    )
    if booking_id is None:
        return None
    session.execute(
        sa.update(Booking)
        .where(Booking.id == booking_id)
        .values(revision=Booking.revision)
        .execution_options(synchronize_session=False)
    )
    return session.scalars(
        sa.select(Booking).where(Booking.id == booking_id).execution_options(populate_existing=True)
    ).one()


class _ConflictFound(Exception):
    def __init__(self, conflicting: Booking, next_slot: Slot) -> None:
        self.conflicting = conflicting
        self.next_slot = next_slot


class _OutsideFound(Exception):
    def __init__(self, outcome: OutsideWindow) -> None:
        self.outcome = outcome
