"""Telling the freeze table's one-active-freeze rule from other integrity errors, on
real databases: only it may be answered as "already frozen" (bot/freeze/constraints.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import refusal

from bot.booking.constraints import is_overlap
from bot.db import Database
from bot.freeze.constraints import is_second_active_freeze
from bot.freeze.model import Freeze

AT = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def database(migrated_database: Database) -> Database:
    return migrated_database


def freeze(branch: str = "master", *, by: str | None = "U1", unfrozen: bool = False) -> Freeze:
    return Freeze(
        branch=branch,
        frozen_at=AT,
        frozen_by=by,
        unfrozen_at=AT if unfrozen else None,
        unfrozen_by="U2" if unfrozen else None,
    )


def test_a_second_active_freeze_of_the_branch_is_the_one_active_rule(database: Database) -> None:
    error = refusal(database, freeze(), freeze())
    assert is_second_active_freeze(error) and not is_overlap(error)


def test_ended_freezes_and_other_branches_are_not_refused(database: Database) -> None:
    with database.transaction() as session:
        session.add_all([freeze(unfrozen=True), freeze(unfrozen=True), freeze(), freeze("main")])


def test_other_integrity_errors_are_not_the_one_active_rule(database: Database) -> None:
    # No one who froze it (NOT NULL).
    error = refusal(database, freeze(by=None))
    assert not is_second_active_freeze(error)
