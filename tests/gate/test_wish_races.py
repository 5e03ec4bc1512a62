"""Transactions that change what a pull request's status should be, committing side by
side: the status ends as all the changes together call for (GateService._rewish). An
analysis stored while a booking of the PR is approved (each read the other's input as it
was before: the PR stayed "awaiting approval"); a push recorded while the old head commit
is analysed (the new head was left unanalysed for good).

PostgreSQL only: the interleavings are forced by waiting until the bot's connections wait
for a row lock, which only PostgreSQL shows (`pg_stat_activity`). On SQLite the same code
takes the database's write lock before it reads (`lock_for_writing`)."""

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
from bot.gate.rules import ROUTINE_TEXT
from gate.migrations import ADD_NICKNAME, REMOVE_EMAIL
from gate.support import REPO, deliver, open_pull, payload, push, wait_for_status
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


def pull_left_to_the_clock(github: FakeGitHub, bot: InProcessBot, backend: Database) -> str:
    """PR #123 (a tricky migration) opened while GitHub failed to list its files: the
    delivery's own try at its analysis has failed, and the analysis is left to the
    clock (`analyse_due`). Returns its head commit. Skips the test on SQLite."""
    if backend.backend == "sqlite":
        pytest.skip("the interleaving is forced through PostgreSQL's lock waits")
    head = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL})
    github.fail_next(f"GET /repos/{REPO}/pulls/123/files", 503, times=100)
    deliver(bot, payload(github, "opened", 123))
    wait_for_status(github, head, "pending", "retrying")
    github.clear_faults()
    return head


def test_an_analysis_stored_while_a_booking_is_approved_ends_with_both(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    db_backend: Database,
) -> None:
    sha = pull_left_to_the_clock(github, gh_bot, db_backend)
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


def test_a_push_recorded_while_the_old_head_is_analysed_gets_its_own_analysis(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    db_engine: Engine,
    db_backend: Database,
) -> None:
    pull_left_to_the_clock(github, gh_bot, db_backend)
    gate = gh_bot.container.gate
    new_head = push(github, 123, {MIGRATION: ADD_NICKNAME})

    # While another transaction holds the PR's row, the old head's analysis (the clock's)
    # and the new push's delivery both start and wait for it; then it lets go, and they
    # go on in whichever order the database chooses.
    analysed = threading.Thread(target=gate.analyses.analyse_due)
    pushed = threading.Thread(target=deliver, args=(gh_bot, payload(github, "synchronize", 123)))
    with db_engine.connect() as holder:
        holder.execute(sa.text("SELECT id FROM pr_gate WHERE number = 123 FOR UPDATE"))
        analysed.start()
        pushed.start()
        deadline = time.monotonic() + 30
        while waiting_on_a_lock(db_engine) < 2:
            assert time.monotonic() < deadline, "the two did not both wait for the row"
            time.sleep(0.02)
        holder.rollback()
    for thread in (analysed, pushed):
        thread.join(timeout=30)
        assert not thread.is_alive()

    # The new head commit is analysed (the delivery's own work, or the clock's), never
    # left marked done by the old head's analysis.
    gh_bot.wait_idle()
    gh_bot.tick()
    wait_for_status(github, new_head, "success", ROUTINE_TEXT)
