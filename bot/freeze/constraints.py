"""Which of the freeze table's own rules refused a write: the one that answers a lost
race between two `/freeze` commands (as bot/booking/constraints.py does for bookings).
Any other integrity error is unexpected, not a freeze that got there first."""

from __future__ import annotations

import sqlalchemy as sa

from bot.db import refused_by

# At most one active freeze of a branch (migration 0006): a partial unique index on
# `branch` where `unfrozen_at` is NULL, which SQLite names only by its column.
ONE_ACTIVE_INDEX = "uq_branch_freeze_active_branch"
ONE_ACTIVE_SQLITE_MESSAGE = "UNIQUE constraint failed: branch_freeze.branch"


def is_second_active_freeze(error: sa.exc.IntegrityError) -> bool:
    """Whether `error` is the one-active-freeze rule refusing a second freeze."""
    return refused_by(
        error, postgres_name=ONE_ACTIVE_INDEX, sqlite_message=ONE_ACTIVE_SQLITE_MESSAGE
    )
