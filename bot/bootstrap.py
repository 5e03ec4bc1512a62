"""The composition root: the bot's processes start here, and tests build the bot here.

`bootstrap(settings, clock=..., slack=..., github=...)` builds every service
(bot/container.py), and the `Bot` it returns builds the Bolt app with each feature
package's listeners, the web app and the clock's tasks from them. What a test must replace
(the time, the Slack Web API client, the GitHub client, the database) is given here, once,
and reaches every part through the container; no other module constructs any of them.

Nothing in the bot imports this module but its entry points (bot/cli.py, bot/web/server.py,
bot/slack/work_processes.py), so it can import all the rest without a cycle.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from flask import Flask
from slack_bolt import App
from slack_sdk import WebClient

from bot.clock.runner import ClockTask, tick
from bot.clock.tasks import build_tasks
from bot.container import Clock, Container, build_container
from bot.db import Database, utcnow
from bot.github.client import GitHubClient
from bot.settings import Settings
from bot.slack.app import build_bolt_app
from bot.web.app import create_web_app


@dataclass
class Bot:
    """The bot's parts, all wired to one container."""

    container: Container

    @property
    def settings(self) -> Settings:
        return self.container.settings

    def bolt_app(
        self,
        *,
        work_channel: socket.socket | None = None,
        work_here: Callable[[int], None] | None = None,
        record_work: bool = False,
        verify_requests: bool = True,
        listener_executor: Executor | None = None,
    ) -> App:
        """The Bolt app with every feature package's listeners (see build_bolt_app)."""
        return build_bolt_app(
            self.container,
            work_channel=work_channel,
            work_here=work_here,
            record_work=record_work,
            verify_requests=verify_requests,
            listener_executor=listener_executor,
        )

    def web_app(
        self,
        *,
        work_channel: socket.socket | None = None,
        bolt_app: App | None = None,
        work_readiness: Sequence[int] | None = None,
        record_work: bool = False,
    ) -> Flask:
        """The WSGI app of a web worker. With `work_channel`, the work after each Slack
        acknowledgement is recorded for the work processes; with `record_work` alone, it
        is recorded for `deploybot work` on a dyno of its own (WORK_ON_WEB=false);
        `bolt_app` is one built by `bolt_app()` with options of its own (WORK_PROCESSES=0
        gives one built by bot/slack/work_threads.py, the in-process tests one that runs
        the work straight on threads); with none, the work runs straight on threads of
        this process."""
        return create_web_app(
            self.container,
            work_channel,
            bolt_app=bolt_app,
            work_readiness=work_readiness,
            record_work=record_work,
        )

    def clock_tasks(self) -> list[ClockTask]:
        return build_tasks(self.container)

    def tick(self) -> dict[str, int]:
        """Run every clock task once, at the container's `clock()`."""
        return tick(self.clock_tasks(), self.container.clock())


def bootstrap(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    slack: WebClient | None = None,
    github: GitHubClient | None = None,
    database: Database | None = None,
) -> Bot:
    return Bot(
        build_container(settings, clock=clock, slack=slack, github=github, database=database)
    )
