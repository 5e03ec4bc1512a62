"""Create sent_notification: the clock's record of messages claimed and sent.

One row per scheduled message key (a reminder, a notice). The primary key is what stops
two clock processes from sending the same message; `claimed_at` without `sent_at` marks a
send in progress (or interrupted, to be retried after the lease). See ADR 0007.

A new table only: code of the previous release ignores it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sent_notification",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sent_notification")),
    )
    op.create_index(op.f("ix_sent_notification_sent_at"), "sent_notification", ["sent_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sent_notification_sent_at"), table_name="sent_notification")
    op.drop_table("sent_notification")
