"""Which of the booking table's own rules refused a write (docs/adr/0002).

A service that catches `IntegrityError` to answer "that slot is taken" must first know
that the slot rule is what refused it: any other integrity error (an outbox row the
database refused, a new constraint) is an unexpected error, not a conflict. The rules'
names on both backends are kept here, once, for every service that writes bookings.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.db import refused_by

# No two active bookings of one app overlap (migration 0001): PostgreSQL's exclusion
# constraint, and the message SQLite's triggers abort with.
OVERLAP_CONSTRAINT = "ex_booking_no_overlap"
OVERLAP_TRIGGER_MESSAGE = "booking_overlap"
# At most one deploy of an app under way (migration 0003): a partial unique index, which
# SQLite names only by its column.
ONE_DEPLOYING_INDEX = "uq_booking_one_deploying_per_app"
ONE_DEPLOYING_SQLITE_MESSAGE = "UNIQUE constraint failed: booking.app"


def is_overlap(error: sa.exc.IntegrityError) -> bool:
    """Whether `error` is the no-overlap rule refusing a booking's slot."""
    return refused_by(
        error, postgres_name=OVERLAP_CONSTRAINT, sqlite_message=OVERLAP_TRIGGER_MESSAGE
    )


def is_one_deploying(error: sa.exc.IntegrityError) -> bool:
    """Whether `error` is the one-deploy-per-app index refusing a second deploy."""
    return refused_by(
        error, postgres_name=ONE_DEPLOYING_INDEX, sqlite_message=ONE_DEPLOYING_SQLITE_MESSAGE
    )
