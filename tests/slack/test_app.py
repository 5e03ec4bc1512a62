"""The order in which Bolt tries the bot's listeners (bot/slack/app.py).

Bolt tries listeners one by one, in the order they were added, until one matches, and each
try costs a web worker about as much as a tenth of an acknowledgement. The requests that
come in bursts are tried first: every `/deploy` command, then the Approve button.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_bolt import App, BoltRequest, BoltResponse

from bot.approval.blocks import APPROVE_ACTION
from bot.container import build_container
from bot.settings import Settings
from bot.slack.app import build_bolt_app
from support.db import sqlite_database
from support.fake_slack import FakeSlack
from support.slack_requests import SlackRequest, block_action, slash_command


@pytest.fixture
def bolt_app(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[App]:
    # Building the app reads nothing from the database; any database will do.
    settings = Settings(
        database_url=sqlite_database(tmp_path).url,
        slack_api_url=fake_slack.base_url,  # type: ignore[arg-type]
        slack_bot_token=fake_slack.token,
        slack_signing_secret="not-checked-here",
    )
    container = build_container(settings)
    yield build_bolt_app(container)
    container.database.dispose()


def tried_before_match(app: App, sent: SlackRequest) -> int:
    """How many listeners Bolt tries, and rejects, before the one that takes `sent`."""
    request = BoltRequest(body=sent.body, headers={"content-type": [sent.content_type]})
    response = BoltResponse(status=200)
    for position, listener in enumerate(app._listeners):
        if listener.matches(req=request, resp=response):
            return position
    raise AssertionError(f"no listener takes {sent.kind}")


def test_every_deploy_command_is_tried_first(bolt_app: App) -> None:
    assert tried_before_match(bolt_app, slash_command("list")) == 0
    assert tried_before_match(bolt_app, slash_command("schedule tomorrow 14:00")) == 0


def test_approve_is_the_first_button_tried(bolt_app: App) -> None:
    # Only the `/deploy` command comes before it: the schedule form's submission, added by
    # the booking package before the approval package (whose subcommands follow booking's
    # in `/deploy help`), is added to the app after the clicks.
    assert tried_before_match(bolt_app, block_action(APPROVE_ACTION, "B7K2Q:1")) == 1
