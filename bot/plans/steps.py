"""Where a booking sits in its migration plan (if any): reading plan_step rows."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.plans.model import DeployPlan, PlanStep


@dataclass(frozen=True)
class Position:
    plan: DeployPlan
    step: int
    total: int
    previous: Booking | None
    following: Booking | None


def position(session: Session, booking_id: int) -> Position | None:
    mine = session.scalars(sa.select(PlanStep).where(PlanStep.booking_id == booking_id)).first()
    if mine is None:
        return None
    plan = session.get(DeployPlan, mine.plan_id)
    assert plan is not None  # noqa: S101 -- guaranteed by the foreign key
    steps = {
        step.step: step.booking_id
        for step in session.scalars(sa.select(PlanStep).where(PlanStep.plan_id == plan.id))
    }

    def booking_of(step: int) -> Booking | None:
        return session.get(Booking, steps[step]) if step in steps else None

    return Position(
        plan=plan,
        step=mine.step,
        total=len(steps),
        previous=booking_of(mine.step - 1),
        following=booking_of(mine.step + 1),
    )
