"""The runbook of an ES mapping-change deploy: its checklist message and checked steps."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow


class RunbookChecklist(Base):
    __tablename__ = "runbook_checklist"

    booking_id: Mapped[int] = mapped_column(
        sa.ForeignKey("booking.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str | None] = mapped_column(sa.String(32))
    message_ts: Mapped[str | None] = mapped_column(sa.String(32))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RunbookStep(Base):
    __tablename__ = "runbook_step"

    booking_id: Mapped[int] = mapped_column(
        sa.ForeignKey("booking.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(primary_key=True)  # 1-based, see rules.STEPS
    done_by: Mapped[str] = mapped_column(sa.String(32))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
