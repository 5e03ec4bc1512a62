"""The `approval` table: one row per decision on a booking, per approval round."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"


class Approval(Base):
    __tablename__ = "approval"
    __table_args__ = (
        # Each person counts once per round: double clicks and concurrent clicks by the
        # same person collide here.
        sa.UniqueConstraint(
            "booking_id", "round", "approver_id", name="uq_approval_booking_round_approver"
        ),
        sa.CheckConstraint("decision IN ('approve', 'request_changes')", name="decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        sa.ForeignKey("booking.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int]
    approver_id: Mapped[str] = mapped_column(sa.String(32))
    decision: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
