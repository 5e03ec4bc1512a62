"""The `branch_freeze` table (one row per freeze, kept after it is lifted) and the `pr_status`
table (the commit status each open pull request should carry, and whether GitHub has it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow
from bot.freeze.rules import CommitState, FreezeFacts
from bot.github.statuses import StatusWishColumns

# A freeze is active until it has an unfrozen_at. The partial unique index below is
# what guarantees one active freeze per branch, however many requests race.
ACTIVE_SQL = "unfrozen_at IS NULL"


class Freeze(Base):
    # Not "freeze": FREEZE is a reserved word in PostgreSQL, and raw SQL by hand
    # (ops, tests) would then need quoting.
    __tablename__ = "branch_freeze"
    __table_args__ = (
        sa.Index(
            "uq_branch_freeze_active_branch",
            "branch",
            unique=True,
            sqlite_where=sa.text(ACTIVE_SQL),
            postgresql_where=sa.text(ACTIVE_SQL),
        ),
        sa.CheckConstraint(
            "(unfrozen_at IS NULL) = (unfrozen_by IS NULL)", name="unfrozen_at_and_by"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_by: Mapped[str] = mapped_column(sa.String(64))
    # The booked change this freeze protects (an ES mapping change), if any.
    booking_short_id: Mapped[str | None] = mapped_column(sa.String(12))
    # Numbers of the pull requests (in GITHUB_REPO) that belong to that change and so
    # may still merge.
    exempt_pulls: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    unfrozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unfrozen_by: Mapped[str | None] = mapped_column(sa.String(64))
    # Set whenever this freeze starts or ends: open pull requests still have to be
    # listed and given their new status. Cleared by the sweep that does it.
    sweep_pending: Mapped[bool] = mapped_column(default=True)

    @property
    def active(self) -> bool:
        return self.unfrozen_at is None

    @property
    def facts(self) -> FreezeFacts:
        return FreezeFacts(
            branch=self.branch,
            reason=self.reason,
            booking_short_id=self.booking_short_id,
            exempt_pulls=frozenset(self.exempt_pulls or ()),
        )

    def snapshot(self) -> dict[str, Any]:
        """The row as plain JSON-able data, for the audit log's before/after."""
        return {
            "id": self.id,
            "branch": self.branch,
            "reason": self.reason,
            "frozen_at": self.frozen_at.isoformat() if self.frozen_at else None,
            "frozen_by": self.frozen_by,
            "booking_short_id": self.booking_short_id,
            "exempt_pulls": list(self.exempt_pulls or []),
            "unfrozen_at": self.unfrozen_at.isoformat() if self.unfrozen_at else None,
            "unfrozen_by": self.unfrozen_by,
        }


class PullRequestStatus(StatusWishColumns, Base):
    """The commit status a pull request should carry, and whether GitHub has it yet.

    Writing the wish down before calling GitHub is what makes a GitHub outage harmless:
    whatever is not `synced` is retried by the clock.
    """

    __tablename__ = "pr_status"
    __table_args__ = (
        sa.UniqueConstraint("repo", "number", name="uq_pr_status_repo_number"),
        sa.CheckConstraint(
            f"state IN ({', '.join(repr(s.value) for s in CommitState)})", name="state"
        ),
        sa.Index("ix_pr_status_synced", "synced"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
