"""Create slack_work: Slack requests acknowledged and not yet worked off (ADR 0018).

A web worker inserts a row before it acknowledges a request; a work process claims it
(`claimed_by`, `claimed_until`: a lease it renews while it works), does the work and
deletes it. Rows left by processes that died are claimed again once their lease has run
out, so acknowledged work survives a crash.

A new table only: the previous release hands work over its local socket and ignores
the table. Rolled back (or downgraded) while rows are still in it, their work is not
done: the downgrade drops them with the table, as a crash of the previous release
would have lost them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_work")),
        sa.UniqueConstraint("key", name=op.f("uq_slack_work_key")),
    )
    op.create_index(
        op.f("ix_slack_work_claimed_until"), "slack_work", ["claimed_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_work_claimed_until"), table_name="slack_work")
    op.drop_table("slack_work")
