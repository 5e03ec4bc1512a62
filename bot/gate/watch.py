"""Keeping the gate's wishes in step with bookings: the session hooks (`watch_bookings`)
that rewrite the deploy statuses of the pull requests a booking change names, in that
change's transaction, and post them after the commit.

A module of its own because it is the gate's one tie to the booking, approval, deploy and
plan code, and an implicit one (docs/adr/0015): whoever wonders why a status changed after
a booking flow finds it here, apart from what the service does when asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.db import Database, is_outermost
from bot.gate.service import GateService
from bot.plans.model import PlanStep

# What the hooks of one transaction hand each other in `session.info`.
_CHANGED_BOOKINGS = "gate_changed_bookings"
_CHANGED_REFS = "gate_changed_refs"
_SYNC_AFTER_COMMIT = "gate_sync_after_commit"


def watch_bookings(database: Database, gate: GateService) -> None:
    """Rewrite the deploy statuses of the PRs a booking names whenever a booking changes
    (made, announced, approved, started, landed, cancelled, expired, its PRs edited),
    in the transaction that changes it, and post them after the commit.

    Listening to the session rather than calling the gate from each booking flow keeps
    the booking, approval, deploy, plan and clock code unaware of GitHub, and no flow
    can be forgotten: every booking change goes through a session of this database.
    """
    if not gate.enabled:
        return
    sessions = database.sessions

    @sa.event.listens_for(sessions, "after_flush")
    def _collect(session: Session, _context: Any) -> None:
        for obj in list(session.new) + list(session.dirty):
            if not isinstance(obj, Booking):
                continue
            session.info.setdefault(_CHANGED_BOOKINGS, set()).add(obj.id)
            refs = session.info.setdefault(_CHANGED_REFS, set())
            refs.update(obj.pull_requests or ())
            # PRs taken out of a booking by an edit lose its cover too.
            history = sa.inspect(obj).attrs.pull_requests.history
            for old in history.deleted or ():
                refs.update(old or ())

    @sa.event.listens_for(sessions, "before_commit")
    def _refresh(session: Session) -> None:
        # Also dispatched when a savepoint is released: refreshing then would do the work
        # twice and lock the PRs' rows outside their one order (GateService.refresh).
        # What was collected waits for the real commit.
        if not is_outermost(session):
            return
        session.flush()  # changes not flushed yet are collected by _collect
        booking_ids = session.info.pop(_CHANGED_BOOKINGS, set())
        refs = session.info.pop(_CHANGED_REFS, set())
        if not booking_ids:
            return
        # A plan step's change (step 1 landed) changes what its other steps wait for.
        plan_ids = _select_plan_ids(session, booking_ids)
        if plan_ids:
            for pulls in session.scalars(
                sa.select(Booking.pull_requests)
                .join(PlanStep, PlanStep.booking_id == Booking.id)
                .where(PlanStep.plan_id.in_(plan_ids))
            ):
                refs.update(pulls or ())
        named = gate.pulls_named(refs)
        if named and gate.refresh(session, named):
            session.info[_SYNC_AFTER_COMMIT] = True

    # Both also run for a savepoint (released, rolled back): posting then would post
    # statuses another connection cannot see yet and leave the real commit nothing to
    # post; forgetting then would drop what the transaction changed outside it.
    @sa.event.listens_for(sessions, "after_commit")
    def _post(session: Session) -> None:
        if is_outermost(session) and session.info.pop(_SYNC_AFTER_COMMIT, False):
            gate.sync_soon()

    @sa.event.listens_for(sessions, "after_rollback")
    def _forget(session: Session) -> None:
        if not is_outermost(session):
            return
        for key in (_CHANGED_BOOKINGS, _CHANGED_REFS, _SYNC_AFTER_COMMIT):
            session.info.pop(key, None)


def _select_plan_ids(session: Session, booking_ids: Iterable[int]) -> list[int]:
    ids = [booking_id for booking_id in booking_ids if booking_id is not None]
    if not ids:
        return []
    return list(
        session.scalars(sa.select(PlanStep.plan_id).where(PlanStep.booking_id.in_(ids)).distinct())
    )
