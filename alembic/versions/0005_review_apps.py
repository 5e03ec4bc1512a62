"""Create review_app: one row per Heroku review app and the Slack message about it.

Stores the app's name, PR or branch, URL, state (ready, released, failed, destroyed),
what GitHub said about the PR, and where the Slack message and its credentials reply
are (channel and ts) so later events edit them in place. It never stores the admin
login or password (ADR 0009).

A new table only: code of the previous release ignores it, so it keeps working.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_app",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_name", sa.String(length=100), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.Column("app_url", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release_version", sa.Integer(), nullable=True),
        sa.Column("pr_title", sa.String(length=300), nullable=True),
        sa.Column("pr_url", sa.String(length=500), nullable=True),
        sa.Column("pr_labels", sa.JSON(), nullable=True),
        sa.Column("pr_lookup_pending", sa.Boolean(), nullable=False),
        sa.Column("pr_lookup_attempts", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("credentials_ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('destroyed', 'failed', 'ready', 'released')",
            name=op.f("ck_review_app_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_app")),
        sa.UniqueConstraint("app_name", name=op.f("uq_review_app_app_name")),
    )
    op.create_index(op.f("ix_review_app_pr_lookup_pending"), "review_app", ["pr_lookup_pending"])


def downgrade() -> None:
    op.drop_index(op.f("ix_review_app_pr_lookup_pending"), table_name="review_app")
    op.drop_table("review_app")
