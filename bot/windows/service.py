"""Deploy windows' use cases: manage the windows, judge a tricky slot against them, record
an approver's override, and schedule freezes' ends. One short transaction per call; the
checks the booking, editing, plan and start flows make run in the caller's transaction.

Every change is in the audit log (entity type `window`, and `booking` for overrides).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.audit.model import SYSTEM_ACTOR, AuditEntry, record
from bot.booking.model import Booking
from bot.booking.rules import ACTIVE_STATUSES, Slot
from bot.booking.service import locked_booking, normalize_short_id
from bot.db import Database, utcnow
from bot.outcomes import NotFound, OutsideWindow
from bot.windows.model import DeployWindow, ScheduledUnfreeze, WindowOverride
from bot.windows.rules import (
    Occurrence,
    Window,
    WindowState,
    breach,
    freezing_blackout,
    last_boundary,
    next_slot,
    state_at,
)

log = logging.getLogger(__name__)

MAX_WINDOWS = 50
SEEDED_ACTION = "window.seeded"


@dataclass(frozen=True)
class Added:
    window: Window


@dataclass(frozen=True)
class Removed:
    window: Window


@dataclass(frozen=True)
class TooMany:
    limit: int


@dataclass(frozen=True)
class Overridden:
    booking: Booking
    reason: str


@dataclass(frozen=True)
class OverrideRefused:
    reason: str


class Notices(Protocol):
    """The channel's notices of window changes and overrides (bot/windows/notices.py),
    recorded in the change's own transaction (docs/adr/0019)."""

    def added(self, session: Session, window: Window, user_id: str) -> None: ...

    def removed(self, session: Session, window: Window, user_id: str) -> None: ...

    def overridden(self, session: Session, booking: Booking, user_id: str, reason: str) -> None: ...


class WindowService:
    def __init__(
        self,
        database: Database,
        *,
        seed: Sequence[Window] = (),
        now: Callable[[], datetime] = utcnow,
        notices: Notices | None = None,
    ) -> None:
        self.database = database
        self.notices = notices
        self.seed = tuple(seed)
        self.now = now
        self._seeded = not self.seed

    # -- managing windows ---------------------------------------------------------------

    def windows(self, session: Session | None = None) -> list[Window]:
        """Every window, oldest first."""
        if session is None:
            with self.database.transaction() as own:
                return self.windows(own)
        self._seed_once(session)
        rows = session.scalars(sa.select(DeployWindow).order_by(DeployWindow.id))
        return [row.rule for row in rows]

    def add(self, window: Window, *, user_id: str) -> Added | TooMany:
        with self.database.transaction() as session:
            self._seed_once(session)
            count = session.scalar(sa.select(sa.func.count()).select_from(DeployWindow)) or 0
            if count >= MAX_WINDOWS:
                return TooMany(MAX_WINDOWS)
            row = self._insert(session, window, user_id)
            if self.notices is not None:
                self.notices.added(session, row.rule, user_id)
            return Added(row.rule)

    def remove(self, window_id: int, *, user_id: str) -> Removed | NotFound:
        with self.database.transaction() as session:
            self._seed_once(session)
            row = session.get(DeployWindow, window_id)
            if row is None:
                return NotFound(str(window_id))
            rule = row.rule
            record(
                session,
                actor_id=user_id,
                action="window.removed",
                entity_type="window",
                entity_id=str(row.id),
                before=row.snapshot(),
                at=self.now(),
            )
            session.delete(row)
            if self.notices is not None:
                self.notices.removed(session, rule, user_id)
            return Removed(rule)

    def _insert(self, session: Session, window: Window, user_id: str) -> DeployWindow:
        row = DeployWindow.from_rule(window, user_id)
        row.created_at = self.now()
        session.add(row)
        session.flush()
        record(
            session,
            actor_id=user_id,
            action="window.added",
            entity_type="window",
            entity_id=str(row.id),
            after=row.snapshot(),
            at=self.now(),
        )
        return row

    def _seed_once(self, session: Session) -> None:
        """DEPLOY_WINDOWS is the starting set of a new install: stored the first time the
        windows are read, and never again (windows removed later stay removed)."""
        if self._seeded:
            return
        done = session.scalar(
            sa.select(AuditEntry.id).where(AuditEntry.action == SEEDED_ACTION).limit(1)
        )
        if done is None:
            for window in self.seed:
                self._insert(session, window, SYSTEM_ACTOR)
            record(
                session,
                actor_id=SYSTEM_ACTOR,
                action=SEEDED_ACTION,
                entity_type="window",
                entity_id="seed",
                after={"windows": len(self.seed)},
                at=self.now(),
            )
        self._seeded = True

    def state(self, when: datetime | None = None) -> WindowState | None:
        """Where we are now (None: no windows at all)."""
        windows = self.windows()
        if not windows:
            return None
        return state_at(windows, when or self.now())

    # -- the checks of the booking, editing, plan and start flows -------------------------

    def refusal(
        self,
        session: Session,
        app: str,
        slot: Slot,
        *,
        booking_id: int | None = None,
    ) -> OutsideWindow | None:
        """Why a tricky deploy of `app` in `slot` may not happen, with the next slot that
        fits the windows and the app's other bookings; None when it may (or when an
        approver overrode the windows for `booking_id`)."""
        windows = self.windows(session)
        if not windows or self._overridden(session, booking_id):
            return None
        broken = breach(windows, slot.starts_at, slot.ends_at)
        if broken is None:
            return None
        duration = slot.ends_at - slot.starts_at
        found = next_slot(windows, self._busy(session, app, booking_id), slot.starts_at, duration)
        if found is None:
            return OutsideWindow(broken.message)
        return OutsideWindow(broken.message, found[0], found[1])

    def start_refusal(
        self, session: Session, booking: Booking, now: datetime
    ) -> OutsideWindow | None:
        """Why `booking` may not start now: the windows must allow a tricky deploy at
        this very moment (the slot was checked when it was booked; the rules or the
        clock may have moved since)."""
        return self.refusal(
            session,
            booking.app,
            Slot(now, now + timedelta(minutes=1)),
            booking_id=booking.id,
        )

    def next_slot(
        self, session: Session, app: str, starts_at: datetime, duration: timedelta
    ) -> Slot | None:
        """The next slot that fits the windows and the app's bookings (the booking
        service's "next free slot" when the windows are in force)."""
        windows = self.windows(session)
        if not windows:
            return None
        found = next_slot(windows, self._busy(session, app, None), starts_at, duration)
        return Slot(*found) if found else None

    def record_override(self, session: Session, booking: Booking, *, by: str, reason: str) -> None:
        """Let `booking` ignore the windows, in the caller's transaction, audited."""
        existing = session.scalar(
            sa.select(WindowOverride).where(WindowOverride.booking_id == booking.id)
        )
        if existing is None:
            session.add(
                WindowOverride(
                    booking_id=booking.id, reason=reason, overridden_by=by, overridden_at=self.now()
                )
            )
        else:
            existing.reason, existing.overridden_by, existing.overridden_at = (
                reason,
                by,
                self.now(),
            )
        session.flush()
        record(
            session,
            actor_id=by,
            action="booking.window_override",
            entity_type="booking",
            entity_id=booking.short_id,
            reason=reason,
            at=self.now(),
        )

    def override(
        self, short_id: str, *, user_id: str, reason: str
    ) -> Overridden | NotFound | OverrideRefused:
        """`/deploy window override ID "reason"`: the caller has checked that `user_id`
        is an approver."""
        with self.database.transaction() as session:
            booking = locked_booking(session, short_id)
            if booking is None:
                return NotFound(normalize_short_id(short_id))
            if booking.status not in {s.value for s in ACTIVE_STATUSES}:
                return OverrideRefused(
                    f"`{booking.short_id}` is {booking.status.replace('_', ' ')}"
                )
            self.record_override(session, booking, by=user_id, reason=reason)
            booking.touch()
            session.flush()
            if self.notices is not None:
                self.notices.overridden(session, booking, user_id, reason)
            session.expunge(booking)
            return Overridden(booking, reason)

    def override_of(self, session: Session, booking_id: int) -> WindowOverride | None:
        """The approver's override of the windows for this booking, read in `session`'s
        transaction (an override recorded in it included)."""
        return session.scalar(
            sa.select(WindowOverride).where(WindowOverride.booking_id == booking_id)
        )

    def hold(self, session: Session, booking_id: int, now: datetime) -> str | None:
        """For the `deploybot/deploy` gate: why a tricky change covered by this booking
        must not merge at this moment (None: it may)."""
        windows = self.windows(session)
        if not windows or self._overridden(session, booking_id):
            return None
        broken = breach(windows, now, now + timedelta(minutes=1))
        return None if broken is None else broken.message

    def _overridden(self, session: Session, booking_id: int | None) -> bool:
        if booking_id is None:
            return False
        found = session.scalar(
            sa.select(WindowOverride.id).where(WindowOverride.booking_id == booking_id)
        )
        return found is not None

    def _busy(
        self, session: Session, app: str, excluding: int | None
    ) -> list[tuple[datetime, datetime]]:
        query = (
            sa.select(Booking.starts_at, Booking.ends_at)
            .where(Booking.app == app)
            .where(Booking.status.in_([s.value for s in ACTIVE_STATUSES]))
            .where(Booking.ends_at > self.now())
        )
        if excluding is not None:
            query = query.where(Booking.id != excluding)
        return [(start, end) for start, end in session.execute(query)]

    # -- freezes the clock ends -----------------------------------------------------------

    def schedule_unfreeze(self, freeze_id: int, ends_at: datetime) -> None:
        """`/deploy freeze ... until WHEN`: the clock lifts freeze `freeze_id` then."""
        with self.database.transaction() as session:
            session.add(ScheduledUnfreeze(freeze_id=freeze_id, ends_at=ends_at))

    def blackout_to_freeze(self, now: datetime) -> Occurrence | None:
        """The opted-in blackout that is on now and has not frozen the branch yet for
        this occurrence."""
        windows = self.windows()
        occurrence = freezing_blackout(windows, now)
        if occurrence is None or occurrence.window.id is None:
            return None
        with self.database.transaction() as session:
            done = session.scalar(
                sa.select(ScheduledUnfreeze.id)
                .where(ScheduledUnfreeze.window_id == occurrence.window.id)
                .where(ScheduledUnfreeze.occurrence_start == occurrence.interval.starts_at)
            )
        return None if done is not None else occurrence

    def claim_blackout(self, occurrence: Occurrence) -> int | None:
        """Write down that this occurrence is freezing the branch; the row's id, or None
        when another clock process got there first (unique per occurrence)."""
        try:
            with self.database.transaction() as session:
                row = ScheduledUnfreeze(
                    ends_at=occurrence.interval.ends_at,
                    window_id=occurrence.window.id,
                    occurrence_start=occurrence.interval.starts_at,
                    done=True,
                )
                session.add(row)
                session.flush()
                return row.id
        except sa.exc.IntegrityError:
            return None

    def attach_freeze(self, row_id: int, freeze_id: int) -> None:
        """The freeze the occurrence placed: lifted by the clock when the blackout ends."""
        with self.database.transaction() as session:
            session.execute(
                sa.update(ScheduledUnfreeze)
                .where(ScheduledUnfreeze.id == row_id)
                .values(freeze_id=freeze_id, done=False)
            )

    def due_unfreezes(self, now: datetime) -> list[int]:
        """Freezes whose scheduled end has come."""
        with self.database.transaction() as session:
            return [
                freeze_id
                for freeze_id in session.scalars(
                    sa.select(ScheduledUnfreeze.freeze_id)
                    .where(ScheduledUnfreeze.done.is_(False))
                    .where(ScheduledUnfreeze.ends_at <= now)
                    .where(ScheduledUnfreeze.freeze_id.is_not(None))
                )
                if freeze_id is not None
            ]

    def mark_unfrozen(self, freeze_id: int) -> None:
        with self.database.transaction() as session:
            session.execute(
                sa.update(ScheduledUnfreeze)
                .where(ScheduledUnfreeze.freeze_id == freeze_id)
                .values(done=True)
            )

    def scheduled_end(self, freeze_id: int) -> datetime | None:
        with self.database.transaction() as session:
            return session.scalar(
                sa.select(ScheduledUnfreeze.ends_at).where(ScheduledUnfreeze.freeze_id == freeze_id)
            )

    def last_boundary(self, now: datetime) -> datetime | None:
        """The latest window start or end at or before `now` (for the clock)."""
        windows = self.windows()
        return last_boundary(windows, now) if windows else None
