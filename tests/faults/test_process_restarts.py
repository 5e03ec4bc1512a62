"""Processes killed mid-work (SIGKILL, as a crashed dyno) and started again.

- The clock killed mid-tick loses no reminder and sends none twice, apart from what ADR
  0007 allows: the one message whose send was in flight at the kill may go out again
  once its claim's lease has run out.
- The web process killed while an approval click is being handled: the approval is
  recorded entirely or not at all, and the announcement converges to the truth.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import DEPLOY_CHANNEL, announcement, audit, book, booking, reply_to
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.approval.model import Approval
from bot.clock.runner import ClockTask, tick
from bot.clock.sent_once import CLAIM_LEASE, SentNotification
from bot.slack.outbox import OutboxMessage
from faults.common import REMINDER_PHRASES, assert_acknowledged, due_bookings, reminder_of
from support.db import Database
from support.fake_slack import FakeSlack
from support.server import BotProcess, child_env
from support.slack_requests import BOB, SignedClient

# The real `python -m bot serve` subprocess: kills and restarts the server and the clock.
pytestmark = pytest.mark.real_server

BOOKINGS = 8


@pytest.fixture
def clock_process(
    bot_env: dict[str, str], tmp_path: Path, bot: BotProcess
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def _start() -> subprocess.Popen[bytes]:
        log = (tmp_path / "clock.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "clock"],
            env=child_env(bot_env),
            cwd=str(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield _start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_the_clock_killed_mid_tick_loses_nothing_and_repeats_at_most_the_send_in_flight(
    fake_slack: FakeSlack,
    db_engine: Engine,
    clock_process: Callable[[], subprocess.Popen[bytes]],
    clock_tasks: list[ClockTask],
    bot_cli: Callable[..., subprocess.CompletedProcess[str]],
    bot_env: dict[str, str],
) -> None:
    now = datetime.now(UTC)
    ids = due_bookings(db_engine, now, BOOKINGS)
    owed = {(short_id, phrase) for short_id in ids for phrase in REMINDER_PHRASES}

    # A slow Slack keeps the tick going long enough to kill it in the middle.
    fake_slack.set_delay("chat.postMessage", 0.3)
    clock = clock_process()
    fake_slack.wait_for_count("chat.postMessage", 5, timeout=60)
    os.killpg(clock.pid, signal.SIGKILL)
    clock.wait(timeout=10)
    fake_slack.set_delay("chat.postMessage", 0)
    before_restart = len(fake_slack.calls("chat.postMessage"))
    assert before_restart < len(owed), "the clock finished before it could be killed"

    with Session(db_engine) as session:
        in_flight = {
            row.key
            for row in session.query(SentNotification)
            if row.sent_at is None and row.claimed_at is not None
        } | {
            # A reminder recorded in the outbox and being sent by it (ADR 0019).
            f"outbox:{row.id}"
            for row in session.query(OutboxMessage)
            if row.state == "pending" and row.claimed_until is not None
        }
    assert len(in_flight) <= 1  # one clock sends one message at a time

    # Restarted at once: everything else goes out, but for what waits behind the claim
    # in flight, which is left alone until its lease runs out, since that clock might
    # only be slow, not dead.
    result = bot_cli("clock", "--once", **bot_env)
    assert result.returncode == 0, result.stderr
    # ... and once the lease has run out, a later tick takes it over.
    tick(clock_tasks, datetime.now(UTC) + CLAIM_LEASE + timedelta(seconds=30))

    sent = [c for c in fake_slack.calls("chat.postMessage") if c.ok]
    kinds = [reminder_of(c) for c in sent]
    assert set(kinds) == owed, "a reminder was lost"
    repeated = [k for k in set(kinds) if kinds.count(k) > 1]
    # ADR 0007: only a message Slack had accepted when the clock died may go out again.
    assert len(repeated) <= len(in_flight)
    assert all(kinds.count(k) == 2 for k in repeated)
    with Session(db_engine) as session:
        rows = session.query(SentNotification).all()
        assert len(rows) == len(owed)
        assert all(row.sent_at is not None for row in rows)


@pytest.mark.parametrize("kill", ["mid-transaction", "before-the-slack-update"])
def test_the_web_process_killed_mid_approval_records_all_or_nothing_and_converges(
    start_bot: Callable[..., BotProcess],
    fake_slack: FakeSlack,
    db_engine: Engine,
    db_backend: Database,
    kill: str,
) -> None:
    # The announcement's update the killed process had claimed holds the channel's
    # outbox back for this long (ADR 0019); then the next update goes out.
    process = start_bot(OUTBOX_LEASE_SECONDS="3")
    with SignedClient.for_bot(process, fake_slack) as slack:
        booked = book(slack, fake_slack, db_engine)
        reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
        posted = announcement(fake_slack, booked.short_id)
        ts = posted.response["ts"]

        def recorded() -> tuple[str, int, int]:
            with Session(db_engine) as session:
                approvals = session.query(Approval).count()
            actions = [e.action for e in audit(db_engine, booked.short_id)]
            return (
                booking(db_engine, booked.short_id).status,
                approvals,
                actions.count("approval.approved") + actions.count("booking.approved"),
            )

        if kill == "mid-transaction":
            # The click's transaction has written the approval but waits to write its
            # audit entry (PostgreSQL), or waits for the write lock (SQLite), when the
            # process dies.
            with _approval_blocked(db_backend):
                click = slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
                assert_acknowledged(click)
                _wait_until_blocked(db_backend)
                process.kill()
            assert recorded() == ("awaiting_approval", 0, 0)
        else:
            # Committed, but the announcement's update dies with the process (Slack hangs
            # on it, then fails it).
            fake_slack.set_delay("chat.update", 3)
            fake_slack.fail_next("chat.update", status=500)
            click = slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
            assert_acknowledged(click)
            fake_slack.wait_for_count("chat.update", 0)
            _wait_for(lambda: recorded() == ("approved", 1, 2))
            process.kill()
            fake_slack.set_delay("chat.update", 0)
            time.sleep(3.5)  # let the fake finish (and fail) the update in flight
            stale = fake_slack.message(DEPLOY_CHANNEL, ts)
            assert stale is not None and "approval needed" in str(stale["blocks"])

        process.start()
        # Bob clicks again: the message still shows the button.
        again = slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
        assert_acknowledged(again)
        fake_slack.wait_for(
            "chat.update", lambda c: c.get("ts") == ts and c.ok and "Approved" in c.all_text()
        )
        assert recorded() == ("approved", 1, 2)
        final = fake_slack.message(DEPLOY_CHANNEL, ts)
        assert final is not None and "Approved" in str(final["blocks"])
        assert "approval_approve" not in str(final["blocks"])


@contextmanager
def _approval_blocked(db_backend: Database) -> Iterator[None]:
    engine = db_backend.engine()
    try:
        with engine.connect() as conn:
            if db_backend.backend == "postgresql":
                conn.execute(sa.text("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE"))
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def _wait_until_blocked(db_backend: Database) -> None:
    """Until the bot waits on the lock (PostgreSQL shows it; SQLite cannot, so a second)."""
    if db_backend.backend != "postgresql":
        time.sleep(1)
        return
    engine = db_backend.engine()
    try:

        def waiting() -> bool:
            with engine.connect() as conn:
                return bool(
                    conn.scalar(
                        sa.text(
                            "SELECT count(*) FROM pg_locks l JOIN pg_class c "
                            "ON c.oid = l.relation WHERE c.relname = 'audit_log' "
                            "AND NOT l.granted"
                        )
                    )
                )

        _wait_for(waiting)
    finally:
        engine.dispose()


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition never became true")
