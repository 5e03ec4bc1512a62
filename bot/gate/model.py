"""The gate's tables: `pr_gate` (one row per open pull request against FREEZE_BRANCH: the
`deploybot/deploy` status it should carry, its allowance and its channel message) and
`pr_analysis` (the analysis of one head commit, kept so that repeated deliveries and
status refreshes neither fetch nor parse again).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow
from bot.gate.rules import GateState
from bot.github.statuses import StatusWishColumns


class PullRequestGate(StatusWishColumns, Base):
    __tablename__ = "pr_gate"
    __table_args__ = (
        sa.UniqueConstraint("repo", "number", name="uq_pr_gate_repo_number"),
        sa.CheckConstraint(
            f"state IN ({', '.join(repr(s.value) for s in GateState)})", name="state"
        ),
        sa.Index("ix_pr_gate_synced", "synced"),
        sa.Index("ix_pr_gate_analysis_due", "analysis_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    base_sha: Mapped[str | None] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    author: Mapped[str] = mapped_column(sa.String(100), default="")
    html_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # The pull request's own count of changed files (the files API stops at 3,000).
    changed_files: Mapped[int | None]
    # The head commit still has to be analysed (set by a delivery, cleared once the
    # analysis is stored or has failed for good). The clock retries what stays due.
    analysis_due: Mapped[bool] = mapped_column(default=True)
    # Why the last attempt to analyse the head commit failed, for the status and page.
    analysis_error: Mapped[str | None] = mapped_column(sa.Text)
    # Whether that failure is final (403/404: trying again changes nothing).
    analysis_failed: Mapped[bool] = mapped_column(default=False)
    # An approver's `/deploy allow`: good for this head commit only.
    allowed_by: Mapped[str | None] = mapped_column(sa.String(64))  # Slack user id
    allowed_by_name: Mapped[str | None] = mapped_column(sa.String(100))
    allowed_reason: Mapped[str | None] = mapped_column(sa.Text)
    allowed_sha: Mapped[str | None] = mapped_column(sa.String(64))
    allowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The one DEPLOY_CHANNEL message about this pull request being tricky.
    message_channel: Mapped[str | None] = mapped_column(sa.String(32))
    message_ts: Mapped[str | None] = mapped_column(sa.String(32))
    # The head commit the message last showed: a new one means it needs updating.
    message_sha: Mapped[str | None] = mapped_column(sa.String(64))

    def allowed_now(self) -> bool:
        return self.allowed_by is not None and self.allowed_sha == self.head_sha


class PullRequestAnalysisRow(Base):
    __tablename__ = "pr_analysis"
    __table_args__ = (
        sa.UniqueConstraint(
            "repo", "head_sha", "base_sha", name="uq_pr_analysis_repo_head_sha_base_sha"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    repo: Mapped[str] = mapped_column(sa.String(140))
    head_sha: Mapped[str] = mapped_column(sa.String(64))
    # The base the earlier migrations were read at ("" when unknown).
    base_sha: Mapped[str] = mapped_column(sa.String(64))
    verdict: Mapped[str] = mapped_column(sa.String(10))
    kind: Mapped[str | None] = mapped_column(sa.String(20))
    # PullRequestAnalysis.to_json()
    analysis: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # What the analysis could not see (GitHub's 3,000-file cap, files too big to fetch).
    notes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
