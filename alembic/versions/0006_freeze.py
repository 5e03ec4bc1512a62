"""Create branch_freeze and pr_status: freezes of master, and the commit statuses they impose.

- branch_freeze: one row per freeze, kept after it is lifted (frozen_at/by, reason,
  optional booking short id, exempt PR numbers as JSON, unfrozen_at/by). A partial unique
  index on branch WHERE unfrozen_at IS NULL lets the database, not only the code, refuse
  a second active freeze of one branch (PostgreSQL and SQLite both support partial
  indexes). Not called "freeze", which is a reserved word in PostgreSQL.
- pr_status: per open pull request, the `deploybot/freeze` commit status it should carry
  and whether GitHub has it yet, so that statuses GitHub could not take are retried by
  the clock instead of lost.

New tables only: code of the previous release ignores them, and the downgrade drops them
(freeze history and pending statuses are lost with them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "unfrozen_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "branch_freeze",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frozen_by", sa.String(length=64), nullable=False),
        sa.Column("booking_short_id", sa.String(length=12), nullable=True),
        sa.Column("exempt_pulls", sa.JSON(), nullable=False),
        sa.Column("unfrozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unfrozen_by", sa.String(length=64), nullable=True),
        sa.Column("sweep_pending", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "(unfrozen_at IS NULL) = (unfrozen_by IS NULL)",
            name=op.f("ck_branch_freeze_unfrozen_at_and_by"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branch_freeze")),
    )
    op.create_index(
        "uq_branch_freeze_active_branch",
        "branch_freeze",
        ["branch"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_table(
        "pr_status",
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
        sa.CheckConstraint("state IN ('failure', 'success')", name=op.f("ck_pr_status_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pr_status")),
        sa.UniqueConstraint("repo", "number", name="uq_pr_status_repo_number"),
    )
    op.create_index("ix_pr_status_synced", "pr_status", ["synced"])


def downgrade() -> None:
    op.drop_index("ix_pr_status_synced", table_name="pr_status")
    op.drop_table("pr_status")
    op.drop_index("uq_branch_freeze_active_branch", table_name="branch_freeze")
    op.drop_table("branch_freeze")
