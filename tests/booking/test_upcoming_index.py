"""`/deploy list` reads the active bookings through their partial index in start order
(migration 0008): it takes the first few and stops, however many are booked ahead,
instead of reading and sorting every one of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.booking.rules import BookingPolicy
from bot.booking.service import BookingService
from bot.db import Database as BotDatabase
from bot.migrations import alembic_config
from support.db import Database, captured_sql

APPS = 50
AHEAD = 3_000  # far more than a team books; the benchmark leaves 28,000 behind


def seed(url: str, now: datetime) -> None:
    """AHEAD scheduled bookings in one-hour slots from tomorrow on, APPS apps in turn."""
    engine = sa.create_engine(url)
    with Session(engine) as session, session.begin():
        for i in range(AHEAD):
            starts = now + timedelta(days=1, hours=i // APPS)
            session.add(
                Booking(
                    short_id=f"S{i:06d}",
                    app=f"app-{i % APPS}",
                    kind="other",
                    title=f"booking {i}",
                    pull_requests=[],
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                    requester_id="U0REQUEST",
                )
            )
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()


def test_upcoming_reads_the_active_index_in_order_and_sorts_nothing(
    make_database: Callable[[], Database],
) -> None:
    database = make_database()
    config = alembic_config(database.url)
    config.attributes["skip_logging_config"] = True
    command.upgrade(config, "head")
    now = datetime.now(UTC)
    seed(database.url, now)

    bot_database = BotDatabase(database.url)
    service = BookingService(bot_database, BookingPolicy(timedelta(0), timedelta(hours=8)))
    with captured_sql(bot_database.engine) as seen:
        upcoming = service.upcoming()
    [(statement, parameters)] = [s for s in seen if "FROM booking" in s[0]]

    assert [b.short_id for b in upcoming] == [f"S{i:06d}" for i in range(20)]
    with bot_database.engine.connect() as connection:
        if database.backend == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = "\n".join(str(row[-1]) for row in rows)
            assert "ix_booking_active_starts_at" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        else:
            rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            plan = "\n".join(str(row[0]) for row in rows)
            assert "Index Scan using ix_booking_active_starts_at" in plan, plan
            assert "Sort" not in plan, plan
    bot_database.dispose()
