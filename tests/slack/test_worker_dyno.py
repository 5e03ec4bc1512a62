"""A `worker` dyno (`python -m bot work`, WORK_ON_WEB=false, docs/adr/0020): the web
dyno only records and acknowledges; the worker finds the recorded work in the database,
does it, and stops cleanly on Heroku's SIGTERM."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faults.common import assert_acknowledged, row_counts
from helpers import reply_to
from sqlalchemy.engine import Engine

from support.fake_slack import FakeSlack
from support.processes import work_processes
from support.server import BotProcess, WorkerProcess, run_bot_command
from support.slack_requests import SignedClient

pytestmark = pytest.mark.real_server

StartBot = Callable[..., BotProcess]
PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"


def schedule(days_ahead: int) -> str:
    day = (datetime.now(UTC) + timedelta(days=days_ahead)).date().isoformat()
    return f"schedule {PR} {day} 14:00 for 30m"


@pytest.fixture
def make_worker(bot_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory for a worker on the test's database and fake Slack; killed at the end."""
    made: list[WorkerProcess] = []

    def make(**env: str) -> WorkerProcess:
        cwd = tmp_path / f"worker-{len(made) + 1}"
        cwd.mkdir()
        worker = WorkerProcess({**bot_env, **env}, log_path=cwd / "worker.log", cwd=cwd)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.kill()


def test_the_web_dyno_only_records_and_a_worker_does_the_work(
    start_bot: StartBot,
    make_worker: Callable[..., WorkerProcess],
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    bot = start_bot(WORK_ON_WEB="false")
    # No work process beside the web workers.
    assert work_processes(bot.pid or 0) == []
    with SignedClient.for_bot(bot, fake_slack) as slack:
        sent = slack.command(schedule(2))
        assert_acknowledged(sent)
        time.sleep(1.0)
        # Acknowledged and recorded, and nothing on the web dyno does it.
        assert fake_slack.calls("response_url") == []
        assert row_counts(db_engine)["slack_work"] == 1

        worker = make_worker(WORK_ON_WEB="false", WORK_PROCESSES="2").start()
        pids = work_processes(worker.pid or 0)
        assert len(pids) == 2
        assert "Booked" in reply_to(fake_slack, sent)
        # Work recorded while the worker runs is done too, once.
        later = slack.command(schedule(3))
        assert_acknowledged(later)
        assert "Booked" in reply_to(fake_slack, later)

    assert worker.stop() == 0
    assert "worker stopped" in worker.log_text()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), "a work process outlived it"
    counts = row_counts(db_engine)
    assert counts["booking"] == 2
    assert counts["slack_work"] == 0


def test_a_stopping_worker_finishes_the_work_it_has_taken(
    start_bot: StartBot,
    make_worker: Callable[..., WorkerProcess],
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    bot = start_bot(WORK_ON_WEB="false")
    worker = make_worker(WORK_ON_WEB="false").start()
    # Slow answers: the work is still running when SIGTERM comes.
    fake_slack.set_delay("response_url", 1.0)
    with SignedClient.for_bot(bot, fake_slack) as slack:
        sent = slack.command(schedule(4))
        assert_acknowledged(sent)
        deadline = time.monotonic() + 10
        while row_counts(db_engine)["booking"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.stop() == 0
    assert len(fake_slack.calls("response_url")) == 1
    assert "Booked" in fake_slack.calls("response_url")[0].all_text()
    assert row_counts(db_engine)["slack_work"] == 0


def test_a_worker_dyno_without_work_processes_is_refused(bot_env: dict[str, str]) -> None:
    # WORK_PROCESSES=0 keeps its meaning (the work on the web workers' threads), which
    # leaves a worker dyno nothing to run: refused in one line, by whichever starts.
    env = {**bot_env, "WORK_ON_WEB": "false", "WORK_PROCESSES": "0"}
    for command in (["work"], ["serve"]):
        result = run_bot_command(command, env, timeout=60)
        assert result.returncode == 2
        assert "WORK_ON_WEB" in result.stderr and "WORK_PROCESSES" in result.stderr


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
