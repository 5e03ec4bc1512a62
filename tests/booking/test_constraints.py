"""Telling the booking table's own rules from other integrity errors, on real databases:
only these may be answered as a taken slot or a concurrent start (docs/adr/0002)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import refusal

from bot.booking.constraints import is_one_deploying, is_overlap
from bot.booking.model import Booking
from bot.booking.rules import Status
from bot.db import Database

START = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def database(migrated_database: Database) -> Database:
    return migrated_database


def booking(short_id: str, starts_at: datetime, status: Status = Status.SCHEDULED) -> Booking:
    return Booking(
        short_id=short_id,
        app="site",
        kind="other",
        title="t",
        pull_requests=[],
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        status=status.value,
        requester_id="U1",
    )


def test_an_overlapping_slot_is_the_overlap_rule(database: Database) -> None:
    error = refusal(
        database, booking("AAAAA", START), booking("BBBBB", START + timedelta(minutes=15))
    )
    assert is_overlap(error) and not is_one_deploying(error)


def test_a_second_deploy_of_the_app_is_the_one_deploying_rule(database: Database) -> None:
    error = refusal(
        database,
        booking("AAAAA", START, Status.DEPLOYING),
        booking("BBBBB", START + timedelta(hours=1), Status.DEPLOYING),
    )
    assert is_one_deploying(error) and not is_overlap(error)


def test_other_integrity_errors_are_neither(database: Database) -> None:
    # The same short id twice, and a slot that ends before it starts.
    error = refusal(database, booking("AAAAA", START), booking("AAAAA", START + timedelta(hours=1)))
    assert not is_overlap(error) and not is_one_deploying(error)
    backwards = booking("CCCCC", START)
    backwards.ends_at = START - timedelta(minutes=1)
    error = refusal(database, backwards)
    assert not is_overlap(error) and not is_one_deploying(error)
