"""Start-up: settings errors are one clear line; postgres:// URLs work; /healthz."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from support.db import Database
from support.server import BotProcess

# The real `python -m bot serve` subprocess: the command line and its start-up checks.
pytestmark = pytest.mark.real_server


def test_a_missing_required_setting_stops_start_up_with_one_line(
    bot_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    result = bot_cli("serve", "--port", "0", SLACK_BOT_TOKEN=None)
    assert result.returncode == 2
    assert result.stderr.strip() == "deploybot: missing required setting SLACK_BOT_TOKEN"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"REQUIRED_APPROVALS": "two"}, "REQUIRED_APPROVALS"),
        ({"REQUIRED_APPROVALS": "0"}, "REQUIRED_APPROVALS"),
        ({"GITHUB_REPO": "not a repo"}, "GITHUB_REPO"),
        ({"SLACK_API_URL": "nowhere"}, "SLACK_API_URL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_a_malformed_setting_is_named(
    bot_cli: Callable[..., subprocess.CompletedProcess[str]], env: dict[str, str], name: str
) -> None:
    result = bot_cli("migrate", **env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1
    assert lines[0].startswith(f"deploybot: malformed setting {name}:")


def test_socket_mode_needs_the_app_token(
    bot_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    result = bot_cli("serve", "--socket-mode", SLACK_APP_TOKEN=None)
    assert result.stderr.strip() == "deploybot: missing required setting SLACK_APP_TOKEN"


def test_heroku_style_postgres_url_is_accepted(
    start_bot: Callable[..., BotProcess], db_backend: Database
) -> None:
    if db_backend.backend != "postgresql":
        pytest.skip("postgres:// URLs concern PostgreSQL only")
    process = start_bot(DATABASE_URL=db_backend.heroku_url)
    health = httpx.get(f"{process.base_url}/healthz")
    assert health.json() == {"status": "ok", "database": "ok", "work_processes": "ready"}


def test_healthz_reports_an_unreachable_database(
    start_bot: Callable[..., BotProcess], db_backend: Database
) -> None:
    if db_backend.backend != "postgresql":
        pytest.skip("an SQLite file cannot become unreachable")
    process = start_bot(
        wait=False, migrate=False, DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere"
    )
    response = None
    deadline = time.monotonic() + 30
    while response is None and time.monotonic() < deadline:
        try:
            response = process.get("/healthz")
        except httpx.TransportError:
            time.sleep(0.2)  # still starting
    assert response is not None
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["database"] == "unreachable"
