"""Fixtures of the gate's HTTP tests: a bot wired to the fake GitHub (`github_env`, which
a module extends with settings of its own), a signed Slack client for it, and one clock
tick."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from gate.support import PUBLIC_URL
from support.fake_github import DEFAULT_TOKEN, FakeGitHub
from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import SignedClient


@pytest.fixture
def github(fake_github: FakeGitHub) -> FakeGitHub:
    return fake_github


@pytest.fixture
def github_env(github: FakeGitHub) -> dict[str, str]:
    return {
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": DEFAULT_TOKEN,
        "GITHUB_WEBHOOK_SECRET": "test-github-webhook-secret",
        "PUBLIC_URL": PUBLIC_URL,
        # Slack work on the web workers' threads: the work process runs at the lowest
        # priority, and on a busy test machine it can take longer to start than a test.
        "WORK_PROCESSES": "0",
    }


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
