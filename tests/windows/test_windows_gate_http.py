"""The `deploybot/deploy` status at a window boundary, over HTTP: a deploying tricky
change is held when a blackout starts and released when it ends, by the clock alone (no
new GitHub event), and an override releases it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from gate.migrations import REMOVE_EMAIL
from gate.support import PUBLIC_URL, deliver, open_pull, payload, wait_for_status
from helpers import announcement, book, reply_to
from sqlalchemy.engine import Engine

from support.fake_github import DEFAULT_TOKEN, FakeGitHub
from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import ALICE, BOB, SignedClient

MIGRATION = "people/migrations/0002_change.py"


@pytest.fixture
def github(fake_github: FakeGitHub) -> FakeGitHub:
    return fake_github


@pytest.fixture
def gh_bot(
    start_bot: Callable[..., InProcessBot], github: FakeGitHub, fake_slack: FakeSlack
) -> InProcessBot:
    fake_slack.set_user(ALICE, tz="UTC")
    return start_bot(
        GITHUB_API_URL=github.url,
        GITHUB_TOKEN=DEFAULT_TOKEN,
        GITHUB_WEBHOOK_SECRET="test-github-webhook-secret",
        PUBLIC_URL=PUBLIC_URL,
        WORK_PROCESSES="0",
    )


@pytest.fixture
def slack(gh_bot: InProcessBot, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(gh_bot, fake_slack) as client:
        yield client


def minute(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def test_the_status_is_held_at_a_blackout_and_released_after_it_by_the_clock(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    sha = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL})
    deliver(gh_bot, payload(github, "opened", 123))
    wait_for_status(github, sha, "failure", "/deploy schedule #123")
    booked = book(slack, fake_slack, db_engine, when="in 15 minutes")
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    posted = announcement(fake_slack, booked.short_id)
    slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
    wait_for_status(github, sha, "pending", "approved")
    gh_bot.clock.advance(minutes=15)  # the bot's time reaches the slot's start window
    assert "is deploying" in reply_to(fake_slack, slack.command(f"start {booked.short_id}"))
    wait_for_status(github, sha, "success", "now: merge it")

    starts = (gh_bot.clock() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    ends = starts + timedelta(hours=2)
    added = reply_to(
        fake_slack,
        slack.command(
            f'window add blackout {minute(starts)} to {minute(ends)} UTC "Payment provider '
            'maintenance"'
        ),
    )
    assert "Added" in added
    gh_bot.tick()
    wait_for_status(github, sha, "success", "now: merge it")
    # From here on no GitHub event arrives: only the bot's clock moves.

    gh_bot.clock.advance(minutes=31)
    gh_bot.tick()
    held = wait_for_status(github, sha, "pending", "held")
    assert "Payment provider maintenance" in held["description"]

    gh_bot.clock.advance(hours=2)
    gh_bot.tick()
    wait_for_status(github, sha, "success", "now: merge it")


def test_an_override_releases_a_held_change(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    sha = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL})
    deliver(gh_bot, payload(github, "opened", 123))
    booked = book(slack, fake_slack, db_engine, when="in 15 minutes")
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    slack.click(
        announcement(fake_slack, booked.short_id),
        "approval_approve",
        f"{booked.short_id}:0",
        user_id=BOB,
    )
    wait_for_status(github, sha, "pending", "approved")
    gh_bot.clock.advance(minutes=15)
    assert "is deploying" in reply_to(fake_slack, slack.command(f"start {booked.short_id}"))
    starts = (gh_bot.clock() + timedelta(minutes=5)).replace(second=0, microsecond=0)
    reply_to(
        fake_slack,
        slack.command(
            f"window add blackout {minute(starts)} to {minute(starts + timedelta(hours=2))} UTC "
            '"Maintenance"'
        ),
    )
    gh_bot.clock.advance(minutes=6)
    gh_bot.tick()
    wait_for_status(github, sha, "pending", "held")

    reply = reply_to(
        fake_slack,
        slack.command(f'window override {booked.short_id} "the fix must ship"', user_id=BOB),
    )
    assert "overrode" in reply
    # The override changes the booking, and every booking change rewrites its statuses
    # at once: no tick, no GitHub event needed.
    wait_for_status(github, sha, "success", "now: merge it")
