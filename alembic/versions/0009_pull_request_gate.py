"""Create pr_gate and pr_analysis: the `deploybot/deploy` commit status of pull requests.

- pr_gate: per open pull request against FREEZE_BRANCH, the `deploybot/deploy` status it
  should carry and whether GitHub has it yet (the columns pr_status has for
  `deploybot/freeze`, plus `pending` as a state), whether its head commit still has to be
  analysed, an approver's allowance (tied to the head commit it was given for) and the
  channel message about it.
- pr_analysis: the analysis of one head commit (read against one base commit), as JSON,
  so that repeated deliveries and status refreshes do not fetch or parse again.

New tables only: code of the previous release ignores them, and the downgrade drops them
(stored analyses and unsynced statuses are lost with them; the next delivery rebuilds
them).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pr_gate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=140), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("synced", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("base_sha", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("html_url", sa.String(length=500), nullable=False),
        sa.Column("changed_files", sa.Integer(), nullable=True),
        sa.Column("analysis_due", sa.Boolean(), nullable=False),
        sa.Column("analysis_error", sa.Text(), nullable=True),
        sa.Column("analysis_failed", sa.Boolean(), nullable=False),
        sa.Column("allowed_by", sa.String(length=64), nullable=True),
        sa.Column("allowed_by_name", sa.String(length=100), nullable=True),
        sa.Column("allowed_reason", sa.Text(), nullable=True),
        sa.Column("allowed_sha", sa.String(length=64), nullable=True),
        sa.Column("allowed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("message_sha", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'success', 'failure')", name=op.f("ck_pr_gate_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pr_gate")),
        sa.UniqueConstraint("repo", "number", name="uq_pr_gate_repo_number"),
    )
    op.create_index("ix_pr_gate_synced", "pr_gate", ["synced"])
    op.create_index("ix_pr_gate_analysis_due", "pr_gate", ["analysis_due"])
    op.create_table(
        "pr_analysis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=140), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("base_sha", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("analysis", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pr_analysis")),
        sa.UniqueConstraint(
            "repo", "head_sha", "base_sha", name="uq_pr_analysis_repo_head_sha_base_sha"
        ),
    )


def downgrade() -> None:
    op.drop_table("pr_analysis")
    op.drop_index("ix_pr_gate_analysis_due", table_name="pr_gate")
    op.drop_index("ix_pr_gate_synced", table_name="pr_gate")
    op.drop_table("pr_gate")
