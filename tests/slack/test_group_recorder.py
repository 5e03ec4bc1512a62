"""The web worker's recording of acknowledged work (bot/slack/handoff.py, docs/adr/0022),
against real databases: requests that arrive together are written together, each once,
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
from slack_bolt import BoltRequest

from bot.db import Database
from bot.slack.handoff import DurableHandOff
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
