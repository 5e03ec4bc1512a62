"""Shared fixtures: database backends, the fake Slack Web API, and the bot.

Integration tests drive the real bot with requests signed as Slack signs them, and assert
on what it sent to the fake Slack and wrote to the database. The bot is served in this
process (support/inprocess.py: the real WSGI app, built by bot.bootstrap, work on threads,
a clock the test can move) unless the test asks for the real subprocess, the way Heroku
runs it (support/server.py), with ``@pytest.mark.real_server`` or
``start_bot(..., subprocess=True)``: start-up, work processes, crashes and restarts, logs.

This module must stay importable without the bot package existing: it never imports
``bot``, and everything that starts the bot is a non-autouse fixture, so tests that do not
ask for ``bot``/``slack``/``start_bot`` (e.g. tests/support_tests) never start it.

Fixtures (see each docstring):
    db_backend      Database for "sqlite" and "postgresql" (tests using it run twice)
    db_engine       SQLAlchemy engine on db_backend.url, for asserting on rows
    make_database   factory: a fresh, empty throwaway database of the current backend
    fake_slack      the FakeSlack server, reset before the test
    bot             the shared bot for the backend; tables emptied before the test
    slack           SignedClient pointed at ``bot`` (response URLs served by fake_slack)
    start_bot       factory: start_bot(**env_overrides) -> a dedicated bot
    bot_env         the default environment a bot gets (a fresh dict per test)
    bot_cli         bot_cli(*args, **env_overrides) -> CompletedProcess of python -m bot ...
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

# Make `support` importable whatever pytest's import mode or rootdir handling is.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from helpers import OUTBOX_NOW  # noqa: E402

from bot.db import Database as BotDatabase  # noqa: E402
from bot.migrations import upgrade  # noqa: E402
from bot.slack.outbox import Outbox  # noqa: E402
from support.db import (  # noqa: E402
    Database,
    PostgresServer,
    PostgresUnavailable,
    postgres_required,
    sqlite_database,
    truncate_all,
)
from support.fake_github import FakeGitHub  # noqa: E402
from support.fake_slack import FakeSlack  # noqa: E402
from support.inprocess import InProcessBot, MovableClock  # noqa: E402
from support.server import BotProcess, run_bot_command  # noqa: E402
from support.slack_requests import SignedClient  # noqa: E402

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
DEPLOY_CHANNEL = "C0DEPLOY"
REVIEW_APPS_CHANNEL = "C0REVIEW"
DEFAULT_APP = "foundation-site"
GITHUB_REPO = "mozilla/foundation.mozilla.org"


def pytest_sessionstart(session: pytest.Session) -> None:
    # In CI, PostgreSQL is part of the contract: fail the whole run up front instead of
    # silently skipping half the suite and reporting green.
    if postgres_required():
        try:
            PostgresServer().check()
        except PostgresUnavailable as exc:
            raise pytest.UsageError(f"CI=true but PostgreSQL is unavailable: {exc}") from exc


# ------------------------------------------------------------------ databases


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """The local PostgreSQL server; skips (or, with CI=true, fails) if unreachable.

    Drops every database this session created when the session ends.
    """
    server = PostgresServer()
    try:
        server.check()
    except PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"CI=true but PostgreSQL is unavailable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield server
    server.drop_all()


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def db_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Database:
    """The session's database for one backend: ``.backend``, ``.url``, ``.heroku_url``.

    Empty until a bot migrates it. Tests that use it run once per backend.
    """
    if request.param == "sqlite":
        return sqlite_database(tmp_path_factory.mktemp("sqlite"))
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
def db_engine(db_backend: Database) -> Iterator[Engine]:
    """An engine on ``db_backend.url`` (unpooled, so it never holds locks between uses)."""
    engine = db_backend.engine()
    yield engine
    engine.dispose()


@pytest.fixture
def make_database(
    db_backend: Database, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], Database]]:
    """Factory for extra empty databases of the current backend (migration up/down tests).

    PostgreSQL ones are dropped when the test ends.
    """
    server: PostgresServer | None = None
    made: list[Database] = []

    def _make() -> Database:
        nonlocal server
        if db_backend.backend == "sqlite":
            return sqlite_database(tmp_path, name="extra")
        if server is None:
            server = request.getfixturevalue("pg_server")
        database = server.create_database(prefix="deploybot_extra")
        made.append(database)
        return database

    yield _make
    if server is not None:
        for database in made:
            server.drop_database(database.name)


@pytest.fixture
def migrated_database(make_database: Callable[[], Database]) -> Iterator[BotDatabase]:
    """An extra database of the current backend, migrated to head, as the bot opens it:
    for tests of one table's queries on their own (the work table, the clock's lease)."""
    target = make_database()
    upgrade(target.url)
    database = BotDatabase(target.url)
    yield database
    database.dispose()


# ------------------------------------------------------------------ fake Slack


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[FakeSlack]:
    """The session's FakeSlack. Tests should use ``fake_slack`` (reset per test)."""
    with FakeSlack(token=BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def fake_slack(fake_slack_server: FakeSlack) -> FakeSlack:
    """The fake Slack Web API with no recorded calls, faults or custom users."""
    fake_slack_server.reset()
    return fake_slack_server


@pytest.fixture
def outbox_to_fake_slack(migrated_database: BotDatabase, fake_slack: FakeSlack) -> Outbox:
    """An outbox on a migrated database of the current backend that sends to the fake
    Slack, its clock standing at OUTBOX_NOW: for the packages' notices on their own."""
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url)
    return Outbox(migrated_database, client, now=lambda: OUTBOX_NOW, holder="one")


# ------------------------------------------------------------------ fake GitHub


@pytest.fixture(scope="session")
def fake_github_server() -> Iterator[FakeGitHub]:
    """The session's FakeGitHub. Tests should use ``fake_github`` (reset per test)."""
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def fake_github(fake_github_server: FakeGitHub) -> FakeGitHub:
    """The fake GitHub REST API, emptied, with the default repository known."""
    fake_github_server.reset()
    fake_github_server.add_repo(GITHUB_REPO)
    return fake_github_server


# ------------------------------------------------------------------ the bot


@pytest.fixture(scope="session")
def _bot_env_defaults(db_backend: Database, fake_slack_server: FakeSlack) -> dict[str, str]:
    return {
        "DATABASE_URL": db_backend.url,
        "SLACK_API_URL": fake_slack_server.base_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DEPLOY_CHANNEL": DEPLOY_CHANNEL,
        "REVIEW_APPS_CHANNEL": REVIEW_APPS_CHANNEL,
        "DEFAULT_APP": DEFAULT_APP,
        "GITHUB_REPO": GITHUB_REPO,
        # In production the work processes take only the CPU the web workers leave
        # (WORK_NICE=19, ADR 0013). Here other tests run beside them (scripts/test runs
        # four at once): at nice 19 a work process would wait for its neighbours' work,
        # not the bot's. The test of that priority sets it back.
        "WORK_NICE": "0",
    }


@pytest.fixture
def bot_env(_bot_env_defaults: dict[str, str]) -> dict[str, str]:
    """The environment the default bot gets (a copy: changing it affects nothing)."""
    return dict(_bot_env_defaults)


def real_server_wanted(request: pytest.FixtureRequest) -> bool:
    """Whether the test asked for the bot as a subprocess (``@pytest.mark.real_server``)."""
    return request.node.get_closest_marker("real_server") is not None


@pytest.fixture(scope="session")
def _bot_session(
    _bot_env_defaults: dict[str, str],
    db_backend: Database,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[InProcessBot]:
    """The session's in-process bot for the backend (tests use ``bot``)."""
    logs = tmp_path_factory.mktemp("bot-logs")
    bot = InProcessBot(_bot_env_defaults, log_path=logs / f"bot-{db_backend.backend}.log")
    bot.start()
    yield bot
    bot.stop()


@pytest.fixture(scope="session")
def _bot_process_session(
    _bot_env_defaults: dict[str, str],
    db_backend: Database,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    """The session's bot subprocess for the backend, started for the first test marked
    ``real_server`` that asks for ``bot``."""
    logs = tmp_path_factory.mktemp("bot-logs")
    process = BotProcess(
        _bot_env_defaults,
        log_path=logs / f"bot-{db_backend.backend}.log",
        cwd=tmp_path_factory.mktemp("bot-cwd"),
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def bot(
    request: pytest.FixtureRequest, db_backend: Database, fake_slack: FakeSlack
) -> Iterator[InProcessBot | BotProcess]:
    """The shared bot for this backend (``.base_url``, ``.database_url``, ``.log_text()``):
    in this process (``.clock``, ``.container``, ``.tick()``, ``.wait_idle()``), or the
    subprocess for a test marked ``real_server``.

    Every table but alembic_version is emptied and fake_slack is reset before the test.
    If an earlier test left it dead, it is started again so one crash does not cascade.
    """
    shared: InProcessBot | BotProcess
    if real_server_wanted(request):
        shared = request.getfixturevalue("_bot_process_session")
    else:
        shared = request.getfixturevalue("_bot_session")
        # The work an earlier test acknowledged must not land in this test's tables.
        shared.wait_idle()
        shared.clock.reset()
        if db_backend.backend == "sqlite" and shared.is_running():
            # A fresh SQLite connection per test, as each test's subprocess bot had: idle
            # ones kept from test to test, while other processes (subprocess bots, the
            # CLI) wrote the same file, were seen to read it as malformed.
            shared.container.database.dispose()
    if not shared.is_running():
        shared.start()
    if isinstance(shared, InProcessBot):
        # The zones an earlier test read would answer for Slack when this test makes
        # users.info fail (bot/slack/users.py, UserZones).
        shared.container.zones.clear()
    truncate_all(db_backend.url)
    fake_slack.reset()
    yield shared
    if isinstance(shared, InProcessBot):
        # The next test may not ask for ``bot`` (a dedicated ``start_bot`` bot shares
        # fake_slack): the work this test acknowledged finishes now, not in its calls.
        shared.wait_idle()


@pytest.fixture
def slack(bot: InProcessBot | BotProcess, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    """Sends Slack-signed requests to ``bot``; response URLs are served by ``fake_slack``."""
    with SignedClient.for_bot(bot, fake_slack) as client:
        yield client


@pytest.fixture
def start_bot(
    request: pytest.FixtureRequest,
    _bot_env_defaults: dict[str, str],
    db_backend: Database,
    fake_slack: FakeSlack,
    tmp_path: Path,
) -> Iterator[Callable[..., Any]]:
    """Factory for a dedicated bot with different settings, stopped when the test ends.

    ``start_bot(REQUIRED_APPROVALS="2", APPROVER_USERGROUP="S0APPROVERS")`` builds one on
    the backend's database (emptied first), in this process (an ``InProcessBot`` with a
    clock of its own). An env value of ``None`` removes that variable. Keyword-only
    options: ``database=`` (a Database from ``make_database``), ``clock=`` (a
    MovableClock), ``subprocess=True`` (the real server, a ``BotProcess``, as for every
    call in a test marked ``real_server``), and, for the subprocess only (they imply it):
    ``wait=False`` (do not wait for health; use ``.wait_exit()`` to test refused
    start-ups), ``migrate=False`` (skip the migrate step), ``serve_args=``.
    Talk to it with ``SignedClient.for_bot(bot, fake_slack)``.
    """
    started: list[InProcessBot | BotProcess] = []
    truncate_all(db_backend.url)

    def _start(
        *,
        database: Database | None = None,
        wait: bool = True,
        migrate: bool = True,
        serve_args: tuple[str, ...] = (),
        subprocess: bool = False,
        clock: MovableClock | None = None,
        **env: str | None,
    ) -> InProcessBot | BotProcess:
        full_env: dict[str, str | None] = {**_bot_env_defaults, **env}
        if database is not None:
            full_env["DATABASE_URL"] = database.url
        n = len(started) + 1
        real = subprocess or real_server_wanted(request) or not wait or not migrate
        if not real and not serve_args:
            bot = InProcessBot(full_env, log_path=tmp_path / f"bot-{n}.log", clock=clock)
            started.append(bot)
            return bot.start()
        cwd = tmp_path / f"bot-{n}-cwd"
        cwd.mkdir()
        process = BotProcess(
            full_env,
            log_path=tmp_path / f"bot-{n}.log",
            cwd=cwd,
            migrate=migrate,
            serve_args=serve_args,
        )
        started.append(process)
        process.start(wait=wait)
        return process

    yield _start
    for process in started:
        process.stop()


@pytest.fixture
def bot_cli(
    _bot_env_defaults: dict[str, str], tmp_path: Path
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m bot <args>`` with the default env (plus overrides) to completion.

    ``bot_cli("migrate")``, ``bot_cli("freeze", "--check", DATABASE_URL=db.url)``.
    """

    def _run(*args: str, timeout: float = 120.0, **env: Any) -> subprocess.CompletedProcess[str]:
        return run_bot_command(args, {**_bot_env_defaults, **env}, cwd=tmp_path, timeout=timeout)

    return _run
