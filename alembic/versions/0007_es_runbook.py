"""Create runbook_checklist and runbook_step for ES mapping-change deploys.

runbook_checklist remembers the checklist message posted when an ES mapping change starts
(so its buttons can update it); runbook_step records who checked off which step and when.
Landing such a deploy needs every step.

New tables only: the previous release ignores them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runbook_checklist",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_runbook_checklist_booking_id_booking"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_runbook_checklist")),
    )
    op.create_table(
        "runbook_step",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("done_by", sa.String(length=32), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_runbook_step_booking_id_booking"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("booking_id", "step", name=op.f("pk_runbook_step")),
    )


def downgrade() -> None:
    op.drop_table("runbook_step")
    op.drop_table("runbook_checklist")
