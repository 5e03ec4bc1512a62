"""ADR 0012's guarantee under the durable hand-off (docs/adr/0018): the work is recorded
in the database before Slack hears "OK", yet a database that is down, unreachable or too
slow still gets every command, click and form acknowledged inside 3 seconds, with a "try
again", and nothing is kept: not the work, not what it would have done.

These run the real server, whose web workers record the work (the in-process bot does the
work on threads, WORK_PROCESSES=0, and is covered by test_database_faults.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from helpers import announcement, book, reply_to
from sqlalchemy.engine import Engine

from faults.common import PR, assert_acknowledged, modal_values, open_schedule_modal, row_counts
from support.db import PG_HOST, PG_PORT, Database
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, Sent, SignedClient
from support.tcp_proxy import TcpProxy

# A 1.5 s recording deadline inside Slack's 3 s: timed, so run alone (scripts/test).
pytestmark = [pytest.mark.real_server, pytest.mark.serial]

TRY_AGAIN = "try again"
COMMANDS = [f"schedule {PR} tomorrow {hour}:00 for 30m" for hour in range(9, 17)] + ["list"] * 4


def _settled(engine: Engine) -> dict[str, int]:
    """Row counts once the work already acknowledged is done (its rows deleted)."""
    deadline = time.monotonic() + 20
    while (counts := row_counts(engine))["slack_work"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert counts["slack_work"] == 0
    return counts


def _acknowledged_with_try_again(sent: Sent) -> None:
    assert_acknowledged(sent)
    assert TRY_AGAIN in sent.text, sent.text[:300]


def _everything_at_once(
    slack: SignedClient, fake_slack: FakeSlack, engine: Engine
) -> Callable[[], None]:
    """Prepare a booking's announcement and an open booking form; return what sends a
    burst of commands, a click and the form's submission at once and checks each answer."""
    booked = book(slack, fake_slack, engine)
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    posted = announcement(fake_slack, booked.short_id)
    modal = open_schedule_modal(slack, fake_slack)

    def burst() -> None:
        with ThreadPoolExecutor(len(COMMANDS) + 2) as pool:
            commands = list(pool.map(lambda text: slack.command(text, user_id=ALICE), COMMANDS))
            click = pool.submit(
                slack.click, posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB
            )
            form = pool.submit(slack.submit_view, modal, modal_values(), user_id=ALICE)
            click_sent, form_sent = click.result(), form.result()
        for sent in commands:
            _acknowledged_with_try_again(sent)
        # A form gets a modal on top of it, which keeps what was typed for the retry.
        _acknowledged_with_try_again(form_sent)
        assert json.loads(form_sent.text)["response_action"] == "push"
        # A click's acknowledgement shows nothing; the person hears through its URL.
        assert_acknowledged(click_sent)
        assert click_sent.response_url_id is not None
        reply = fake_slack.wait_for_response(click_sent.response_url_id, timeout=20)
        assert TRY_AGAIN in reply.all_text()

    return burst


@pytest.mark.postgres
@pytest.mark.parametrize("failure", ["down", "blackhole"])
def test_an_unreachable_database_gets_a_try_again_in_time_and_keeps_nothing(
    pg_proxy: TcpProxy,
    db_backend: Database,
    start_bot: Callable[..., BotProcess],
    fake_slack: FakeSlack,
    db_engine: Engine,
    failure: str,
) -> None:
    url = db_backend.url.replace(f"@{PG_HOST}:{PG_PORT}/", f"@127.0.0.1:{pg_proxy.port}/")
    assert url != db_backend.url
    process = start_bot(DATABASE_URL=url)
    with SignedClient.for_bot(process, fake_slack) as slack:
        burst = _everything_at_once(slack, fake_slack, db_engine)
        before = _settled(db_engine)
        getattr(pg_proxy, failure)()
        burst()
        pg_proxy.up()
        time.sleep(3)  # anything still trying to write would have by now
        assert _settled(db_engine) == before
        # Back by itself: the same process records and does work again.
        assert "Booked" in reply_to(fake_slack, slack.command(COMMANDS[0]))


@contextmanager
def _slack_work_locked(db_backend: Database) -> Iterator[None]:
    """Hold a lock that every recording has to wait for."""
    engine = db_backend.engine()
    try:
        with engine.connect() as conn:
            if db_backend.backend == "postgresql":
                conn.execute(sa.text("LOCK TABLE slack_work IN ACCESS EXCLUSIVE MODE"))
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def test_a_database_too_slow_to_record_gets_a_try_again_and_late_writes_are_undone(
    bot: BotProcess, db_backend: Database, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    with SignedClient.for_bot(bot, fake_slack) as slack:
        burst = _everything_at_once(slack, fake_slack, db_engine)
        before = _settled(db_engine)
        with _slack_work_locked(db_backend):
            burst()
            # Released before the statements waiting on it give up (5 s): they then
            # reach their commit after the person was told to try again.
            time.sleep(0.5)
        time.sleep(3)
        assert _settled(db_engine) == before
        assert "Booked" in reply_to(fake_slack, slack.command(COMMANDS[0]))
