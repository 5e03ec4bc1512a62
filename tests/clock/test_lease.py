"""The clock lease against real databases: one holder, renewal, takeover, release."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock.lease import ClockLease, Lease
from bot.db import Database

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(migrated_database: Database) -> Database:
    return migrated_database


def stored(database: Database) -> Lease:
    with database.transaction() as session:
        row = session.get(Lease, "clock")
        assert row is not None
        return row


def test_one_clock_holds_the_lease_and_renews_it_while_the_other_stands_by(
    database: Database,
) -> None:
    first = ClockLease(database, seconds=30, holder="first")
    second = ClockLease(database, seconds=30, holder="second")
    assert first.acquire(NOW)
    assert not second.acquire(NOW + timedelta(seconds=1))
    # Renewed before it runs out, it never lapses, however long the first one works.
    for seconds in (10, 20, 30, 40, 50):
        assert first.acquire(NOW + timedelta(seconds=seconds))
        assert not second.acquire(NOW + timedelta(seconds=seconds + 1))
        assert first.held(NOW + timedelta(seconds=seconds + 1))
        assert not second.held(NOW + timedelta(seconds=seconds + 1))
    row = stored(database)
    assert (row.holder, row.acquired_at) == ("first", NOW)
    assert row.expires_at == NOW + timedelta(seconds=80)


def test_a_lease_not_renewed_is_taken_over_and_the_old_holder_stops(database: Database) -> None:
    first = ClockLease(database, seconds=30, holder="first")
    second = ClockLease(database, seconds=30, holder="second")
    assert first.acquire(NOW)
    # The first clock dies: nobody renews. Until the lease has run out it stays taken.
    assert not second.acquire(NOW + timedelta(seconds=29))
    later = NOW + timedelta(seconds=31)
    assert not first.held(later)  # a holder that could not renew stops by itself
    assert second.acquire(later)
    assert (stored(database).holder, stored(database).acquired_at) == ("second", later)
    # The first one comes back (it had only stalled): it finds the lease taken.
    assert not first.acquire(later + timedelta(seconds=1))
    assert not first.held(later + timedelta(seconds=1))
    assert second.acquire(later + timedelta(seconds=10))


def test_a_released_lease_is_taken_at_the_next_try(database: Database) -> None:
    first = ClockLease(database, seconds=30, holder="first")
    second = ClockLease(database, seconds=30, holder="second")
    assert first.acquire(NOW)
    first.release()
    assert not first.held(NOW)
    assert second.acquire(NOW + timedelta(seconds=1))
    assert second.current_holder() == "second"
    # Releasing a lease one does not hold leaves the holder's alone.
    first.release()
    assert second.current_holder() == "second"


def test_clocks_starting_at_the_same_moment_get_one_holder(database: Database) -> None:
    leases = [ClockLease(database, seconds=30, holder=f"clock-{i}") for i in range(8)]
    start = threading.Barrier(len(leases))
    won: list[str] = []

    def race(lease: ClockLease) -> None:
        start.wait()
        if lease.acquire(NOW):
            won.append(lease.holder)

    threads = [threading.Thread(target=race, args=(lease,)) for lease in leases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert stored(database).holder == won[0]
