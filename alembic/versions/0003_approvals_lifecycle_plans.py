"""Approvals, the deploy lifecycle and migration plans.

- booking gains: revision (bumped on visible changes), approval_round (voiding approvals
  starts a new round), announcement_channel/announcement_ts (the approval message to
  update in place), started_at/finished_at, override_reason (emergency starts), and a
  partial unique index allowing one 'deploying' booking per app.
- approval: one decision per person per booking per round (unique), approve or
  request_changes, with a reason.
- deploy_plan and plan_step: the ordered bookings of a rename/retype/remove migration.

Backward compatible: new tables, and new booking columns that are nullable or have a
server default, so the previous release keeps reading and writing bookings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_BOOKING_COLUMNS = [
    sa.Column("revision", sa.Integer(), server_default="1", nullable=False),
    sa.Column("approval_round", sa.Integer(), server_default="0", nullable=False),
    sa.Column("announcement_channel", sa.String(length=32), nullable=True),
    sa.Column("announcement_ts", sa.String(length=32), nullable=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("override_reason", sa.Text(), nullable=True),
]


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild): a rebuild of `booking` on SQLite would drop
    # the no-overlap triggers created in 0001.
    for column in NEW_BOOKING_COLUMNS:
        op.add_column("booking", column)
    op.create_index(
        "uq_booking_one_deploying_per_app",
        "booking",
        ["app"],
        unique=True,
        postgresql_where=sa.text("status = 'deploying'"),
        sqlite_where=sa.text("status = 'deploying'"),
    )

    op.create_table(
        "approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('approve', 'request_changes')", name=op.f("ck_approval_decision")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_approval_booking_id_booking"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval")),
        sa.UniqueConstraint(
            "booking_id", "round", "approver_id", name="uq_approval_booking_round_approver"
        ),
    )
    op.create_index(op.f("ix_approval_booking_id"), "approval", ["booking_id"])

    op.create_table(
        "deploy_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("short_id", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("app", sa.String(length=100), nullable=False),
        sa.Column("requester_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('remove', 'rename', 'retype')", name=op.f("ck_deploy_plan_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_plan")),
        sa.UniqueConstraint("short_id", name=op.f("uq_deploy_plan_short_id")),
    )
    op.create_table(
        "plan_step",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_plan_step_booking_id_booking"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["deploy_plan.id"],
            name=op.f("fk_plan_step_plan_id_deploy_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "step", name=op.f("pk_plan_step")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_plan_step_booking_id")),
    )


def downgrade() -> None:
    op.drop_table("plan_step")
    op.drop_table("deploy_plan")
    op.drop_index(op.f("ix_approval_booking_id"), table_name="approval")
    op.drop_table("approval")
    op.drop_index("uq_booking_one_deploying_per_app", table_name="booking")
    # Plain DROP COLUMN (SQLite >= 3.35) for the same reason as above.
    for column in reversed(NEW_BOOKING_COLUMNS):
        op.drop_column("booking", column.name)
