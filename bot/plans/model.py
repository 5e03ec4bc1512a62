"""Migration plans: a plan groups the bookings of its ordered steps."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow


class DeployPlan(Base):
    __tablename__ = "deploy_plan"
    __table_args__ = (sa.CheckConstraint("kind IN ('remove', 'rename', 'retype')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    short_id: Mapped[str] = mapped_column(sa.String(12), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    app: Mapped[str] = mapped_column(sa.String(100))
    requester_id: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanStep(Base):
    __tablename__ = "plan_step"

    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("deploy_plan.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(primary_key=True)  # 1-based
    booking_id: Mapped[int] = mapped_column(
        sa.ForeignKey("booking.id", ondelete="CASCADE"), unique=True
    )
