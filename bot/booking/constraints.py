"""Which of the booking table's own rules refused a write (docs/adr/0002).

A service that catches `IntegrityError` to answer "that slot is taken" must first know
that the slot rule is what refused it: any other integrity error (an outbox row the
database refused, a new constraint) is an unexpected error, not a conflict. Both
backends are read here, once, for every service that writes bookings.
"""

from __future__ import annotations

import sqlalchemy as sa

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
    return _refused_by(error, OVERLAP_CONSTRAINT, OVERLAP_TRIGGER_MESSAGE)


def is_one_deploying(error: sa.exc.IntegrityError) -> bool:
    """Whether `error` is the one-deploy-per-app index refusing a second deploy."""
    return _refused_by(error, ONE_DEPLOYING_INDEX, ONE_DEPLOYING_SQLITE_MESSAGE)


def _refused_by(error: sa.exc.IntegrityError, postgres_name: str, sqlite_message: str) -> bool:
    original = error.orig
    diag = getattr(original, "diag", None)
    if diag is not None:
        # psycopg: the server names the constraint (or unique index) that refused it.
        return getattr(diag, "constraint_name", None) == postgres_name
    # sqlite3 names neither: a trigger's RAISE gives its message, a unique index its
    # table and columns.
    return str(original) == sqlite_message
