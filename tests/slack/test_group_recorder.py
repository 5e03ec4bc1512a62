"""The web worker's recording of acknowledged work (bot/slack/handoff.py, docs/adr/0022),
against real databases: requests that arrive together are written together, each once (a
recording waits, briefly, for the requests still being handled, never for none),
and a request whose acknowledgement gave up is taken back without touching the row of
the request it retried."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult

from bot.db import Database
from bot.slack.handoff import Arrivals, DurableHandOff
from bot.slack.work_table import WorkTable

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def database(migrated_database: Database) -> Database:
    return migrated_database


def command(trigger: str) -> BoltRequest:
    return BoltRequest(
        body=f"command=%2Fdeploy&text=list&user_id=U1&trigger_id={trigger}",
        headers={"content-type": [FORM]},
    )


@contextmanager
def writes_blocked(database: Database) -> Iterator[None]:
    """Hold what every insert into slack_work must wait for, until the block ends."""
    engine = sa.create_engine(database.url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.begin()
            connection.exec_driver_sql("LOCK TABLE slack_work IN SHARE ROW EXCLUSIVE MODE")
        try:
            yield
        finally:
            connection.rollback()
    engine.dispose()


def count_inserts(database: Database) -> list[str]:
    statements: list[str] = []

    @sa.event.listens_for(database.engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO slack_work"):
            statements.append(statement)

    return statements


def test_requests_that_arrive_together_are_recorded_together_each_once(
    database: Database,
) -> None:
    table = WorkTable(database, lease=timedelta(seconds=30))
    told: list[int] = []
    handoff = DurableHandOff(table, told.append, deadline=5.0)
    inserts = count_inserts(database)
    results: list[bool] = []
    lock = threading.Lock()

    def ack(n: int) -> None:
        recorded = handoff.record(command(f"t{n}"))
        with lock:
            results.append(recorded)

    threads = [threading.Thread(target=ack, args=(n,)) for n in range(24)]
    with writes_blocked(database):
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # all 24 are waiting, behind the first batch
    for thread in threads:
        thread.join()

    assert results == [True] * 24
    assert sorted(told) == sorted(set(told)) and len(told) == 24
    assert table.pending() == 24
    # The first recording's statement waited for the lock; the rest queued behind it and
    # went in one more (a few, if a thread was slow to start).
    assert len(inserts) <= 4


def test_a_retry_that_gave_up_leaves_the_first_recording_and_a_new_request_is_withdrawn(
    database: Database,
) -> None:
    table = WorkTable(database, lease=timedelta(seconds=30))
    first = table.record(command("retried").raw_body, FORM)
    told: list[int] = []
    handoff = DurableHandOff(table, told.append, deadline=0.3)
    results: dict[str, bool] = {}

    def ack(trigger: str) -> None:
        results[trigger] = handoff.record(command(trigger))

    # Both wait at once (a request that fails puts the hand-off into "try again at once"
    # until the database writes again, so one after the other would not both wait).
    threads = [threading.Thread(target=ack, args=(t,)) for t in ("retried", "fresh")]
    with writes_blocked(database):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == {"retried": False, "fresh": False}  # both told to try again

    # Requests are written in the order they came, by one thread: once a later one is
    # recorded, the two above have been written, and what needed taking back was.
    deadline = time.monotonic() + 10
    while not handoff.record(command("later")):
        assert time.monotonic() < deadline, "recording never came back"
        time.sleep(0.1)
    with database.engine.connect() as connection:
        rows = dict(connection.execute(sa.text("SELECT body, id FROM slack_work")).all())
    assert rows == {command("retried").raw_body: first, command("later").raw_body: told[-1]}
    assert told == [told[-1]]  # nobody was told about the two given up


def bolt_app(handoff: DurableHandOff, listener: Any) -> App:
    """A Bolt app whose requests go through the hand-off, as a web worker's do (no
    signature check: these requests are made here, not sent)."""
    app = App(
        # No call to Slack's auth.test: the request's workspace is taken as it comes.
        authorize=lambda enterprise_id, team_id, user_id: AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-test"
        ),
        signing_secret="unused",
        request_verification_enabled=False,
        token_verification_enabled=False,
        process_before_response=True,
    )
    app.use(handoff)
    app.command("/deploy")(listener)
    return app


def handle(app: App, arrivals: Arrivals, trigger: str) -> BoltResponse:
    """One request, counted while it is handled, as the web app's Slack view does."""
    with arrivals.arriving():
        return app.dispatch(command(trigger))


def dispatch_on_thread(
    app: App, arrivals: Arrivals, trigger: str, statuses: dict[str, int]
) -> threading.Thread:
    def run() -> None:
        statuses[trigger] = handle(app, arrivals, trigger).status

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_recording_waits_for_a_request_still_on_its_way_and_both_go_in_one_insert(
    database: Database,
) -> None:
    table = WorkTable(database, lease=timedelta(seconds=30))
    arrivals = Arrivals()
    handoff = DurableHandOff(table, None, deadline=30.0, arrivals=arrivals, batch_window=30.0)
    inserts = count_inserts(database)
    slow_may_ack = threading.Event()
    slow_started = threading.Event()

    def listener(ack: Any, body: dict[str, Any]) -> None:
        if body["trigger_id"] == "slow":
            slow_started.set()
            slow_may_ack.wait(10)
        ack()

    app = bolt_app(handoff, listener)
    statuses: dict[str, int] = {}
    slow = dispatch_on_thread(app, arrivals, "slow", statuses)
    assert slow_started.wait(10)
    fast = dispatch_on_thread(app, arrivals, "fast", statuses)
    # "fast" acknowledges at once; its recording waits for "slow", still being handled.
    fast.join(0.5)
    assert fast.is_alive() and inserts == []

    slow_may_ack.set()
    slow.join(10)
    fast.join(10)
    assert statuses == {"slow": 200, "fast": 200}
    assert len(inserts) == 1 and table.pending() == 2


@pytest.mark.parametrize("how", ["answers with text", "fails before acknowledging"])
def test_a_request_that_records_nothing_does_not_hold_the_next_recording(
    database: Database, how: str
) -> None:
    # With a window far past the deadline, a recording that waited for a request no
    # longer on its way would miss its deadline and be refused.
    table = WorkTable(database, lease=timedelta(seconds=30))
    arrivals = Arrivals()
    handoff = DurableHandOff(table, None, deadline=5.0, arrivals=arrivals, batch_window=60.0)

    def listener(ack: Any, body: dict[str, Any]) -> None:
        if body["trigger_id"] == "first":
            if how == "answers with text":
                ack(text="Usage: /deploy list")
                return
            raise RuntimeError("a listener's defect")
        ack()

    app = bolt_app(handoff, listener)
    handle(app, arrivals, "first")
    assert handle(app, arrivals, "second").status == 200
    assert table.pending() == 1


def test_a_lone_request_is_recorded_without_waiting_for_the_window(database: Database) -> None:
    table = WorkTable(database, lease=timedelta(seconds=30))
    told: list[int] = []
    arrivals = Arrivals()
    handoff = DurableHandOff(table, told.append, deadline=5.0, arrivals=arrivals, batch_window=60.0)
    app = bolt_app(handoff, lambda ack: ack())
    for n in range(3):
        response = handle(app, arrivals, f"alone-{n}")
        assert response.status == 200 and response.body == ""
    assert len(told) == 3 and table.pending() == 3
