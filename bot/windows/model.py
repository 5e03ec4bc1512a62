"""Tables of deploy windows: the windows themselves (`deploy_window`), the approver
overrides that let one booking ignore them (`window_override`), and the freezes the
clock must end at a set time (`scheduled_unfreeze`: `/deploy freeze ... until` and the
blackouts that freeze the branch)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow
from bot.windows.rules import Window, WindowKind


class DeployWindow(Base):
    __tablename__ = "deploy_window"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('allowed', 'blackout')", name="kind"),
        # Recurring (cron and a duration) or one-off (a start and an end), never a mix.
        sa.CheckConstraint(
            "(cron IS NOT NULL AND duration_minutes IS NOT NULL"
            " AND starts_at IS NULL AND ends_at IS NULL)"
            " OR (cron IS NULL AND duration_minutes IS NULL"
            " AND starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at)",
            name="recurring_or_one_off",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    zone: Mapped[str] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.String(200))
    cron: Mapped[str | None] = mapped_column(sa.String(100))
    duration_minutes: Mapped[int | None] = mapped_column()
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Opt-in: the blackout freezes FREEZE_BRANCH while it is on.
    freeze_branch: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def rule(self) -> Window:
        return Window(
            kind=WindowKind(self.kind),
            zone=self.zone,
            description=self.description,
            cron=self.cron,
            duration=(
                timedelta(minutes=self.duration_minutes)
                if self.duration_minutes is not None
                else None
            ),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            freeze_branch=self.freeze_branch,
            id=self.id,
        )

    @classmethod
    def from_rule(cls, window: Window, created_by: str) -> DeployWindow:
        return cls(
            kind=window.kind.value,
            zone=window.zone,
            description=window.description,
            cron=window.cron,
            duration_minutes=(
                int(window.duration.total_seconds() // 60) if window.duration else None
            ),
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            freeze_branch=window.freeze_branch,
            created_by=created_by,
        )

    def snapshot(self) -> dict[str, Any]:
        """The row as plain JSON-able data, for the audit log's before/after."""
        return {
            "id": self.id,
            "kind": self.kind,
            "zone": self.zone,
            "description": self.description,
            "cron": self.cron,
            "duration_minutes": self.duration_minutes,
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "freeze_branch": self.freeze_branch,
        }


class WindowOverride(Base):
    """An approver let one booking ignore the windows, with a reason."""

    __tablename__ = "window_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        sa.ForeignKey("booking.id", ondelete="CASCADE"), unique=True
    )
    reason: Mapped[str] = mapped_column(sa.Text)
    overridden_by: Mapped[str] = mapped_column(sa.String(64))
    overridden_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledUnfreeze(Base):
    """A freeze the clock lifts at `ends_at`. A blackout's freeze also names the window
    and the occurrence, so that each occurrence freezes at most once (an approver who
    lifts it early is not overruled on the next tick)."""

    __tablename__ = "scheduled_unfreeze"
    __table_args__ = (
        sa.UniqueConstraint(
            "window_id", "occurrence_start", name="uq_scheduled_unfreeze_occurrence"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    freeze_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("branch_freeze.id", ondelete="CASCADE"), unique=True
    )
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("deploy_window.id", ondelete="SET NULL")
    )
    occurrence_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done: Mapped[bool] = mapped_column(default=False)
