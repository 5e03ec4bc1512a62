"""The `booking` table: one row per booked deploy slot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.booking.rules import ACTIVE_STATUSES, Kind, PullRequestRef, Slot, Status
from bot.db import Base, UTCDateTime, utcnow


def _sql_in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in sorted(values, key=lambda v: v.value))


# Shared with the migration that creates the no-overlap constraint and triggers, so the
# Python rule and the database rule cannot drift apart.
ACTIVE_STATUSES_SQL = _sql_in(ACTIVE_STATUSES)
# The condition of the partial index `ix_booking_active_starts_at`, for queries that want
# it used. Written into the SQL as it stands in the index rather than sent as parameters:
# a database can only use a partial index when it can see that the query's condition
# implies the index's, which it cannot for values it does not know yet (SQLite's plans,
# PostgreSQL's generic plans of prepared statements).
ACTIVE_BOOKING = sa.text(f"booking.status IN ({ACTIVE_STATUSES_SQL})")


class Booking(Base):
    __tablename__ = "booking"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint(f"kind IN ({_sql_in(Kind)})", name="kind"),
        sa.CheckConstraint(f"status IN ({_sql_in(Status)})", name="status"),
        sa.Index("ix_booking_app_starts_at", "app", "starts_at"),
        sa.Index("ix_booking_status_starts_at", "status", "starts_at"),
        # Active bookings in start order: `/deploy list` and the App Home read the first
        # few and stop, however many are booked ahead (migration 0008).
        sa.Index(
            "ix_booking_active_starts_at",
            "starts_at",
            "id",
            postgresql_where=sa.text(f"status IN ({ACTIVE_STATUSES_SQL})"),
            sqlite_where=sa.text(f"status IN ({ACTIVE_STATUSES_SQL})"),
        ),
        # At most one deploy of an app is under way at a time, whatever the slots say
        # (a deploy can run past its slot into the next one's grace period).
        sa.Index(
            "uq_booking_one_deploying_per_app",
            "app",
            unique=True,
            postgresql_where=sa.text("status = 'deploying'"),
            sqlite_where=sa.text("status = 'deploying'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    short_id: Mapped[str] = mapped_column(sa.String(12), unique=True)
    app: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    # A list of "owner/name#number" strings, in the order given.
    pull_requests: Mapped[list[str]] = mapped_column(sa.JSON)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20), default=Status.SCHEDULED.value)
    requester_id: Mapped[str] = mapped_column(sa.String(32))
    rollback_plan: Mapped[str] = mapped_column(sa.Text, default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    origin_channel_id: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Bumped on every change people can see: the calendar feed's SEQUENCE. (The
    # announcement no longer needs it: its updates are rendered under the row lock,
    # bot/approval/announcer.py.)
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    # Approvals belong to a round; voiding them (changes requested, booking edited)
    # starts a new round, and buttons of an older round no longer count.
    approval_round: Mapped[int] = mapped_column(default=0, server_default="0")
    announcement_channel: Mapped[str | None] = mapped_column(sa.String(32))
    announcement_ts: Mapped[str | None] = mapped_column(sa.String(32))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    override_reason: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def slot(self) -> Slot:
        return Slot(self.starts_at, self.ends_at)

    @property
    def pull_request_refs(self) -> list[PullRequestRef]:
        refs = []
        for item in self.pull_requests:
            repo, _, number = item.partition("#")
            refs.append(PullRequestRef(repo, int(number)))
        return refs

    def announcement_thread(self, channel: str | None) -> tuple[str | None, str | None]:
        """(conversation, ts) of this booking's approval announcement, for a notice in
        its thread or an update of it: the announcement's own channel once Slack has
        taken it (the deploy channel configured now may be another, where that message
        does not exist), else `channel` with whatever ts is known (none until Slack has
        taken the post)."""
        if self.announcement_ts and self.announcement_channel:
            return self.announcement_channel, self.announcement_ts
        return channel, self.announcement_ts

    def snapshot(self) -> dict[str, Any]:
        """The row as plain JSON-able data, for the audit log's before/after."""
        return {
            "short_id": self.short_id,
            "app": self.app,
            "kind": self.kind,
            "title": self.title,
            "pull_requests": list(self.pull_requests),
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "status": self.status,
            "requester_id": self.requester_id,
            "approval_round": self.approval_round,
        }

    def touch(self) -> None:
        """Mark a visible change (see `revision`)."""
        self.revision = (self.revision or 0) + 1
