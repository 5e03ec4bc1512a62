"""Create deploy_window, window_override and scheduled_unfreeze: deploy windows.

- deploy_window: allowed windows and blackouts for tricky deploys, each either recurring
  (a cron expression read in its IANA zone plus a duration in minutes) or one-off (a start
  and an end), with a description and whether a blackout freezes FREEZE_BRANCH.
- window_override: an approver's reason for letting one booking ignore the windows.
- scheduled_unfreeze: freezes the clock ends at a set time (`/deploy freeze ... until`,
  and the freezes of blackouts, one per occurrence).

New tables only: code of the previous release ignores them, and the downgrade drops them
(the windows, overrides and scheduled ends are lost with them; freezes stay on until
someone lifts them).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deploy_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("freeze_branch", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('allowed', 'blackout')", name=op.f("ck_deploy_window_kind")),
        sa.CheckConstraint(
            "(cron IS NOT NULL AND duration_minutes IS NOT NULL"
            " AND starts_at IS NULL AND ends_at IS NULL)"
            " OR (cron IS NULL AND duration_minutes IS NULL"
            " AND starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at)",
            name=op.f("ck_deploy_window_recurring_or_one_off"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_window")),
    )
    op.create_table(
        "window_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("overridden_by", sa.String(length=64), nullable=False),
        sa.Column("overridden_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_window_override_booking_id_booking"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_window_override")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_window_override_booking_id")),
    )
    op.create_table(
        "scheduled_unfreeze",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("freeze_id", sa.Integer(), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("occurrence_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["freeze_id"],
            ["branch_freeze.id"],
            name=op.f("fk_scheduled_unfreeze_freeze_id_branch_freeze"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["deploy_window.id"],
            name=op.f("fk_scheduled_unfreeze_window_id_deploy_window"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_unfreeze")),
        sa.UniqueConstraint("freeze_id", name=op.f("uq_scheduled_unfreeze_freeze_id")),
        sa.UniqueConstraint(
            "window_id", "occurrence_start", name="uq_scheduled_unfreeze_occurrence"
        ),
    )


def downgrade() -> None:
    op.drop_table("scheduled_unfreeze")
    op.drop_table("window_override")
    op.drop_table("deploy_window")
