"""Index the active bookings in start order, for `/deploy list` and the App Home.

`BookingService.upcoming()` asks for the first 20 active bookings that have not ended,
soonest first. The only index on status, `ix_booking_status_starts_at`, is ordered by
status first, so PostgreSQL read every active booking and sorted them all before taking
20: 44 ms with the 28,000 upcoming bookings a benchmark run leaves behind. This partial
index holds only active bookings, in (starts_at, id) order, so the query reads the first
few entries and stops.

Additive: the previous release neither needs nor notices it. Built without CONCURRENTLY:
the table holds a team's bookings (thousands of rows at most), built in milliseconds.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The active statuses as of this revision (bot.booking.rules.ACTIVE_STATUSES), written out
# so that a later change to the code cannot change what this migration did.
ACTIVE = "status IN ('approved', 'awaiting_approval', 'deploying', 'scheduled')"


def upgrade() -> None:
    op.create_index(
        "ix_booking_active_starts_at",
        "booking",
        ["starts_at", "id"],
        postgresql_where=sa.text(ACTIVE),
        sqlite_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("ix_booking_active_starts_at", table_name="booking")
