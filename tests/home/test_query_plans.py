"""The Home tab's and the feed's queries walk the booking indexes, never the whole table.

Each query is run once to capture the exact SQL and parameters the driver gets, then
EXPLAINed on the same connection. PostgreSQL would seq-scan a tiny table whatever the
indexes, so sequential scans are switched off for the EXPLAIN: if it still scans the
table, no index could answer the query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.home.calendar import feed_query
from bot.home.service import mine_query, to_approve_query, week_query
from support.server import BotProcess
from support.slack_requests import ALICE

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BOOKING_INDEXES = (
    "ix_booking_active_starts_at",
    "ix_booking_status_starts_at",
    "ix_booking_app_starts_at",
)

QUERIES = {
    "mine": mine_query(ALICE, NOW),
    "to_approve": to_approve_query(ALICE, NOW),
    "week": week_query(NOW),
    "feed": feed_query(NOW),
}


def explain(connection: Connection, query: sa.Select[Any]) -> str:
    captured: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        _conn, _cursor, statement, parameters, _context, _many = args
        captured.append((statement, parameters))

    sa.event.listen(connection, "before_cursor_execute", capture)
    try:
        connection.execute(query).all()
    finally:
        sa.event.remove(connection, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(str(row[-1]) for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
    return "\n".join(str(row[0]) for row in rows)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_queries_use_the_booking_indexes(bot: BotProcess, db_engine: Engine, name: str) -> None:
    # `bot` has migrated the database, so the real indexes exist.
    with db_engine.begin() as connection:
        plan = explain(connection, QUERIES[name])
    # Which index depends on the query and on the planner's guesses for an empty table
    # (the (app, starts_at) one for the feed, whose status list names every status); what
    # is checked is that one of them answers and nothing reads the table.
    assert any(index in plan for index in BOOKING_INDEXES), plan
    if db_engine.dialect.name == "sqlite":
        assert "SCAN booking" not in plan, plan
    else:
        assert "Seq Scan on booking" not in plan, plan
