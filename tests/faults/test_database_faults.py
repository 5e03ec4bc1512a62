"""The database down, unreachable or too slow while people use the bot.

Slack must still get its acknowledgement inside 3 seconds, the person gets a clear "try
again", nothing is half-written, and the bot recovers by itself when the database is back.

PostgreSQL is shared by everything on this machine, so it is never stopped: the bot under
test reaches it through a TCP proxy the test breaks (``support.tcp_proxy``), or the test
holds a lock the bot's statements have to wait for.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from helpers import announcement, book, booking, reply_to
from sqlalchemy.engine import Engine

from faults.common import (
    PR,
    assert_acknowledged,
    dm_to,
    modal_values,
    open_schedule_modal,
    row_counts,
)
from support.db import Database
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, CAROL, SignedClient
from support.tcp_proxy import TcpProxy

# Acknowledgements inside 3 s while the database fails: timed, so run alone (scripts/test).
pytestmark = pytest.mark.serial

TRY_AGAIN = "try again"


def commands_touching_the_database(short_id: str) -> list[tuple[str, str]]:
    """(text, user) of every subcommand that needs the database, aimed at `short_id`."""
    return [
        ("list", ALICE),
        (f"schedule {PR} tomorrow 16:00 for 45m", ALICE),
        (f"cancel {short_id}", ALICE),
        (f"ready {short_id}", ALICE),
        (f"edit {short_id} tomorrow 18:00", ALICE),
        (f"start {short_id}", ALICE),
        (f"done {short_id}", BOB),
        (f"failed {short_id}", BOB),
        (f"rolledback {short_id}", BOB),
        (f"history {short_id}", CAROL),
        ('plan rename #101 #102 #103 tomorrow 14:00 for 45m every 2d "Rename"', ALICE),
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("failure", ["down", "blackhole"])
def test_database_unreachable_every_way_in_answers_in_time_and_changes_nothing(
    proxied_bot: tuple[BotProcess, SignedClient],
    pg_proxy: TcpProxy,
    fake_slack: FakeSlack,
    db_engine: Engine,
    failure: str,
) -> None:
    process, slack = proxied_bot
    booked = book(slack, fake_slack, db_engine)
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    posted = announcement(fake_slack, booked.short_id)
    modal = open_schedule_modal(slack, fake_slack)
    slack.click(posted, "approval_request_changes", f"{booked.short_id}:0", user_id=CAROL)
    changes_modal = fake_slack.wait_for("views.open", lambda c: "approval_changes" in str(c.body))
    before = row_counts(db_engine)

    # "down": connections refused at once; "blackhole": the host is gone, so each new
    # connection waits for the bot's 3-second connect timeout.
    getattr(pg_proxy, failure)()
    commands = commands_touching_the_database(booked.short_id)

    def send_command(item: tuple[str, str]) -> tuple[str, str]:
        text, user = item
        sent = slack.command(text, user_id=user)
        assert_acknowledged(sent)
        assert sent.response_url_id is not None
        return text, sent.response_url_id

    def click_approve() -> str:
        sent = slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
        assert_acknowledged(sent)
        assert sent.response_url_id is not None
        return sent.response_url_id

    # Everything at once, as a busy channel would: the acknowledgements must not queue
    # behind work that is stuck waiting for the database.
    with ThreadPoolExecutor(len(commands) + 3) as pool:
        sent_commands = list(pool.map(send_command, commands))
        approve_id = pool.submit(click_approve).result()
        submitted = pool.submit(slack.submit_view, modal, modal_values(), user_id=ALICE).result()
        changes = pool.submit(
            slack.submit_view, changes_modal, {"reason": "needs a backfill"}, user_id=CAROL
        ).result()
    assert_acknowledged(submitted)
    assert_acknowledged(changes)

    for text, response_id in sent_commands:
        reply = fake_slack.wait_for_response(response_id, timeout=20).all_text()
        assert TRY_AGAIN in reply, (text, reply)
    assert TRY_AGAIN in fake_slack.wait_for_response(approve_id, timeout=20).all_text()
    dm_to(fake_slack, ALICE, TRY_AGAIN, timeout=20)  # the booking modal has no response URL
    dm_to(fake_slack, CAROL, TRY_AGAIN, timeout=20)
    assert process.get("/healthz", timeout=10).status_code == 503

    pg_proxy.up()
    assert row_counts(db_engine) == before, "something was written while the database was away"
    assert booking(db_engine, booked.short_id).status == "awaiting_approval"

    # Back by itself: no restart, the same requests now work.
    assert process.get("/healthz", timeout=10).status_code == 200
    again = slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
    assert_acknowledged(again)
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    assert booking(db_engine, booked.short_id).status == "approved"
    assert "Booked" in reply_to(fake_slack, slack.command(f"schedule {PR} tomorrow 16:00 for 45m"))


@contextmanager
def database_held(db_backend: Database) -> Iterator[None]:
    """Keep the bookings locked against the bot for as long as the block runs: an
    ACCESS EXCLUSIVE lock on PostgreSQL, the database's write lock on SQLite."""
    engine = db_backend.engine()
    try:
        with engine.connect() as conn:
            if db_backend.backend == "postgresql":
                conn.execute(sa.text("LOCK TABLE booking IN ACCESS EXCLUSIVE MODE"))
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def test_database_too_slow_answers_in_time_then_a_retry_books(
    bot: BotProcess,
    slack: SignedClient,
    db_backend: Database,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    assert sum(row_counts(db_engine).values()) == 0
    with database_held(db_backend):
        # Twenty people at once, more than the bot has threads for its work: the
        # acknowledgements still all go out at once.
        with ThreadPoolExecutor(20) as pool:
            sent = list(
                pool.map(
                    lambda i: slack.command(
                        f"schedule {PR} tomorrow {8 + i // 2}:{30 * (i % 2):02d} for 30m"
                    ),
                    range(20),
                )
            )
        for each in sent:
            assert_acknowledged(each)
        # The bot's statement (or SQLite's busy) timeout gives up on the lock after 5s.
        first_reply = fake_slack.wait_for(
            "response_url", lambda c: TRY_AGAIN in c.all_text(), timeout=20
        )

    # Work still queued when the lock went away goes through; the rest was told to try
    # again. Either way nothing is half-written: a booking exists exactly for each
    # "Booked", with its idempotency key and audit entry, and nothing else.
    replies = {}
    for each in sent:
        assert each.response_url_id is not None
        replies[each.response_url_id] = fake_slack.wait_for_response(
            each.response_url_id, timeout=60
        ).all_text()
    booked = [rid for rid, text in replies.items() if "Booked" in text]
    failed = [rid for rid, text in replies.items() if TRY_AGAIN in text]
    assert len(booked) + len(failed) == len(sent), replies
    counts = row_counts(db_engine)
    assert counts["booking"] == counts["processed_request"] == len(booked)
    assert counts["audit_log"] == len(booked)

    # The key of a failed request was rolled back with it: Slack's retry of that same
    # request (same trigger_id) is handled afresh and books.
    [failed_request] = [each for each in sent if each.response_url_id == first_reply.target]
    retry = slack.send(
        failed_request.request, retry_num=1, response_url_id=failed_request.response_url_id
    )
    assert_acknowledged(retry)
    fake_slack.wait_for_response(first_reply.target, lambda c: "Booked" in c.all_text(), timeout=10)
    assert row_counts(db_engine)["booking"] == len(booked) + 1


def test_a_click_while_the_booking_is_locked_is_answered_and_can_be_repeated(
    slack: SignedClient, db_backend: Database, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    posted = announcement(fake_slack, booked.short_id)
    with database_held(db_backend):
        click = slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
        assert_acknowledged(click)
        assert click.response_url_id is not None
        reply = fake_slack.wait_for_response(click.response_url_id, timeout=20).all_text()
        assert TRY_AGAIN in reply
    assert booking(db_engine, booked.short_id).status == "awaiting_approval"
    assert fake_slack.calls("chat.update") == []
    slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    assert booking(db_engine, booked.short_id).status == "approved"
