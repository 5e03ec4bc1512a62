"""Fixtures for review-app tests: the fake GitHub, and a bot configured for review apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from support.fake_github import FakeGitHub
from support.server import BotProcess

NOTIFY_TOKEN = "test-review-app-notify-token"
HEROKU_SECRET = "test-heroku-webhook-secret"


@pytest.fixture
def review_env(fake_github: FakeGitHub) -> dict[str, str]:
    """What a bot needs for review apps beyond the default test environment."""
    return {
        "REVIEW_APP_NOTIFY_TOKEN": NOTIFY_TOKEN,
        "HEROKU_WEBHOOK_SECRET": HEROKU_SECRET,
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_TOKEN": fake_github.token,
    }


@pytest.fixture
def review_bot(
    start_bot: Callable[..., BotProcess], review_env: dict[str, str]
) -> Callable[..., BotProcess]:
    """start_bot with the review-app settings (more overrides may be given)."""

    def _start(**env: Any) -> BotProcess:
        return start_bot(**{**review_env, **env})

    return _start
