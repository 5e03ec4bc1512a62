"""Create clock_lease: which `deploybot clock` process may work (issue 15).

One row per lease (only "clock" for now): who holds it and until when. Every clock
process renews or takes it over; only the holder ticks, so a second clock stands by
instead of doing the same work, and takes over once the first stops renewing.

A new table only: the previous release's clock ignores it (and keeps relying on its
send-once claims), and the downgrade drops it; a clock of this release then fails on
its next renewal and stops ticking until upgraded again, sending nothing twice.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clock_lease",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_clock_lease")),
    )


def downgrade() -> None:
    op.drop_table("clock_lease")
