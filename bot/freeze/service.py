"""Freeze use cases: freeze, unfreeze, read the current freeze, list due reminders.

Each call is one short transaction. Nothing here talks to Slack or GitHub: the Slack layer
decides what to tell people, and `enforcement.FreezeEnforcer` brings GitHub in line with
what these calls wrote down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.audit.model import record
from bot.db import Database, utcnow
from bot.freeze.constraints import is_second_active_freeze
from bot.freeze.model import Freeze
from bot.freeze.rules import clean_reason, may_unfreeze, reminder_due
from bot.idempotency import AlreadyProcessed, claim, mark_answered, note_result, reply_owed

# Part of this service's outcomes, so re-exported from here too.
from bot.outcomes import Duplicate as Duplicate


@dataclass(frozen=True)
class Frozen:
    """`repeated`: this request froze it before and its reply never went out (its work
    process died first, docs/adr/0018): owed to the person, nothing else to do."""

    freeze: Freeze
    repeated: bool = False


@dataclass(frozen=True)
class AlreadyFrozen:
    """The branch was frozen already; `freeze` is the freeze that is on."""

    freeze: Freeze


FreezeOutcome = Frozen | AlreadyFrozen | Duplicate


@dataclass(frozen=True)
class Unfrozen:
    """`repeated`: as Frozen's."""

    freeze: Freeze
    repeated: bool = False

    @property
    def lasted(self) -> timedelta:
        return (self.freeze.unfrozen_at or self.freeze.frozen_at) - self.freeze.frozen_at


@dataclass(frozen=True)
class NotFrozen:
    """Nothing to unfreeze. `last` is the most recent freeze of the branch, if any."""

    last: Freeze | None


@dataclass(frozen=True)
class NotAllowed:
    freeze: Freeze


@dataclass(frozen=True)
class OtherFreeze:
    """The branch is frozen, but not by the freeze the caller meant (another booking's,
    or a manual one), so it was left on."""

    freeze: Freeze


UnfreezeOutcome = Unfrozen | NotFrozen | NotAllowed | OtherFreeze | Duplicate


@dataclass(frozen=True)
class DueReminder:
    freeze: Freeze
    number: int
    due_at: datetime

    @property
    def key(self) -> str:
        # Unique per freeze and per reminder, so each goes out once (ADR 0007).
        return f"freeze:{self.freeze.id}:remind:{self.number}"


class Notices(Protocol):
    """The channel's notices of freezes (bot/freeze/notices.py), recorded in the
    transaction of the freeze or unfreeze they tell of (docs/adr/0019)."""

    def frozen(self, session: Session, freeze: Freeze) -> None: ...

    def unfrozen(self, session: Session, freeze: Freeze) -> None: ...


class FreezeService:
    def __init__(
        self,
        database: Database,
        branch: str,
        now: Callable[[], datetime] = utcnow,
        notices: Notices | None = None,
    ) -> None:
        self.database = database
        self.branch = branch
        self.now = now
        self.notices = notices

    # -- freezing --------------------------------------------------------------------

    def freeze(
        self,
        *,
        user_id: str,
        reason: str = "",
        booking_short_id: str | None = None,
        exempt_pulls: Iterable[int] = (),
        request_key: str | None = None,
    ) -> FreezeOutcome:
        """Freeze the branch. `exempt_pulls` are pull request numbers (in GITHUB_REPO)
        of the booked change, which keep a passing status and so may still merge."""
        exempt = sorted({int(number) for number in exempt_pulls})
        try:
            with self.database.transaction() as session:
                if request_key is not None:
                    claim(session, request_key)
                current = self._active(session, for_update=True)
                if current is not None:
                    # Raising rolls the claim back: a refused freeze changed nothing.
                    session.expunge(current)
                    raise _AlreadyFrozen(current)
                freeze = Freeze(
                    branch=self.branch,
                    reason=clean_reason(reason),
                    frozen_at=self.now(),
                    frozen_by=user_id,
                    booking_short_id=booking_short_id,
                    exempt_pulls=exempt,
                    sweep_pending=True,
                )
                session.add(freeze)
                session.flush()
                if request_key is not None:
                    note_result(session, request_key, str(freeze.id))
                record(
                    session,
                    actor_id=user_id,
                    action="freeze.started",
                    entity_type="freeze",
                    entity_id=str(freeze.id),
                    after=freeze.snapshot(),
                    reason=freeze.reason or None,
                )
                if self.notices is not None:
                    self.notices.frozen(session, freeze)
            return Frozen(freeze)
        except AlreadyProcessed:
            repeated = self._owed(request_key)
            return Frozen(repeated, repeated=True) if repeated is not None else Duplicate()
        except _AlreadyFrozen as found:
            return AlreadyFrozen(found.freeze)
        except sa.exc.IntegrityError as error:
            if not is_second_active_freeze(error):
                raise
            # Lost a race: another freeze committed between our check and our insert,
            # and the partial unique index refused the second active freeze.
            current = self.current()
            if current is None:
                raise
            return AlreadyFrozen(current)

    def _owed(self, request_key: str | None) -> Freeze | None:
        """The freeze a request whose key is taken changed, if its reply is still owed."""
        if request_key is None:
            return None
        freeze_id = reply_owed(self.database, request_key)
        if freeze_id is None:
            return None
        with self.database.transaction() as session:
            return session.get(Freeze, int(freeze_id))

    def answered(self, request_key: str) -> None:
        """The reply to `request_key` has gone out (docs/adr/0018)."""
        mark_answered(self.database, request_key)

    # -- unfreezing ------------------------------------------------------------------

    def unfreeze(
        self,
        *,
        user_id: str,
        user_is_approver: bool,
        freeze_id: int | None = None,
        booking_short_id: str | None = None,
        request_key: str | None = None,
    ) -> UnfreezeOutcome:
        """Lift the active freeze.

        `user_is_approver` is decided by the caller (it needs Slack); the person who froze
        the branch may unfreeze without it. With `freeze_id` (a button on a reminder) or
        `booking_short_id` (the deploy lifecycle), only that freeze is lifted: if another
        one is on, the answer is OtherFreeze and nothing changes.
        """
        try:
            with self.database.transaction() as session:
                if request_key is not None:
                    claim(session, request_key)
                current = self._active(session, for_update=True)
                if current is None:
                    return NotFrozen(self._last(session))
                if (freeze_id is not None and current.id != freeze_id) or (
                    booking_short_id is not None and current.booking_short_id != booking_short_id
                ):
                    return OtherFreeze(current)
                if not may_unfreeze(
                    frozen_by=current.frozen_by,
                    user_id=user_id,
                    user_is_approver=user_is_approver,
                ):
                    return NotAllowed(current)
                before = current.snapshot()
                now = max(self.now(), current.frozen_at)
                # Conditional on still being active: of two unfreezes racing, the
                # database lets exactly one change the row.
                result = session.execute(
                    sa.update(Freeze)
                    .where(Freeze.id == current.id)
                    .where(Freeze.unfrozen_at.is_(None))
                    .values(unfrozen_at=now, unfrozen_by=user_id, sweep_pending=True)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    # Someone else lifted it since we read it (SQLite reads outside
                    # the write transaction). Roll back our claim and audit entry.
                    raise _LostRace
                session.refresh(current)
                if request_key is not None:
                    note_result(session, request_key, str(current.id))
                record(
                    session,
                    actor_id=user_id,
                    action="freeze.ended",
                    entity_type="freeze",
                    entity_id=str(current.id),
                    before=before,
                    after=current.snapshot(),
                )
                if self.notices is not None:
                    self.notices.unfrozen(session, current)
                return Unfrozen(current)
        except AlreadyProcessed:
            repeated = self._owed(request_key)
            return Unfrozen(repeated, repeated=True) if repeated is not None else Duplicate()
        except _LostRace:
            with self.database.transaction() as session:
                return NotFrozen(self._last(session))

    # -- reading ---------------------------------------------------------------------

    def current(self) -> Freeze | None:
        """The branch's active freeze, or None."""
        with self.database.transaction() as session:
            return self._active(session)

    def get(self, freeze_id: int) -> Freeze | None:
        with self.database.transaction() as session:
            return session.get(Freeze, freeze_id)

    def history(self, limit: int = 10) -> list[Freeze]:
        """The branch's most recent freezes, newest first."""
        with self.database.transaction() as session:
            query = (
                sa.select(Freeze)
                .where(Freeze.branch == self.branch)
                .order_by(Freeze.frozen_at.desc(), Freeze.id.desc())
                .limit(limit)
            )
            return list(session.scalars(query))

    def due_reminders(self, now: datetime, every: timedelta) -> list[DueReminder]:
        """The latest reminder due for each active freeze (of any branch, so that changing
        FREEZE_BRANCH does not orphan a freeze that is still on)."""
        with self.database.transaction() as session:
            active = session.scalars(sa.select(Freeze).where(Freeze.unfrozen_at.is_(None)))
            due = []
            for freeze in active:
                found = reminder_due(freeze.frozen_at, now, every)
                if found is not None:
                    due.append(DueReminder(freeze, *found))
            return due

    def is_still_active(self, freeze_id: int) -> bool:
        with self.database.transaction() as session:
            freeze = session.get(Freeze, freeze_id)
            return freeze is not None and freeze.active

    # -- helpers ---------------------------------------------------------------------

    def _active(self, session: Session, *, for_update: bool = False) -> Freeze | None:
        query = (
            sa.select(Freeze)
            .where(Freeze.branch == self.branch)
            .where(Freeze.unfrozen_at.is_(None))
        )
        if for_update:
            # PostgreSQL: a concurrent unfreeze waits for us instead of reading a row
            # we are about to change. (SQLite ignores it; the conditional UPDATE and
            # the unique index still decide races there.)
            query = query.with_for_update()
        return session.scalars(query).first()

    def _last(self, session: Session) -> Freeze | None:
        query = (
            sa.select(Freeze)
            .where(Freeze.branch == self.branch)
            .order_by(Freeze.frozen_at.desc(), Freeze.id.desc())
            .limit(1)
        )
        return session.scalars(query).first()


class _LostRace(Exception):
    pass


class _AlreadyFrozen(Exception):
    def __init__(self, freeze: Freeze) -> None:
        self.freeze = freeze
