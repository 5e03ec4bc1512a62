"""Fixtures for the fault suite: a database behind a breakable proxy."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bot.clock.runner import ClockTask
from bot.clock.tasks import build_tasks
from bot.container import build_container
from bot.settings import Settings
from support.db import PG_HOST, PG_PORT, Database
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import SignedClient
from support.tcp_proxy import TcpProxy

BOT_TOKEN = "xoxb-test-token"
DEPLOY_CHANNEL = "C0DEPLOY"


@pytest.fixture
def pg_proxy(db_backend: Database) -> Iterator[TcpProxy]:
    """A proxy in front of the PostgreSQL server (PostgreSQL runs only: SQLite has no
    network to break)."""
    if db_backend.backend != "postgresql":
        pytest.skip("an SQLite file cannot become unreachable")
    with TcpProxy(PG_HOST, PG_PORT) as proxy:
        yield proxy


@pytest.fixture
def proxied_bot(
    pg_proxy: TcpProxy,
    db_backend: Database,
    start_bot: Callable[..., BotProcess],
    fake_slack: FakeSlack,
) -> Iterator[tuple[BotProcess, SignedClient]]:
    """A dedicated bot whose DATABASE_URL goes through ``pg_proxy``."""
    url = db_backend.url.replace(f"@{PG_HOST}:{PG_PORT}/", f"@127.0.0.1:{pg_proxy.port}/")
    assert url != db_backend.url
    process = start_bot(DATABASE_URL=url)
    with SignedClient.for_bot(process, fake_slack) as client:
        yield process, client


@pytest.fixture
def clock_tasks(
    bot: BotProcess, db_backend: Database, fake_slack: FakeSlack
) -> Iterator[list[ClockTask]]:
    """The clock's real tasks, in this process, on the test database and fake Slack (a
    tick at a chosen ``now`` is how the tests move time)."""
    settings = Settings(
        database_url=db_backend.url,
        slack_api_url=fake_slack.base_url,  # type: ignore[arg-type]
        slack_bot_token=BOT_TOKEN,
        deploy_channel=DEPLOY_CHANNEL,
    )
    container = build_container(settings)
    yield build_tasks(container)
    container.database.dispose()
