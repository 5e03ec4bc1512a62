"""Runs the web application under gunicorn (see docs/adr/0001-web-server.md)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from bot.container import build_container
from bot.settings import Settings
from bot.web.app import create_web_app


class _GunicornApp(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Called in each worker after the fork, so every worker has its own database
        # pool and Slack client.
        return create_web_app(build_container(self.settings))


def serve_http(settings: Settings, port: int) -> None:
    options = {
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
    _GunicornApp(settings, options).run()
