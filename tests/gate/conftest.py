"""Fixtures of the gate's HTTP tests: a bot wired to the fake GitHub (with each module's
own `github_env`), a signed Slack client for it, and one clock tick."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest

from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import SignedClient


@pytest.fixture
def gh_bot(start_bot: Callable[..., BotProcess], github_env: dict[str, str]) -> BotProcess:
    return start_bot(**github_env)


@pytest.fixture
def slack(gh_bot: BotProcess, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(gh_bot, fake_slack) as client:
        yield client


@pytest.fixture
def clock(
    bot_cli: Callable[..., subprocess.CompletedProcess[str]], github_env: dict[str, str]
) -> Callable[[], None]:
    def tick() -> None:
        result = bot_cli("clock", "--once", **github_env)
        assert result.returncode == 0, result.stderr

    return tick
