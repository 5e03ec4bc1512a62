"""The send-once mechanism against real databases: due, late, duplicate clocks, crashes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.clock.sent_once import Due, SentNotification, deliver, skip
from bot.db import Database

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(migrated_database: Database) -> Database:
    return migrated_database


class Outbox:
    """Stands in for Slack: records what would have been posted, thread-safely."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []
        self.lock = threading.Lock()

    def due(self, key: str, due_at: datetime) -> Due:
        def send(late: bool) -> None:
            with self.lock:
                self.sent.append((key, late))

        return Due(key, due_at, send)


def row(database: Database, key: str) -> SentNotification:
    with database.transaction() as session:
        found = session.get(SentNotification, key)
        assert found is not None
        return found


def test_a_due_message_is_sent_once_across_ticks(database: Database) -> None:
    outbox = Outbox()
    item = outbox.due("k1", NOW)
    assert deliver(database, [item], NOW) == 1
    assert deliver(database, [item], NOW + timedelta(seconds=30)) == 0
    assert outbox.sent == [("k1", False)]
    assert row(database, "k1").sent_at == NOW


def test_a_message_due_while_the_clock_was_down_is_sent_late_once(database: Database) -> None:
    outbox = Outbox()
    item = outbox.due("k-late", NOW - timedelta(hours=2))
    deliver(database, [item], NOW)
    deliver(database, [item], NOW + timedelta(minutes=1))
    assert outbox.sent == [("k-late", True)]
    assert row(database, "k-late").late is True


def test_two_clocks_ticking_at_once_send_once(database: Database) -> None:
    outbox = Outbox()
    items = [outbox.due(f"k{i}", NOW) for i in range(20)]
    barrier = threading.Barrier(2)

    def clock() -> None:
        barrier.wait()
        deliver(database, items, NOW)

    threads = [threading.Thread(target=clock) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(key for key, _ in outbox.sent) == sorted(f"k{i}" for i in range(20))


def test_a_failed_send_is_retried_on_the_next_tick(database: Database) -> None:
    outbox = Outbox()
    attempts = []

    def flaky(late: bool) -> None:
        attempts.append(late)
        if len(attempts) == 1:
            raise RuntimeError("Slack answered 500")
        outbox.sent.append(("k-flaky", late))

    item = Due("k-flaky", NOW, flaky)
    assert deliver(database, [item], NOW) == 0
    assert deliver(database, [item], NOW + timedelta(seconds=30)) == 1
    assert outbox.sent == [("k-flaky", False)]
    assert row(database, "k-flaky").attempts == 2


def test_a_claim_left_by_a_dead_clock_is_taken_over_after_its_lease(database: Database) -> None:
    with database.transaction() as session:
        session.add(
            SentNotification(key="k-orphan", due_at=NOW, claimed_at=NOW, late=False, attempts=1)
        )
    outbox = Outbox()
    item = outbox.due("k-orphan", NOW)
    # Within the lease the first clock may still be sending: hands off.
    assert deliver(database, [item], NOW + timedelta(minutes=1)) == 0
    assert deliver(database, [item], NOW + timedelta(minutes=6)) == 1
    assert outbox.sent == [("k-orphan", True)]


def test_a_skipped_message_is_never_sent(database: Database) -> None:
    outbox = Outbox()
    skip(database, "k-skip", NOW)
    assert deliver(database, [outbox.due("k-skip", NOW)], NOW) == 0
    assert outbox.sent == []


def test_give_up_after_repeated_failures(database: Database) -> None:
    def broken(late: bool) -> None:
        raise RuntimeError("channel_not_found")

    item = Due("k-broken", NOW, broken)
    for minute in range(10):
        deliver(database, [item], NOW + timedelta(minutes=minute))
    assert row(database, "k-broken").attempts == 5
    with database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SentNotification)) == 1
