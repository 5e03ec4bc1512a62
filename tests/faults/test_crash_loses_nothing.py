"""Every process of the bot killed (SIGKILL, as a crashed dyno) in the middle of a burst
of commands, then started again on the same database (issue 15, docs/adr/0018): every
request Slack was told "OK" about is done and answered, none twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.slack.work_table import SlackWork
from faults.common import ACK_DEADLINE
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import Sent, SignedClient

pytestmark = pytest.mark.real_server

PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"
COMMANDS = 48
IN_FLIGHT = 8
# Short, so that the work a killed process had claimed is claimed again within seconds.
LEASE_SECONDS = 3


def _slot(n: int) -> datetime:
    """A slot of its own for the n-th command, so that no two conflict."""
    first = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    return first + timedelta(days=2 + n // 20, minutes=30 * (n % 20))


def _command(n: int) -> str:
    start = _slot(n)
    return f"schedule {PR} {start.date().isoformat()} {start:%H:%M} for 30m"


def test_every_acknowledged_command_is_answered_once_after_every_process_is_killed(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    bot = start_bot(WORK_LEASE_SECONDS=str(LEASE_SECONDS))
    # Slow answers keep work in flight (claimed, half done) when the processes die.
    fake_slack.set_delay("response_url", 0.3)
    acknowledged: dict[int, Sent] = {}
    with SignedClient.for_bot(bot, fake_slack) as slack:

        def send(n: int) -> None:
            try:
                sent = slack.command(_command(n))
            except httpx.HTTPError:
                return  # the server died under it: Slack would show an error
            if sent.status_code == 200 and sent.elapsed < ACK_DEADLINE:
                acknowledged[n] = sent

        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            futures = [pool.submit(send, n) for n in range(COMMANDS)]
            # Killed once a few have been answered and many wait.
            fake_slack.wait_for_count("response_url", 3, timeout=60)
            bot.kill()
            for future in futures:
                future.result()
        answered_before = len(fake_slack.calls("response_url"))
        assert len(acknowledged) > answered_before, "nothing was left to do at the kill"
        with Session(db_engine) as session:
            assert session.query(SlackWork).count() > 0

        fake_slack.set_delay("response_url", 0)
        bot.start()
        for sent in acknowledged.values():
            assert sent.response_url_id is not None
            fake_slack.wait_for_response(sent.response_url_id, timeout=60)
        # Everything recorded is worked off.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with Session(db_engine) as session:
                if session.query(SlackWork).count() == 0:
                    break
            time.sleep(0.2)

    answers = Counter(
        call.target for call in fake_slack.calls("response_url") if call.target is not None
    )
    for n, sent in acknowledged.items():
        assert answers[sent.response_url_id] == 1, (
            f"command {n} answered {answers[sent.response_url_id]} times"
        )
    replies = {
        call.target: call.all_text() for call in fake_slack.calls("response_url") if call.target
    }
    with Session(db_engine) as session:
        booked = Counter(b.short_id for b in session.query(Booking))
        slots = Counter(b.starts_at for b in session.query(Booking))
    for n, sent in acknowledged.items():
        reply = replies[sent.response_url_id]
        assert "Booked" in reply, (n, reply)
        assert booked[reply.split("`")[1]] == 1, (n, reply)
    # Nothing was done twice, acknowledged or not (a request cut off before its answer
    # may have been recorded and done all the same): each command has a slot of its own.
    assert len(slots) == sum(booked.values())
    with Session(db_engine) as session:
        assert session.query(SlackWork).count() == 0
