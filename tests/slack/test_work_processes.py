"""The work behind acknowledgements runs in work processes beside the web workers
(docs/adr/0013): at the lowest CPU priority, never in the acknowledgement's way, replaced
when one dies, and finished before the server stops."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faults.common import assert_acknowledged, row_counts
from helpers import reply_to
from sqlalchemy.engine import Engine

from bot.slack.work_processes import (
    MAX_MESSAGE_BYTES,
    STOP,
    ChannelSender,
    decode_work_id,
    encode_work_id,
    make_channel,
)
from support.fake_slack import FakeSlack
from support.processes import process_tree, work_processes
from support.server import BotProcess
from support.slack_requests import SignedClient

# The real `python -m bot serve` subprocess: work processes exist only under the real server.
pytestmark = pytest.mark.real_server

StartBot = Callable[..., BotProcess]
PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"


def schedule(days_ahead: int, at: str = "14:00") -> str:
    day = (datetime.now(UTC) + timedelta(days=days_ahead)).date().isoformat()
    return f"schedule {PR} {day} {at} for 30m"


def wait_for_work_processes(bot: BotProcess, count: int, timeout: float = 20.0) -> list[int]:
    """The pids of `count` work processes, once each has said it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = work_processes(bot.pid or 0)
        log = bot.log_text()
        if len(pids) == count and all(f"work process {pid} ready" in log for pid in pids):
            return pids
        time.sleep(0.1)
    raise AssertionError(f"expected {count} ready work processes:\n{bot.log_tail()}")


def gone(pid: int, timeout: float = 5.0) -> bool:
    """Whether process `pid` has exited, waiting up to `timeout` seconds for it."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not Path(f"/proc/{pid}").exists()


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """SIGSTOP a process for the duration, and always let it go again."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_work_id_crosses_the_channel_unchanged() -> None:
    for work_id in (1, 42, 2**62):
        message = encode_work_id(work_id)
        assert message != STOP
        assert len(message) <= MAX_MESSAGE_BYTES
        assert decode_work_id(message) == work_id


def test_a_full_channel_queues_work_in_order_without_blocking_the_sender() -> None:
    reader, writer = make_channel()
    # A small buffer, so that the channel fills up within a few thousand messages.
    writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sender = ChannelSender(writer)
    # Far more than the channel's buffer holds: the first messages go straight into the
    # channel, the rest queue for the sending thread.
    half = 5000

    def send(numbers: range) -> None:
        for n in numbers:
            sender.send(encode_work_id(n))

    first = threading.Thread(target=send, args=(range(half),))
    first.start()
    first.join(timeout=30)
    assert not first.is_alive(), "send() waited for room in a full channel"

    # A work process starts reading while more work arrives: room appears in the channel
    # while older work is still queued, and the newer work must not overtake it.
    received: list[int] = []

    def work_process() -> None:
        reader.settimeout(10)
        while len(received) < 2 * half:
            received.append(decode_work_id(reader.recv(MAX_MESSAGE_BYTES)))

    taking = threading.Thread(target=work_process)
    taking.start()
    send(range(half, 2 * half))
    taking.join(timeout=60)
    assert received == list(range(2 * half))
    reader.close()
    writer.close()


def autogroup(pid: int) -> str | None:
    """The kernel's scheduling group of a process ("/autogroup-12 nice 19"), or None on a
    kernel without autogroup scheduling."""
    try:
        return Path(f"/proc/{pid}/autogroup").read_text().strip()
    except OSError:
        return None


@pytest.mark.serial  # its subject is CPU priority: beside other tests it measures them
def test_acknowledgements_do_not_wait_for_the_work_process_which_runs_at_the_lowest_priority(
    start_bot: StartBot, fake_slack: FakeSlack
) -> None:
    # The production default, which the other tests' bots leave (tests/conftest.py).
    bot = start_bot(WORK_PROCESSES="2", WORK_NICE="19")
    pids = wait_for_work_processes(bot, 2)
    assert all(os.getpriority(os.PRIO_PROCESS, pid) == 19 for pid in pids)
    # Everything else under the server (web workers, multiprocessing's resource tracker)
    # keeps normal priority.
    others = [pid for pid in process_tree(bot.pid or 0) if pid not in pids]
    assert len(others) >= 2 and all(os.getpriority(os.PRIO_PROCESS, p) == 0 for p in others)
    server_group = autogroup(bot.pid or 0)
    if server_group is not None:
        # Where the kernel shares CPU between sessions first, each work process has a
        # session of its own, niced as a whole; in the server's, nice would not hold it
        # back from the web workers' share.
        for pid in pids:
            name, _, nice = (autogroup(pid) or "").partition(" nice ")
            assert name != server_group.split()[0] and nice == "19"
    with SignedClient.for_bot(bot, fake_slack) as slack, paused(pids[0]), paused(pids[1]):
        sent = slack.command("list")
        # Acknowledged while nothing can do the work...
        assert_acknowledged(sent)
        time.sleep(1.0)
        assert fake_slack.calls("response_url") == []
    # ...which is done once a work process runs again.
    assert "No deploys are booked" in reply_to(fake_slack, sent)


def test_a_killed_work_process_is_replaced_and_the_queued_work_is_kept(
    start_bot: StartBot, fake_slack: FakeSlack
) -> None:
    bot = start_bot()
    [first] = wait_for_work_processes(bot, 1)
    os.kill(first, signal.SIGKILL)
    # Sent while no work process exists: the work waits on the queue for the replacement.
    with SignedClient.for_bot(bot, fake_slack) as slack:
        sent = slack.command(schedule(2))
    assert_acknowledged(sent)
    # The replacement starts after a pause of 2 s and needs a few seconds to be ready.
    reply = fake_slack.wait_for_response(sent.response_url_id or "", timeout=30).all_text()
    assert "Booked" in reply
    [second] = wait_for_work_processes(bot, 1)
    assert second != first
    assert f"work process {first} exited" in bot.log_text()
    # Forked from the master while gunicorn serves (docs/adr/0020), the replacement must
    # not keep the server's listening socket: the port would stay taken after a crash.
    assert listening_sockets(bot.pid or 0), "the test cannot see the server's socket"
    assert listening_sockets(second) == set()


def listening_sockets(pid: int) -> set[str]:
    """The inodes of the TCP sockets in LISTEN state that process `pid` holds."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                listening.add(fields[9])
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(target[len("socket:[") : -1])
    return held & listening


def test_stopping_the_server_finishes_the_work_already_acknowledged(
    start_bot: StartBot, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    bot = start_bot()
    [work] = wait_for_work_processes(bot, 1)
    with SignedClient.for_bot(bot, fake_slack) as slack, paused(work):
        sent = [slack.command(schedule(days)) for days in range(2, 6)]
        for one in sent:
            assert_acknowledged(one)
        # Heroku's restart: SIGTERM to the server; the web workers stop, then the work
        # queued behind their acknowledgements is done before the process exits.
        os.kill(bot.pid or 0, signal.SIGTERM)
    assert bot.wait_exit(timeout=30) == 0
    for one in sent:
        assert "Booked" in reply_to(fake_slack, one)
    assert row_counts(db_engine)["booking"] == len(sent)
    assert gone(work), "the work process outlived the server"


def test_a_work_process_that_cannot_finish_in_time_is_killed_when_the_server_stops(
    start_bot: StartBot, fake_slack: FakeSlack
) -> None:
    bot = start_bot()
    [work] = wait_for_work_processes(bot, 1)
    # Stopped, it can neither finish nor read its STOP: the master must not wait for ever,
    # nor leave it behind (it ignores SIGTERM, so only SIGKILL ends it).
    os.kill(work, signal.SIGSTOP)
    with SignedClient.for_bot(bot, fake_slack) as slack:
        assert_acknowledged(slack.command("list"))
    os.kill(bot.pid or 0, signal.SIGTERM)
    bot.wait_exit(timeout=30)
    assert gone(work), "the stuck work process outlived the server"
    assert f"work process {work} still busy at shutdown; killing it" in bot.log_text()


def test_with_no_work_processes_the_web_workers_do_the_work(
    start_bot: StartBot, fake_slack: FakeSlack
) -> None:
    bot = start_bot(WORK_PROCESSES="0")
    with SignedClient.for_bot(bot, fake_slack) as slack:
        sent = slack.command(schedule(3, at="10:00"))
    assert "Booked" in reply_to(fake_slack, sent)
    assert work_processes(bot.pid or 0) == []
