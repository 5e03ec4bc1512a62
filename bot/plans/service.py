"""Booking a migration plan: all of its steps in one transaction, or none of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.audit.model import record
from bot.booking.constraints import is_overlap
from bot.booking.model import Booking
from bot.booking.rules import BookingRequest, Problem, Slot, Status, check_request
from bot.booking.service import BookingService
from bot.idempotency import AlreadyProcessed, claim, mark_answered, note_result, reply_owed
from bot.outcomes import OutsideWindow
from bot.plans.model import DeployPlan, PlanStep
from bot.plans.rules import PlanKind
from bot.windows.blocks import outside_problem


@dataclass(frozen=True)
class PlanBooked:
    """`repeated`: this request booked the plan before and its reply never went out (its
    work process died first, docs/adr/0018): owed to the person, not to the channel."""

    plan: DeployPlan
    steps: list[Booking]
    repeated: bool = False


@dataclass(frozen=True)
class PlanRefused:
    problems: list[Problem]


@dataclass(frozen=True)
class PlanConflict:
    step: int
    conflicting: Booking
    next_slot: Slot


@dataclass(frozen=True)
class PlanDuplicate:
    pass


PlanOutcome = PlanBooked | PlanRefused | PlanConflict | PlanDuplicate


@dataclass(frozen=True)
class Progress:
    plan_short_id: str
    step: int
    total: int
    landed: int


class _StepConflict(Exception):
    def __init__(self, step: int, conflicting: Booking, next_slot: Slot) -> None:
        self.step, self.conflicting, self.next_slot = step, conflicting, next_slot


class _StepOutsideWindow(Exception):
    def __init__(self, step: int, outside: OutsideWindow) -> None:
        self.step = step
        self.outside = outside


class Notices(Protocol):
    """The channel's notice of a booked plan (bot/plans/notices.py), recorded in the
    plan's own transaction (docs/adr/0019)."""

    def booked(self, session: Session, plan: DeployPlan, steps: list[Booking]) -> None: ...


class PlanService:
    def __init__(self, bookings: BookingService, notices: Notices | None = None) -> None:
        self.bookings = bookings
        self.database = bookings.database
        self.notices = notices

    def book_plan(
        self,
        kind: PlanKind,
        title: str,
        steps: list[BookingRequest],
        *,
        requester_id: str,
        origin_channel_id: str | None,
        request_key: str,
    ) -> PlanOutcome:
        now = self.bookings.now()
        for number, request in enumerate(steps, start=1):
            problems = check_request(request, now, self.bookings.policy)
            if problems:
                return PlanRefused(
                    [Problem(p.field, f"Step {number}: {p.message}", p.example) for p in problems]
                )
        try:
            with self.database.transaction() as session:
                claim(session, request_key)
                plan = DeployPlan(
                    short_id=self.bookings.unused_short_id(session),
                    kind=kind.value,
                    title=title[:200],
                    app=steps[0].app,
                    requester_id=requester_id,
                )
                session.add(plan)
                session.flush()
                note_result(session, request_key, plan.short_id)
                created = []
                for number, request in enumerate(steps, start=1):
                    conflict = self.bookings.first_conflict(
                        session, request.app, Slot(request.starts_at, request.ends_at)
                    )
                    if conflict is not None:
                        next_slot = self.bookings.next_slot(session, request)
                        session.expunge(conflict)
                        raise _StepConflict(number, conflict, next_slot)
                    if self.bookings.windows is not None:
                        outside = self.bookings.windows.refusal(
                            session, request.app, Slot(request.starts_at, request.ends_at)
                        )
                        if outside is not None:
                            raise _StepOutsideWindow(number, outside)
                    booking = self.bookings.insert(
                        session, request, requester_id, origin_channel_id
                    )
                    session.add(PlanStep(plan_id=plan.id, step=number, booking_id=booking.id))
                    record(
                        session,
                        actor_id=requester_id,
                        action="booking.created",
                        entity_type="booking",
                        entity_id=booking.short_id,
                        after={**booking.snapshot(), "plan": plan.short_id, "step": number},
                    )
                    created.append(booking)
                record(
                    session,
                    actor_id=requester_id,
                    action="plan.created",
                    entity_type="plan",
                    entity_id=plan.short_id,
                    after={"kind": kind.value, "steps": [b.short_id for b in created]},
                )
                if self.notices is not None:
                    self.notices.booked(session, plan, created)
            return PlanBooked(plan, created)
        except AlreadyProcessed:
            return self._repeated(request_key)
        except _StepConflict as found:
            return PlanConflict(found.step, found.conflicting, found.next_slot)
        except _StepOutsideWindow as found:
            return PlanRefused([outside_problem(found.step, found.outside)])
        except sa.exc.IntegrityError as error:
            if not is_overlap(error):
                raise  # not a slot taken meanwhile: an unexpected error, nothing stored
            return PlanRefused(
                [
                    Problem(
                        "starts_at",
                        "Another booking took one of these slots at the same moment; try again.",
                    )
                ]
            )

    def _repeated(self, request_key: str) -> PlanBooked | PlanDuplicate:
        """A request whose key is taken: the plan it booked, if its reply is still owed."""
        short_id = reply_owed(self.database, request_key)
        if short_id is None:
            return PlanDuplicate()
        with self.database.transaction() as session:
            plan = session.scalars(
                sa.select(DeployPlan).where(DeployPlan.short_id == short_id)
            ).first()
            if plan is None:
                return PlanDuplicate()
            steps = list(
                session.scalars(
                    sa.select(Booking)
                    .join(PlanStep, PlanStep.booking_id == Booking.id)
                    .where(PlanStep.plan_id == plan.id)
                    .order_by(PlanStep.step)
                )
            )
        return PlanBooked(plan, steps, repeated=True)

    def answered(self, request_key: str) -> None:
        """The reply to `request_key` has gone out (docs/adr/0018)."""
        mark_answered(self.database, request_key)

    def progress(self, booking_ids: list[int]) -> dict[int, Progress]:
        """Plan progress for each of `booking_ids` that is a plan step (for `/deploy list`)."""
        if not booking_ids:
            return {}
        with self.database.transaction() as session:
            mine = session.execute(
                sa.select(PlanStep.booking_id, PlanStep.plan_id, PlanStep.step, DeployPlan.short_id)
                .join(DeployPlan, DeployPlan.id == PlanStep.plan_id)
                .where(PlanStep.booking_id.in_(booking_ids))
            ).all()
            plan_ids = {row.plan_id for row in mine}
            totals: dict[int, tuple[int, int]] = {}
            for plan_id, total, landed in session.execute(
                sa.select(
                    PlanStep.plan_id,
                    sa.func.count(),
                    sa.func.sum(sa.case((Booking.status == Status.LANDED.value, 1), else_=0)),
                )
                .join(Booking, Booking.id == PlanStep.booking_id)
                .where(PlanStep.plan_id.in_(plan_ids))
                .group_by(PlanStep.plan_id)
            ):
                totals[plan_id] = (int(total), int(landed or 0))
            return {
                row.booking_id: Progress(row.short_id, row.step, *totals[row.plan_id])
                for row in mine
            }
