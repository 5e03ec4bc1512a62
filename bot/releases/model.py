"""The tables of followed deploys: `merged_pull` (a pull request merged into the
production branch), `heroku_release` (a release of a production app, until it has been
matched to the bookings it lands or fails) and `deploy_alert` (a tricky change that
reached the branch or production without an approved, started booking, shown in the App
Home until someone acknowledges it)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow


class MergedPull(Base):
    __tablename__ = "merged_pull"
    __table_args__ = (sa.UniqueConstraint("repo", "number", name="uq_merged_pull_repo_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repo: Mapped[str] = mapped_column(sa.String(140))
    number: Mapped[int]
    merge_sha: Mapped[str] = mapped_column(sa.String(64))
    head_sha: Mapped[str] = mapped_column(sa.String(64))
    merged_by: Mapped[str] = mapped_column(sa.String(100), default="")
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    # The deploying booking that named this PR when it was merged, if any.
    booking_short_id: Mapped[str | None] = mapped_column(sa.String(12))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HerokuRelease(Base):
    __tablename__ = "heroku_release"
    __table_args__ = (
        sa.UniqueConstraint("heroku_app", "version", name="uq_heroku_release_app_version"),
        sa.Index("ix_heroku_release_due", "due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    heroku_app: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[int]
    # Heroku's id of the release (the dashboard link when there is no output URL).
    heroku_id: Mapped[str] = mapped_column(sa.String(64), default="")
    # pending, succeeded or failed, as Heroku says; a final state is never taken back.
    status: Mapped[str] = mapped_column(sa.String(20))
    commit_sha: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    deployed_by: Mapped[str] = mapped_column(sa.String(200), default="")
    output_url: Mapped[str | None] = mapped_column(sa.String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Still to be matched to bookings (a final status arrived and was not worked off:
    # GitHub was down, or the merge webhook has not come yet). The clock retries.
    due: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # What the matching decided, for the log and the tests ("landed B7K2Q", ...).
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    # The release-notes message, once claimed ("" while being posted).
    notes_ts: Mapped[str | None] = mapped_column(sa.String(32))


class DeployAlert(Base):
    __tablename__ = "deploy_alert"
    __table_args__ = (sa.UniqueConstraint("subject", name="uq_deploy_alert_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # What it is about, unique so a redelivery never raises it twice: "merge:owner/name#12"
    # or "release:heroku-app:v42".
    subject: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str | None] = mapped_column(sa.String(32))
    # None: not posted yet (the clock retries); "": being posted.
    message_ts: Mapped[str | None] = mapped_column(sa.String(32))
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
