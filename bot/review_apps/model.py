"""The `review_app` table: one row per Heroku review app and its Slack message.

Deliberately holds no credentials (ADR 0009): the admin login and password pass through
the bot to Slack and are never written here.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow
from bot.review_apps.rules import Event

STATES_SQL = ", ".join(f"'{e.value}'" for e in sorted(Event, key=lambda e: e.value))


class ReviewApp(Base):
    __tablename__ = "review_app"
    __table_args__ = (sa.CheckConstraint(f"state IN ({STATES_SQL})", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    pr_number: Mapped[int | None] = mapped_column()
    branch: Mapped[str | None] = mapped_column(sa.String(255))
    app_url: Mapped[str] = mapped_column(sa.String(500))
    state: Mapped[str] = mapped_column(sa.String(20))
    state_at: Mapped[datetime] = mapped_column(UTCDateTime)
    release_version: Mapped[int | None] = mapped_column()
    # What GitHub said about the PR; empty until it answered.
    pr_title: Mapped[str | None] = mapped_column(sa.String(300))
    pr_url: Mapped[str | None] = mapped_column(sa.String(500))
    pr_labels: Mapped[list[str] | None] = mapped_column(sa.JSON)
    # True while the PR's title and labels are still to be fetched (GitHub was down).
    pr_lookup_pending: Mapped[bool] = mapped_column(default=False, index=True)
    pr_lookup_attempts: Mapped[int] = mapped_column(default=0)
    # Where the message is. Empty ts when it went out through an incoming webhook, which
    # gives no handle to edit it later.
    channel_id: Mapped[str | None] = mapped_column(sa.String(32))
    message_ts: Mapped[str | None] = mapped_column(sa.String(32))
    credentials_ts: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
