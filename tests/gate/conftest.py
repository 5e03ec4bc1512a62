"""Fixtures of the gate's HTTP tests: a bot wired to the fake GitHub (with each module's
own `github_env`), a signed Slack client for it, and one clock tick."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import SignedClient


@pytest.fixture
def gh_bot(start_bot: Callable[..., InProcessBot], github_env: dict[str, str]) -> InProcessBot:
    return start_bot(**github_env)


@pytest.fixture
def slack(gh_bot: InProcessBot, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(gh_bot, fake_slack) as client:
        yield client


@pytest.fixture
def clock(gh_bot: InProcessBot) -> Callable[[], None]:
    """One run of the clock's tasks, in this process, at the bot's time (what
    `deploybot clock --once` does with the same settings)."""

    def tick() -> None:
        gh_bot.tick()

    return tick
