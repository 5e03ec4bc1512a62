"""Create slack_outbox: channel notices, announcement posts and updates and DMs kept
until Slack has taken them (ADR 0019).

A row is recorded with the change that causes it (or right after), sent at once, and
retried by the clock while Slack is away; the oldest pending row of a conversation is
claimed (`claimed_by`, `claimed_until`) by whichever process sends it, so rows go out in
order and once. Sent rows keep the `ts` Slack gave them, which later updates look up.

A new table only: the previous release posts directly and ignores it. Rolled back (or
downgraded) while rows are still pending, those messages are not sent: the downgrade
drops them with the table, as the previous release dropped what Slack refused.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("collapse_key", sa.String(length=200), nullable=True),
        sa.Column("target_ts", sa.String(length=50), nullable=True),
        sa.Column("target_key", sa.String(length=200), nullable=True),
        sa.Column("thread_ts", sa.String(length=50), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("blocks", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=100), nullable=True),
        sa.Column("ts", sa.String(length=50), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_outbox")),
    )
    op.create_index(op.f("ix_slack_outbox_key"), "slack_outbox", ["key"], unique=False)
    op.create_index(
        "ix_slack_outbox_state_conversation",
        "slack_outbox",
        ["state", "conversation"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_slack_outbox_state_conversation", table_name="slack_outbox")
    op.drop_index(op.f("ix_slack_outbox_key"), table_name="slack_outbox")
    op.drop_table("slack_outbox")
