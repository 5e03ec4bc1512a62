"""HEROKU_API_TOKEN: a production release whose webhook names no commit (no slug commit,
no "Deploy <sha>" description: a pipeline promotion, say) is looked up in the Heroku
Platform API (release info, then slug info) against a fake speaking its wire format; an
unavailable API is waited out by the clock, like a GitHub outage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gate.support import REPO, wait_until
from sqlalchemy.engine import Engine

from releases.test_releases_http import (
    HEROKU_SECRET,
    PRODUCTION_APP,
    merge,
    release_body,
    releases,
    send_release,
    started_migration,
    status_of,
)
from support.fake_github import DEFAULT_TOKEN, FakeGitHub
from support.fake_heroku import ACCEPT, TOKEN, FakeHeroku
from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import SignedClient


@pytest.fixture
def heroku() -> Iterator[FakeHeroku]:
    fake = FakeHeroku().start()
    yield fake
    fake.stop()


@pytest.fixture
def github(fake_github: FakeGitHub) -> FakeGitHub:
    return fake_github


def start(start_bot: Callable[..., InProcessBot], github: FakeGitHub, **env: str) -> InProcessBot:
    return start_bot(
        GITHUB_API_URL=github.url,
        GITHUB_TOKEN=DEFAULT_TOKEN,
        GITHUB_WEBHOOK_SECRET="test-github-webhook-secret",
        HEROKU_WEBHOOK_SECRET=HEROKU_SECRET,
        **env,
    )


def promotion(heroku: FakeHeroku, version: int, commit: str) -> dict[str, Any]:
    """The webhook of a release the API knows, naming its slug but not the commit."""
    known = heroku.add_release(
        PRODUCTION_APP, version, commit=commit, description="Promote foundation-staging v41"
    )
    body = release_body("succeeded", version, commit)
    body["data"]["id"] = known["id"]
    body["data"]["slug"] = {"id": known["slug"]["id"], "commit": None, "commit_description": ""}
    body["data"]["description"] = known["description"]
    return body


def test_a_release_without_a_commit_is_looked_up_in_the_platform_api_and_lands(
    start_bot: Callable[..., InProcessBot],
    heroku: FakeHeroku,
    github: FakeGitHub,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    bot = start(start_bot, github, HEROKU_API_TOKEN=TOKEN, HEROKU_API_URL=heroku.url)
    with SignedClient.for_bot(bot, fake_slack) as slack:
        short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    merge(github, bot, 123)
    released = github.branch_sha(REPO)

    answer = send_release(bot, promotion(heroku, 42, released))
    assert answer.status_code == 200 and answer.json()["status"] == "recorded"
    wait_until(lambda: status_of(db_engine, short_id) == "landed", timeout=20)

    [row] = releases(db_engine)
    assert row.commit_sha == released
    [info] = heroku.calls(f"GET /apps/{PRODUCTION_APP}/releases/*")
    assert info.path == f"/apps/{PRODUCTION_APP}/releases/{row.heroku_id}"
    assert info.headers["accept"] == ACCEPT
    assert info.headers["authorization"] == f"Bearer {TOKEN}"
    assert len(heroku.calls(f"GET /apps/{PRODUCTION_APP}/slugs/*")) == 1


def test_an_unavailable_platform_api_is_retried_by_the_clock(
    start_bot: Callable[..., InProcessBot],
    heroku: FakeHeroku,
    github: FakeGitHub,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    bot = start(start_bot, github, HEROKU_API_TOKEN=TOKEN, HEROKU_API_URL=heroku.url)
    with SignedClient.for_bot(bot, fake_slack) as slack:
        short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    merge(github, bot, 123)
    heroku.set_down()

    answer = send_release(bot, promotion(heroku, 43, github.branch_sha(REPO)))
    assert answer.status_code == 200 and answer.json()["status"] == "recorded"
    # Asked (and retried with backoff) after the answer; then left due for the clock.
    wait_until(lambda: bool(releases(db_engine)[0].last_error), timeout=30)
    [row] = releases(db_engine)
    assert row.due and row.commit_sha is None and "HTTP 503" in (row.last_error or "")
    assert status_of(db_engine, short_id) == "deploying"

    heroku.set_down(False)
    bot.tick()
    wait_until(lambda: status_of(db_engine, short_id) == "landed", timeout=20)
    assert releases(db_engine)[0].commit_sha == github.branch_sha(REPO)


def test_without_a_token_such_a_release_explains_nothing(
    start_bot: Callable[..., InProcessBot],
    heroku: FakeHeroku,
    github: FakeGitHub,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    bot = start(start_bot, github)
    with SignedClient.for_bot(bot, fake_slack) as slack:
        short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    merge(github, bot, 123)

    send_release(bot, promotion(heroku, 44, github.branch_sha(REPO)))
    wait_until(lambda: releases(db_engine)[0].outcome == "no commit in the release", timeout=20)
    assert status_of(db_engine, short_id) == "deploying"
    assert heroku.calls() == []
