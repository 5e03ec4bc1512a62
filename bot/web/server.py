"""Runs the web application under gunicorn (see docs/adr/0001-web-server.md)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from bot.settings import Settings


class GunicornApp(BaseApplication):  # type: ignore[misc]
    """gunicorn running a Flask app that `factory` builds in each worker after the fork,
    so every worker has its own database pool and Slack client."""

    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()


def gunicorn_options(settings: Settings, port: int) -> dict[str, Any]:
    """The production server settings. Public so that the benchmark's baseline app is
    served exactly like the bot (bench/baseline.py)."""
    return {
        "bind": f"0.0.0.0:{port}",
        "workers": settings.web_concurrency,
        # Threads, because Bolt runs listeners on a thread pool after acknowledging and
        # most of a request's time is spent waiting on the database or Slack.
        "worker_class": "gthread",
        "threads": 8,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        # gunicorn's admin socket is not used, and two bots on one machine (tests, a
        # local run beside them) would fight over its default path.
        "control_socket_disable": True,
    }


def serve_http(settings: Settings, port: int) -> None:
    # Imported here, in the master before it forks, so the workers share these modules'
    # memory; importing them at the top would make the baseline pay for them too.
    from bot.bootstrap import bootstrap
    from bot.slack.work_processes import WorkProcesses
    from bot.slack.work_threads import start_work_threads

    options = gunicorn_options(settings, port)
    if settings.slack_bot_token:
        # Built once here and dropped: what the bot's parts import on first use (HTTP
        # clients, their TLS set-up) is then imported before the fork, and shared.
        warm = bootstrap(settings)
        warm.web_app()
        warm.container.database.dispose()
        del warm
        # Its cycles freed now, not frozen for the process's life with the rest.
        gc.collect()
    # Everything imported so far is shared by the processes forked below (web workers and
    # work processes) until written to; the cyclic garbage collector writes to every
    # object it tracks when it runs in them. Frozen, those objects are left out of its
    # runs, so their pages stay shared (docs/adr/0020).
    gc.freeze()
    work: WorkProcesses | None = None
    if settings.work_processes and settings.slack_bot_token and settings.work_on_web:
        # Started before gunicorn forks its web workers, so that they inherit its channel
        # (docs/adr/0013); stopped after they have exited, so that nothing is added to
        # the channel while it is being worked off.
        work = WorkProcesses(settings)
        work.start()
        stop_timeout = float(options["graceful_timeout"])
        options["on_exit"] = lambda _server: work.stop(timeout=stop_timeout)

    def factory() -> Flask:
        bot = bootstrap(settings)
        if work is None and settings.slack_bot_token and settings.work_on_web:
            # WORK_PROCESSES=0: this web worker does the work on threads of its own,
            # recorded first all the same (docs/adr/0018).
            return bot.web_app(bolt_app=bot.bolt_app(work_here=start_work_threads(bot).take))
        return bot.web_app(
            work_channel=work.writer if work else None,
            work_readiness=work.readiness if work else None,
            # WORK_ON_WEB=false: `deploybot work`, on a dyno of its own, does the work.
            record_work=not settings.work_on_web,
        )

    GunicornApp(factory, options).run()
