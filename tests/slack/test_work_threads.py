"""Socket Mode does its own work, recorded before each acknowledgement as the HTTP server
records it (bot/slack/work_threads.py, docs/adr/0018): what a crash interrupts is done
once the process is started again.

Slack's requests arrive as Bolt's Socket Mode adapter hands them over: the envelope's
payload, dispatched with `mode="socket_mode"` (WORK_PROCESSES=0 over HTTP is covered by
the kill test, tests/faults/test_crash_loses_nothing.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from slack_bolt import BoltRequest
from sqlalchemy.engine import Engine

from bot.bootstrap import Bot, bootstrap
from bot.migrations import upgrade
from bot.settings import Settings
from bot.slack.work_threads import WorkThreads, start_work_threads
from support.db import Database
from support.fake_slack import FakeSlack
from support.slack_requests import slash_command

PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"


@pytest.fixture
def database(make_database: Callable[[], Database]) -> Iterator[Database]:
    made = make_database()
    upgrade(made.url)
    yield made


@pytest.fixture
def start(database: Database, fake_slack: FakeSlack) -> Iterator[Callable[[], Bot]]:
    """Starts the Socket Mode process's bot (as often as the test starts it again)."""
    bots: list[Bot] = []

    def _start() -> Bot:
        settings = Settings(
            database_url=database.url,
            slack_api_url=fake_slack.base_url,  # type: ignore[arg-type]
            slack_bot_token=fake_slack.token,
            slack_app_token="xapp-test",
            deploy_channel="C0DEPLOY",
            default_app="foundation-site",
        )
        bots.append(bootstrap(settings))
        return bots[-1]

    yield _start
    for bot in bots:
        bot.container.database.dispose()


@pytest.fixture
def engine(database: Database) -> Iterator[Engine]:
    made = database.engine()
    yield made
    made.dispose()


def _pending(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(sa.text("SELECT content_type FROM slack_work")))


def _over_the_socket(bot: Bot, work_here: Callable[[int], None], text: str, reply_to: str) -> str:
    """Dispatch a command as Socket Mode does; the acknowledgement's body."""
    sent = slash_command(text, response_url=reply_to)
    app = bot.bolt_app(work_here=work_here)
    response = app.dispatch(BoltRequest(mode="socket_mode", body=dict(sent.payload)))
    assert response.status == 200
    return response.body


def test_a_command_over_the_socket_is_recorded_then_done(
    start: Callable[[], Bot], fake_slack: FakeSlack, engine: Engine
) -> None:
    bot = start()
    threads = start_work_threads(bot)
    try:
        # A slow answer keeps the work in progress after the acknowledgement.
        fake_slack.set_delay("response_url", 1)
        reply_to = fake_slack.response_url("socket")
        acknowledged = _over_the_socket(
            bot, threads.take, f"schedule {PR} tomorrow 10:00 for 30m", reply_to
        )
        assert acknowledged == ""
        assert _pending(engine) == ["application/json"]
        fake_slack.wait_for_response("socket", lambda c: "Booked" in c.all_text(), timeout=20)
    finally:
        threads.stop()
    assert _pending(engine) == []


def test_work_acknowledged_before_a_crash_is_done_when_started_again(
    start: Callable[[], Bot], fake_slack: FakeSlack, engine: Engine
) -> None:
    # The process acknowledged the command and died before any thread took it.
    reply_to = fake_slack.response_url("crashed")
    acknowledged = _over_the_socket(
        start(), lambda _work_id: None, f"schedule {PR} tomorrow 11:00 for 30m", reply_to
    )
    assert acknowledged == ""
    assert len(_pending(engine)) == 1

    threads: WorkThreads = start_work_threads(start())
    try:
        fake_slack.wait_for_response("crashed", lambda c: "Booked" in c.all_text(), timeout=20)
    finally:
        threads.stop()
    assert _pending(engine) == []
