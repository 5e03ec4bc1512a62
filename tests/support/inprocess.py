"""The bot served from the test process: the in-process tier.

``InProcessBot`` has the surface of ``support.server.BotProcess`` that request-level tests
use (``base_url``, ``env``, ``database_url``, ``signing_secret``, ``get``/``post``,
``log_text``, ``start``/``stop``/``restart``), but builds the real WSGI app with
``bot.bootstrap.bootstrap`` in this process instead of starting ``python -m bot serve``.
Requests still go through the whole app: Slack-signed bodies, Bolt's verification, the
listeners, and the fakes of Slack and GitHub over HTTP. What changes:

- ``SignedClient.for_bot`` and ``get``/``post`` call the WSGI app directly through an httpx
  ``WSGITransport`` (no socket, no server process). ``base_url`` is also served, by a
  threaded WSGI server on a free port, for what must reach the bot over the network (the
  freeze-status CLI's ``--url``, the review-app script).
- The work after each acknowledgement runs on threads of this process (the
  WORK_PROCESSES=0 path); ``wait_idle()`` waits for it to finish.
- Time is the bot's ``clock`` (a ``MovableClock``): ``bot.clock.advance(minutes=15)``
  moves the bot's "now" without touching settings.
- Settings come only from ``env`` (never from this process's environment or a .env file),
  parsed by the bot's own Settings class.

Start-up and its failures, the work processes, crashes and the CLI still need the real
subprocess (``BotProcess``); see tests/conftest.py for how a test asks for one.

The bot package is imported only when a bot starts, so conftest.py stays importable
without it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from support.server import BotFacts

log = logging.getLogger(__name__)

# The base URL requests through the WSGI transport carry (Flask only needs a host).
WSGI_BASE_URL = "http://deploybot.test"

# Databases migrated by this test session: migrating takes a second or two, and the
# tables are emptied (never dropped) between tests, so once per database is enough.
_migrated: set[str] = set()
_migrate_lock = threading.Lock()

# The in-process bot's wait before its Slack or GitHub client retries a refused call.
QUICK_RETRY_SECONDS = 0.01


def _quick_sleep(seconds: float) -> None:
    time.sleep(min(seconds, QUICK_RETRY_SECONDS))


class MovableClock:
    """The bot's clock: real UTC time plus an offset a test can move.

    Real time by default, so that bookings "tomorrow 14:00" and Slack's signature window
    behave as in production; ``advance()`` moves only what the bot's services see."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move the bot's time forward, e.g. ``advance(minutes=15)``; the new now."""
        self.offset += (delta or timedelta(0)) + timedelta(**parts)
        return self()

    def reset(self) -> None:
        self.offset = timedelta(0)


class CountingExecutor(ThreadPoolExecutor):
    """A thread pool that knows how much of its work is unfinished, so a test can wait
    until the bot has done everything it acknowledged."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="slack-work")
        self._unfinished = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._unfinished += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _f: self._done())
        return future

    def _done(self) -> None:
        with self._idle:
            self._unfinished -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)


def settings_from_env(env: Mapping[str, str | None]) -> Any:
    """The bot's Settings read from ``env`` alone, as a process with exactly that
    environment would read them (names are case-insensitive, values are parsed by the
    same validators); this process's own environment and any .env file are ignored."""
    from pydantic_settings import PydanticBaseSettingsSource

    from bot.settings import Settings

    class EnvOnly(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[Any],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    fields = set(Settings.model_fields)
    given = {k.lower(): v for k, v in env.items() if v is not None and k.lower() in fields}
    return EnvOnly(**given)


def migrate_once(url: str) -> None:
    from bot.migrations import upgrade

    with _migrate_lock:
        if url not in _migrated:
            upgrade(url)
            _migrated.add(url)


class _LogFile(logging.Handler):
    """Appends the bot's log records to ``path`` as the subprocess's stderr would."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._lock_file = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record) + "\n"
        with self._lock_file, self.path.open("a", encoding="utf-8") as log:
            log.write(line)


class _InFlight:
    """The bot's WSGI app, counting the requests it is still serving, up to the end of
    what runs when their response is closed (Flask's `call_on_close`), so that stopping
    the bot can wait for them."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._running = 0
        self._finished = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.wsgi import ClosingIterator

        with self._finished:
            self._running += 1
        try:
            body = self._app(environ, start_response)
        except BaseException:
            self._done()
            raise
        # Closing calls the body's own close (and with it Flask's call_on_close) first.
        return ClosingIterator(body, [self._done])

    def _done(self) -> None:
        with self._finished:
            self._running -= 1
            self._finished.notify_all()

    def wait_finished(self, timeout: float) -> bool:
        with self._finished:
            return self._finished.wait_for(lambda: self._running == 0, timeout)


class InProcessBot(BotFacts):
    """The bot's WSGI app in this process, with ``env`` as its settings (see module doc)."""

    def __init__(
        self,
        env: Mapping[str, str | None],
        *,
        log_path: Path,
        clock: MovableClock | None = None,
        github: Any | None = None,
        slack: Any | None = None,
    ) -> None:
        self.env: dict[str, str] = {k: str(v) for k, v in env.items() if v is not None}
        self.log_path = log_path
        self.clock = clock or MovableClock()
        self._github = github
        self._slack = slack
        self._bot: Any = None
        self._executor: CountingExecutor | None = None
        self._server: Any = None
        self._serving: threading.Thread | None = None
        self._http: httpx.Client | None = None
        self._web: _InFlight | None = None
        self._log_handler: _LogFile | None = None
        self.port = 0

    # ------------------------------------------------------------------ facts

    @property
    def container(self) -> Any:
        """The bot's services (bot.container.Container), for tests that call them."""
        return self._bot.container

    @property
    def transport(self) -> httpx.BaseTransport:
        """Calls the WSGI app directly; SignedClient.for_bot uses it."""
        assert self._http is not None, "the bot is not running"
        return httpx.WSGITransport(app=self._web)

    def is_running(self) -> bool:
        return self._bot is not None

    # -------------------------------------------------------------- lifecycle

    def start(self) -> InProcessBot:
        if self.is_running():
            return self
        from slack_sdk.http_retry.builtin_interval_calculators import (
            FixedValueRetryIntervalCalculator,
        )
        from werkzeug.serving import make_server

        from bot.bootstrap import bootstrap
        from bot.github.client import GitHubClient
        from bot.slack.app import LISTENER_THREADS
        from bot.slack.client import build_web_client

        settings = settings_from_env(self.env)
        migrate_once(settings.database_url)
        # The bot's own clients, retrying without their real backoff: the tests count
        # retries, not waits (a GitHub rate limit's wait, too, is cut short).
        slack = self._slack or build_web_client(
            settings, retry_interval=FixedValueRetryIntervalCalculator(QUICK_RETRY_SECONDS)
        )
        github = self._github or GitHubClient(
            settings.github_token, str(settings.github_api_url), sleep=_quick_sleep
        )
        self._bot = bootstrap(settings, clock=self.clock, github=github, slack=slack)
        self._executor = CountingExecutor(LISTENER_THREADS)
        bolt = (
            self._bot.bolt_app(listener_executor=self._executor)
            if settings.slack_bot_token
            else None
        )
        self._web = _InFlight(self._bot.web_app(bolt_app=bolt))
        self._log_handler = _LogFile(self.log_path)
        self._log_handler.setLevel(settings.log_level)
        bot_logger = logging.getLogger("bot")
        bot_logger.addHandler(self._log_handler)
        # As configure_logging does in the bot's processes; the test process's root
        # logger would otherwise drop the bot's INFO lines before the handler saw them.
        bot_logger.setLevel(settings.log_level)
        self._http = httpx.Client(transport=httpx.WSGITransport(app=self._web))
        self._server = make_server("127.0.0.1", 0, self._web, threaded=True)
        self.port = self._server.server_port
        self._serving = threading.Thread(
            target=self._server.serve_forever, name="bot-http", daemon=True
        )
        self._serving.start()
        return self

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the work after every acknowledgement so far has finished."""
        return self._executor.wait_idle(timeout) if self._executor else True

    def stop(self, timeout: float = 10.0) -> None:
        if not self.is_running():
            return
        self.wait_idle(timeout)
        # The server's request threads are daemons that server_close() does not join, and
        # what a response runs after it has gone (a GitHub delivery's analysis and channel
        # message) would otherwise reach the next test's fake Slack and database.
        if self._web is not None and not self._web.wait_finished(timeout):
            log.warning("requests still running when the in-process bot stopped")
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._http is not None:
            self._http.close()
        if self._log_handler is not None:
            logging.getLogger("bot").removeHandler(self._log_handler)
        self._bot.container.close()
        with contextlib.suppress(Exception):
            self._bot.container.database.dispose()
        self._bot = None

    def restart(self) -> InProcessBot:
        self.stop()
        return self.start()

    def tick(self, now: datetime | None = None) -> dict[str, int]:
        """Run the clock's tasks once in this process, at ``now`` or the bot's clock."""
        from bot.clock.runner import tick

        return dict(tick(self._bot.clock_tasks(), now or self.clock()))

    def __enter__(self) -> InProcessBot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ plain HTTP

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        assert self._http is not None, "the bot is not running"
        return self._http.get(f"{WSGI_BASE_URL}{path}", **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        assert self._http is not None, "the bot is not running"
        return self._http.post(f"{WSGI_BASE_URL}{path}", **kwargs)
