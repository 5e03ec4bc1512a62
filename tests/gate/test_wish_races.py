"""Two transactions that change what a pull request's status should be, committing side
by side: the status ends as both changes together call for. Here an analysis is stored
while a booking of the PR is approved, the interleaving that left a tricky PR "awaiting
approval" after its approval (each read the other's input as it was before).

PostgreSQL only: on SQLite the bot runs one writing transaction at a time (BEGIN
IMMEDIATE), so two can never interleave."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from helpers import book, reply_to
from sqlalchemy.engine import Engine

from bot.booking.model import Booking
from bot.booking.rules import Status
from bot.db import Database
from gate.migrations import REMOVE_EMAIL
from gate.support import REPO, deliver, open_pull, payload, wait_for_status
from support.fake_github import FakeGitHub
from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import SignedClient

MIGRATION = "people/migrations/0002_remove_email.py"


def waiting_on_a_lock(engine: Engine) -> int:
    """How many connections to this database wait for a row lock."""
    with engine.connect() as connection:
        return int(
            connection.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            or 0
        )


def test_an_analysis_stored_while_a_booking_is_approved_ends_with_both(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    db_backend: Database,
) -> None:
    if db_backend.backend == "sqlite":
        pytest.skip("SQLite runs one writing transaction at a time")
    sha = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL})
    # Listing the PR's files fails for now: its analysis stays due.
    github.fail_next(f"GET /repos/{REPO}/pulls/123/files", 503, times=100)
    deliver(gh_bot, payload(github, "opened", 123))
    wait_for_status(github, sha, "pending", "retrying")
    github.clear_faults()
    booked = book(slack, fake_slack, db_engine, when="in 15 minutes")
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    wait_for_status(github, sha, "pending", "retrying")

    gate, database = gh_bot.container.gate, gh_bot.container.database
    analysed = threading.Thread(target=gate.analyses.analyse_due)
    # The approval's transaction, as a booking flow's: the booking moves, and the gate
    # rewrites the PR's wish in the same transaction (watch_bookings does it at commit).
    with database.transaction() as session:
        session.execute(
            sa.update(Booking)
            .where(Booking.short_id == booked.short_id)
            .values(status=Status.APPROVED.value)
        )
        gate.refresh(session, [(REPO, 123)])
        # Meanwhile the analysis is made and stored. It must wait for this transaction
        # (or, had it gone first, this one for it), not write a wish that misses the
        # approval.
        analysed.start()
        deadline = time.monotonic() + 30
        while analysed.is_alive() and not waiting_on_a_lock(db_engine):
            assert time.monotonic() < deadline, "the analysis neither waited nor ended"
            time.sleep(0.02)
    analysed.join(timeout=30)
    assert not analysed.is_alive()

    # Nothing left for the clock's refresh to put right: the wish is already both.
    with database.transaction() as session:
        assert gate.refresh(session, [(REPO, 123)]) == 0
    gate.sync()  # what the clock posts after analysing (bot/gate/clock.py)
    status = wait_for_status(github, sha, "pending", "approved")
    assert booked.short_id in status["description"]
