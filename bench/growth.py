"""Growth: how the bot's read queries behave as history piles up.

Seeds a throwaway PostgreSQL database in steps (1k, 10k, 100k bookings, with an audit
log of `AUDIT_ROWS_PER_DAY` rows for every day of history), and after each step times
every query in `GROWTH_QUERIES` and EXPLAINs the SQL it ran.

To add a query (App Home, the clock's due reminders, ...), append a `GrowthQuery` whose
`run` calls the bot's own code with the container; the harness records whatever SQL it
executes, so nothing else is needed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.paths import use_test_support
from bot.audit.model import AuditEntry
from bot.booking.model import Booking
from bot.container import Container, build_container
from bot.settings import Settings

use_test_support()
from support.db import captured_sql  # noqa: E402


@dataclass(frozen=True)
class GrowthQuery:
    name: str
    description: str
    run: Callable[[Container], object]


def _due_reminders(container: Container) -> object:
    """The clock's due-reminder query, as `deploybot clock` runs it every tick."""
    from slack_sdk import WebClient

    from bot.reminders.clock import BookingClock

    clock = BookingClock(
        container.database,
        WebClient(),  # never called: only the query runs
        container.announcer,
        channel=None,
        required_approvals=1,
        max_duration=timedelta(minutes=container.settings.max_duration_minutes),
        expire_after=timedelta(hours=container.settings.expire_after_hours),
    )
    return clock.candidates(datetime.now(UTC))


GROWTH_QUERIES: list[GrowthQuery] = [
    GrowthQuery(
        "upcoming",
        "`/deploy list`: `BookingService.upcoming()`",
        lambda container: container.bookings.upcoming(),
    ),
    GrowthQuery(
        "app-home",
        "App Home tab: `HomeService.home()` for one user",
        lambda container: container.home.home("U0BENCHR00"),
    ),
    GrowthQuery(
        "due-reminders",
        "the clock's due-reminder query: `BookingClock.candidates()`",
        _due_reminders,
    ),
    GrowthQuery(
        "history",
        "`/deploy history` of an old booking: its audit entries",
        lambda container: container.deploys.history(_short_id(1)),
    ),
]


@dataclass(frozen=True)
class Step:
    bookings: int  # total historical bookings after this step
    history_days: int  # how far back history reaches after this step


STEPS = [Step(1_000, 7), Step(10_000, 30), Step(100_000, 90)]
QUICK_STEPS = [Step(1_000, 2), Step(10_000, 5)]
AUDIT_ROWS_PER_DAY = 10_000
# Active bookings ahead, in every step: what a busy team might have booked.
UPCOMING = 40
TIMED_RUNS = 50
BATCH = 5_000

_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_HISTORY_STATUSES = (
    ["landed"] * 70 + ["cancelled"] * 15 + ["expired"] * 8 + ["failed"] * 3 + ["rolled_back"] * 4
)
_ACTIONS = ["booking.created", "booking.approved", "booking.cancelled", "booking.landed"]


def _short_id(n: int) -> str:
    # Unique by construction (random ids would collide at 100k); "H" marks history.
    digits = []
    for _ in range(6):
        n, rest = divmod(n, len(_ALPHABET))
        digits.append(_ALPHABET[rest])
    return "H" + "".join(reversed(digits))


def _booking_row(n: int, starts: datetime, status: str, app: str) -> dict[str, Any]:
    return {
        "short_id": _short_id(n),
        "app": app,
        "kind": ("migration", "es_mapping", "other")[n % 3],
        "title": f"Seeded booking {n}",
        "pull_requests": [f"bench/site#{n}"],
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=30 + 15 * (n % 4)),
        "status": status,
        "requester_id": f"U0SEED{n % 50:04d}",
        "rollback_plan": "migrate back to the previous migration, redeploy master",
        "notes": "",
        "origin_channel_id": "C0BENCH01",
        "created_at": starts - timedelta(days=1),
        "updated_at": starts,
    }


def _spread(first: int, count: int, newest: datetime, oldest: datetime) -> Iterator[datetime]:
    """`count` instants spread evenly between oldest and newest, newest first; `first`
    keeps successive steps from stacking rows on the same instants."""
    span = (newest - oldest).total_seconds()
    for i in range(count):
        yield newest - timedelta(seconds=span * (i + 0.5) / count + (first % 997) * 1e-3)


def _insert(connection: sa.Connection, table: sa.Table, rows: Iterator[dict[str, Any]]) -> int:
    total, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(table.insert(), batch)
            total += len(batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
        total += len(batch)
    return total


class Seeder:
    """Adds history step by step; each step seeds only what the previous ones lack."""

    def __init__(self, engine: sa.Engine, now: datetime) -> None:
        self.engine = engine
        self.now = now
        self.bookings = 0
        self.audit_days = 0
        self.audit_rows = 0

    def upcoming(self) -> None:
        rows = (
            _booking_row(
                10_000_000 + i,
                self.now + timedelta(hours=2 + 7 * i),
                ("scheduled", "awaiting_approval", "approved")[i % 3],
                f"seed-live-{i % 10}",
            )
            for i in range(UPCOMING)
        )
        with self.engine.begin() as connection:
            _insert(connection, Booking.__table__, rows)

    def grow(self, step: Step) -> dict[str, Any]:
        started = time.perf_counter()
        newest = self.now - timedelta(hours=1)
        oldest = self.now - timedelta(days=step.history_days)
        new_bookings = step.bookings - self.bookings
        # Bookings of this step spread over the whole history window; audit rows only
        # for the days not yet covered.
        booking_rows = (
            _booking_row(
                self.bookings + i,
                when,
                _HISTORY_STATUSES[(self.bookings + i) % len(_HISTORY_STATUSES)],
                f"seed-app-{(self.bookings + i) % 25}",
            )
            for i, when in enumerate(_spread(self.bookings, new_bookings, newest, oldest))
        )
        audit_start = self.now - timedelta(days=self.audit_days)
        new_days = step.history_days - self.audit_days
        audit_count = new_days * AUDIT_ROWS_PER_DAY
        audit_rows = (
            {
                "occurred_at": when,
                "actor_id": f"U0SEED{i % 50:04d}",
                "action": _ACTIONS[i % len(_ACTIONS)],
                "entity_type": "booking",
                "entity_id": _short_id((self.audit_rows + i) % max(step.bookings, 1)),
                "before": {"status": "scheduled"},
                "after": {"status": "landed", "app": f"seed-app-{i % 25}"},
                "reason": None,
            }
            for i, when in enumerate(_spread(self.audit_rows, audit_count, audit_start, oldest))
        )
        with self.engine.begin() as connection:
            added_bookings = _insert(connection, Booking.__table__, booking_rows)
            added_audit = _insert(connection, AuditEntry.__table__, audit_rows)
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
        self.bookings += added_bookings
        self.audit_rows += added_audit
        self.audit_days = step.history_days
        return {
            "bookings": self.bookings,
            "history_days": step.history_days,
            "audit_rows": self.audit_rows,
            "seed_s": round(time.perf_counter() - started, 2),
        }


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def explain(engine: sa.Engine, statement: str, parameters: Any) -> dict[str, Any]:
    with engine.connect() as connection:
        analysed = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
        ).scalar_one()
        text = "\n".join(
            row[0]
            for row in connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) " + statement, parameters
            )
        )
        connection.rollback()
    root = analysed[0]
    scans = [
        {
            "node": node["Node Type"],
            "relation": node.get("Relation Name"),
            "index": node.get("Index Name"),
            "rows": node.get("Actual Rows"),
        }
        for node in _plan_nodes(root["Plan"])
        if "Relation Name" in node or "Index Name" in node
    ]
    seq_scans = [s["relation"] for s in scans if s["node"] == "Seq Scan"]
    return {
        "sql": statement,
        "execution_ms": round(root.get("Execution Time", 0.0), 3),
        "planning_ms": round(root.get("Planning Time", 0.0), 3),
        "scans": scans,
        "seq_scans": seq_scans,
        "uses_index": bool(scans) and not seq_scans,
        "plan_text": text,
    }


def measure(container: Container, query: GrowthQuery) -> dict[str, Any]:
    engine = container.database.engine
    for _ in range(3):
        query.run(container)
    timings = []
    for _ in range(TIMED_RUNS):
        started = time.perf_counter()
        query.run(container)
        timings.append((time.perf_counter() - started) * 1000)
    with captured_sql(engine) as statements:
        query.run(container)
    plans = [
        explain(engine, statement, parameters)
        for statement, parameters in statements
        if statement.lstrip().upper().startswith(("SELECT", "WITH"))
    ]
    timings.sort()
    return {
        "name": query.name,
        "runs": TIMED_RUNS,
        "p50_ms": round(statistics.median(timings), 3),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 3),
        "max_ms": round(timings[-1], 3),
        "plans": plans,
    }


def run_growth(database_url: str, steps: list[Step], log: Callable[[str], None]) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        slack_bot_token="xoxb-bench",
        deploy_channel="C0DEPLOY01",
    )
    container = build_container(settings)
    seeder = Seeder(container.database.engine, datetime.now(UTC))
    seeder.upcoming()
    results = []
    try:
        for step in steps:
            log(f"growth: seeding to {step.bookings:,} bookings / {step.history_days} days")
            seeded = seeder.grow(step)
            log(
                f"growth: {seeded['audit_rows']:,} audit rows; seeded in {seeded['seed_s']} s; "
                "timing queries"
            )
            seeded["queries"] = [measure(container, query) for query in GROWTH_QUERIES]
            results.append(seeded)
    finally:
        container.database.dispose()
    return {
        "audit_rows_per_day": AUDIT_ROWS_PER_DAY,
        "upcoming_active": UPCOMING,
        "steps": results,
        "queries": {q.name: q.description for q in GROWTH_QUERIES},
    }
