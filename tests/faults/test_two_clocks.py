"""Two `deploybot clock` processes at once (issue 15): one works, the other stands by,
nothing is sent twice, and the standby takes over when the first is killed (SIGKILL, as a
crashed dyno)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.clock.lease import Lease
from faults.common import REMINDER_PHRASES, due_bookings, reminder_of
from support.fake_slack import FakeSlack
from support.server import BotProcess, child_env

# Real `python -m bot clock` subprocesses.
pytestmark = pytest.mark.real_server

# Short, so that the takeover is seen within seconds; the default is 30.
LEASE_SECONDS = 3


def _holder_pid(engine: Engine) -> int | None:
    with Session(engine) as session:
        row = session.get(Lease, "clock")
        return int(row.holder.split(":")[1]) if row is not None else None


@pytest.fixture
def clocks(
    bot_env: dict[str, str], tmp_path: Path, bot: BotProcess
) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def _start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "clock"],
            env=child_env({**bot_env, "CLOCK_LEASE_SECONDS": str(LEASE_SECONDS)}),
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


def _wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition never became true")


def test_two_clocks_send_once_and_the_standby_takes_over_when_the_holder_is_killed(
    fake_slack: FakeSlack,
    db_engine: Engine,
    clocks: Callable[[str], subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    first_ids = due_bookings(db_engine, datetime.now(UTC), 4, prefix="KA")
    owed = {(short_id, phrase) for short_id in first_ids for phrase in REMINDER_PHRASES}
    processes = {p.pid: p for p in (clocks("one"), clocks("two"))}
    logs = dict(zip(processes, ("one.log", "two.log"), strict=True))

    fake_slack.wait_for_count("chat.postMessage", len(owed), timeout=60)
    # A few renewals more: a second clock ticking would have sent its copies by now.
    time.sleep(LEASE_SECONDS * 2)
    holder = _holder_pid(db_engine)
    assert holder in processes
    [standby] = [pid for pid in processes if pid != holder]
    standby_log = (tmp_path / logs[standby]).read_text()
    assert "standing by" in standby_log
    assert "clock tick at" not in standby_log  # it did no work
    kinds = [reminder_of(c) for c in fake_slack.calls("chat.postMessage") if c.ok]
    assert sorted(kinds) == sorted(owed), "a reminder was lost or sent twice"

    # The holder dies. Reminders that fall due now are sent by the standby, once.
    os.killpg(holder, signal.SIGKILL)
    processes[holder].wait(timeout=10)
    second_ids = due_bookings(db_engine, datetime.now(UTC), 4, prefix="KB")
    owed |= {(short_id, phrase) for short_id in second_ids for phrase in REMINDER_PHRASES}
    # Within the minute the issue allows (about 4 s with this lease).
    fake_slack.wait_for_count("chat.postMessage", len(owed), timeout=60)
    _wait_for(lambda: _holder_pid(db_engine) == standby, timeout=10)
    time.sleep(LEASE_SECONDS * 2)
    kinds = [reminder_of(c) for c in fake_slack.calls("chat.postMessage") if c.ok]
    assert sorted(kinds) == sorted(owed), "a reminder was lost or sent twice"
    assert "took over the clock lease" in (tmp_path / logs[standby]).read_text()


def test_a_clock_stopped_with_sigterm_hands_the_lease_over_at_once(
    db_engine: Engine,
    clocks: Callable[[str], subprocess.Popen[bytes]],
) -> None:
    first = clocks("one")
    _wait_for(lambda: _holder_pid(db_engine) == first.pid, timeout=30)
    second = clocks("two")
    time.sleep(LEASE_SECONDS)
    assert _holder_pid(db_engine) == first.pid
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0
    # Released on the way out, so the standby need not wait for it to run out.
    assert _holder_pid(db_engine) in (None, second.pid)
    _wait_for(lambda: _holder_pid(db_engine) == second.pid, timeout=30)
