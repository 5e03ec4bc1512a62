"""The work table against real databases (docs/adr/0018): each recorded request is
claimed by one process at a time, claimed again once its claim has run out, and a
request recorded twice (Slack's retry) is one row."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from bot.db import Database
from bot.slack.work_table import MAX_ATTEMPTS, NewWork, WorkTable, work_key

FORM = "application/x-www-form-urlencoded"
NOW_OLD = timedelta(0)  # every row counts as orphaned


@pytest.fixture
def database(migrated_database: Database) -> Database:
    return migrated_database


@pytest.fixture
def table(database: Database) -> WorkTable:
    return WorkTable(database, lease=timedelta(seconds=1))


def test_a_retried_request_is_recorded_once(table: WorkTable) -> None:
    first = table.record("command=%2Fdeploy&text=list&trigger_id=1", FORM)
    again = table.record("command=%2Fdeploy&text=list&trigger_id=1", FORM)
    other = table.record("command=%2Fdeploy&text=list&trigger_id=2", FORM)
    assert first == again != other
    assert table.pending() == 2


def test_a_claimed_row_is_taken_by_nobody_else_until_its_claim_runs_out(table: WorkTable) -> None:
    work_id = table.record("body", FORM)
    work = table.claim(work_id, "one")
    assert work is not None and (work.body, work.content_type) == ("body", FORM)
    assert table.claim(work_id, "two") is None
    assert table.claim_free("two", 10, older_than=NOW_OLD) == []
    # "one" keeps it while it renews...
    time.sleep(0.6)
    table.renew("one", [work_id])
    time.sleep(0.6)
    assert table.claim(work_id, "two") is None
    # ...and loses it once it stops (it died).
    time.sleep(1.1)
    [taken] = table.claim_free("two", 10, older_than=NOW_OLD)
    assert taken.id == work_id
    table.finish(work_id)
    assert table.pending() == 0


def test_a_sweep_never_claims_again_what_its_own_process_is_still_doing(
    table: WorkTable,
) -> None:
    # Its claim ran out (the renewal waited for SQLite's write lock longer than the
    # lease), but the work goes on in this process: a second run beside it could answer
    # the person twice. Another process takes it as before, as from a process that died.
    doing = table.record("doing", FORM)
    assert table.claim(doing, "one") is not None
    time.sleep(1.1)
    assert table.claim_free("one", 10, older_than=NOW_OLD, doing=[doing]) == []
    [taken] = table.claim_free("two", 10, older_than=NOW_OLD)
    assert taken.id == doing


def test_sweeps_leave_young_rows_to_the_process_that_was_told(table: WorkTable) -> None:
    table.record("young", FORM)
    assert table.claim_free("sweeper", 10, older_than=timedelta(minutes=1)) == []
    assert [w.body for w in table.claim_free("sweeper", 10, older_than=NOW_OLD)] == ["young"]


def test_a_row_that_killed_its_process_every_time_is_left_alone(table: WorkTable) -> None:
    work_id = table.record("poison", FORM)
    for attempt in range(MAX_ATTEMPTS):
        assert table.claim(work_id, f"process-{attempt}") is not None
        time.sleep(1.1)  # the process died: its claim runs out
    assert table.claim(work_id, "next") is None
    assert table.claim_free("next", 10, older_than=NOW_OLD) == []


def test_only_an_unclaimed_row_can_be_withdrawn(table: WorkTable) -> None:
    first = table.record("first", FORM)
    second = table.record("second", FORM)
    assert table.claim(second, "one") is not None
    assert table.withdraw(first)
    assert not table.withdraw(second)
    assert table.pending() == 1


def test_concurrent_sweeps_claim_each_row_once(database: Database) -> None:
    # A long lease: no claim runs out while the sweeps race.
    table = WorkTable(database, lease=timedelta(minutes=5))
    ids = {table.record(f"body-{n}", FORM) for n in range(40)}
    start = threading.Barrier(6)
    claimed: list[int] = []
    lock = threading.Lock()

    def sweep(name: str) -> None:
        start.wait()
        for _ in range(10):
            taken = table.claim_free(name, 3, older_than=NOW_OLD)
            with lock:
                claimed.extend(w.id for w in taken)

    threads = [threading.Thread(target=sweep, args=(f"p{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)  # every row, each once


def test_a_batch_records_each_body_once_and_keeps_a_retry_on_its_first_row(
    table: WorkTable,
) -> None:
    first = table.record("command=%2Fdeploy&text=list&trigger_id=1", FORM)
    batch = [
        NewWork("command=%2Fdeploy&text=list&trigger_id=1", FORM),  # Slack's retry
        NewWork("command=%2Fdeploy&text=list&trigger_id=2", FORM),
        NewWork("command=%2Fdeploy&text=list&trigger_id=2", FORM),  # the same, twice at once
        NewWork("command=%2Fdeploy&text=list&trigger_id=3", FORM),
    ]
    recorded = table.record_many(batch)
    assert recorded.ids[batch[0].key] == first
    assert recorded.new == {batch[1].key, batch[3].key}
    assert len(set(recorded.ids.values())) == 3
    assert table.pending() == 3
    # What the batch recorded is what a work process claims: the body as sent.
    claimed = {w.id: w.body for w in table.claim_free("p", 10, older_than=NOW_OLD)}
    assert claimed[recorded.ids[batch[3].key]] == batch[3].body


def test_a_batch_records_again_a_retry_whose_first_row_is_finished(table: WorkTable) -> None:
    first = table.record("command=%2Fdeploy&text=list&trigger_id=9", FORM)
    table.finish(first)
    recorded = table.record_many([NewWork("command=%2Fdeploy&text=list&trigger_id=9", FORM)])
    [again] = recorded.ids.values()
    assert recorded.new == {work_key("command=%2Fdeploy&text=list&trigger_id=9")}
    assert table.pending() == 1
    work = table.claim(again, "p")
    assert work is not None and work.body.endswith("trigger_id=9")
