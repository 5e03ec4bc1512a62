"""Start-up failures a new user meets are one line (what failed, which setting, what to
check) and a non-zero exit: no traceback from every worker, no restart loop."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from support.fake_slack import FakeSlack
from support.server import free_port

Cli = Callable[..., subprocess.CompletedProcess[str]]


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def test_a_token_slack_refuses_is_one_line_and_exit_2(bot_cli: Cli, fake_slack: FakeSlack) -> None:
    result = bot_cli("serve", "--port", str(free_port()), SLACK_BOT_TOKEN="xoxb-wrong", timeout=60)
    assert result.returncode == 2, result.stderr
    line = one_line(result)
    assert line.startswith("deploybot: Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth)")
    assert "Bot User OAuth Token" in line
    assert "xoxb-wrong" not in line  # never echo a secret
    # Asked once, by the master: no worker or work process was started to ask again.
    assert len(fake_slack.calls("auth.test")) == 1


def test_unreachable_slack_is_one_line_and_exit_2(bot_cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    result = bot_cli("serve", "--port", str(free_port()), SLACK_API_URL=url, timeout=60)
    assert result.returncode == 2, result.stderr
    line = one_line(result)
    assert line.startswith(f"deploybot: cannot reach Slack at SLACK_API_URL={url}")
    assert "check SLACK_API_URL" in line


def test_all_missing_required_settings_are_named_at_once(bot_cli: Cli) -> None:
    result = bot_cli(
        "serve",
        "--port",
        "0",
        SLACK_BOT_TOKEN=None,
        SLACK_SIGNING_SECRET=None,
        DEPLOY_CHANNEL=None,
    )
    assert result.returncode == 2
    assert one_line(result) == (
        "deploybot: missing required settings SLACK_BOT_TOKEN, DEPLOY_CHANNEL, SLACK_SIGNING_SECRET"
    )


def test_all_malformed_settings_are_named_at_once(bot_cli: Cli) -> None:
    result = bot_cli("migrate", REQUIRED_APPROVALS="two", LOG_LEVEL="LOUD", PORT="http")
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("deploybot: malformed settings ")
    for name in ("REQUIRED_APPROVALS", "LOG_LEVEL", "PORT"):
        assert f"{name}: " in line


@pytest.mark.parametrize("token", ["", "xoxb-wrong"])
def test_socket_mode_checks_the_token_too(bot_cli: Cli, token: str) -> None:
    result = bot_cli(
        "serve", "--socket-mode", SLACK_APP_TOKEN="xapp-1", SLACK_BOT_TOKEN=token, timeout=60
    )
    assert result.returncode == 2
    line = one_line(result)
    assert "SLACK_BOT_TOKEN" in line
