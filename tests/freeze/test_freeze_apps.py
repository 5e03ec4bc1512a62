"""Freeze enforcement with several apps (APPS), over HTTP: a freeze sweeps the open pull
requests of every app's repository, pull_request deliveries from any of them get their
`deploybot/freeze` status, and an ES mapping change's own PRs are exempt in its app's
repository only (the same number in another repository is another PR, and stays frozen).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from gate.support import deliver
from helpers import announcement, reply_to
from sqlalchemy.engine import Engine

from support.fake_github import DEFAULT_TOKEN, FakeGitHub
from support.fake_slack import FakeSlack
from support.github_webhooks import pull_request_payload
from support.inprocess import InProcessBot
from support.slack_requests import BOB, SignedClient

SITE_REPO = "mozilla/foundation.mozilla.org"
DONATE_REPO = "mozilla/donate-wagtail"
CONTEXT = "deploybot/freeze"
APPS = {
    "foundation-site": {"repo": SITE_REPO, "heroku_app": "foundation-prod"},
    "donate": {"repo": DONATE_REPO, "heroku_app": "donate-prod"},
}


@pytest.fixture
def github(fake_github: FakeGitHub) -> FakeGitHub:
    return fake_github


@pytest.fixture
def apps_bot(start_bot: Callable[..., InProcessBot], github: FakeGitHub) -> InProcessBot:
    return start_bot(
        GITHUB_API_URL=github.url,
        GITHUB_TOKEN=DEFAULT_TOKEN,
        GITHUB_WEBHOOK_SECRET="test-github-webhook-secret",
        APPS=json.dumps(APPS),
    )


@pytest.fixture
def slack(apps_bot: InProcessBot, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(apps_bot, fake_slack) as client:
        yield client


def state(github: FakeGitHub, repo: str, sha: str) -> str | None:
    return (github.latest_status(repo, sha, CONTEXT) or {}).get("state")


def wait_for_states(github: FakeGitHub, wanted: dict[tuple[str, str], str | None]) -> None:
    def reached() -> bool:
        return all(state(github, repo, sha) == want for (repo, sha), want in wanted.items())

    until = time.monotonic() + 60.0  # generous: not a speed test
    while not reached():
        if time.monotonic() > until:
            now = {key: state(github, *key) for key in wanted}
            raise AssertionError(f"wanted {wanted}, have {now}")
        time.sleep(0.1)


def test_a_freeze_sweeps_every_apps_repository_and_exempts_only_the_booked_apps_pr(
    apps_bot: InProcessBot,
    github: FakeGitHub,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    site_7 = github.add_pull(SITE_REPO, 7, title="Unrelated site change")["head"]["sha"]
    site_8 = github.add_pull(SITE_REPO, 8, title="Another site change")["head"]["sha"]
    donate_7 = github.add_pull(DONATE_REPO, 7, title="New search mapping")["head"]["sha"]
    donate_9 = github.add_pull(DONATE_REPO, 9, title="Unrelated donate change")["head"]["sha"]

    # Before any freeze, a delivery from the second app's repository is judged too.
    answer = deliver(apps_bot, pull_request_payload(github, DONATE_REPO, "opened", 9))
    assert answer.status_code == 200 and answer.json()["result"] == "recorded", answer.text
    wait_for_states(github, {(DONATE_REPO, donate_9): "success"})
    # A repository that is no app's is not.
    github.add_pull("someone/else", 9, title="Not ours")
    ignored = deliver(apps_bot, pull_request_payload(github, "someone/else", "opened", 9))
    assert ignored.json()["result"] == "ignored" and ignored.json()["gate"] == "ignored"

    booked = reply_to(
        fake_slack,
        slack.command('schedule #7 app:donate in 15 minutes for 30m kind:es "New search mapping"'),
    )
    assert "Booked" in booked, booked
    short_id = booked.split("`")[1]
    reply_to(fake_slack, slack.command(f"ready {short_id}"))
    posted = announcement(fake_slack, short_id)
    slack.click(posted, "approval_approve", f"{short_id}:0", user_id=BOB)
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    apps_bot.clock.advance(minutes=15)  # the bot's time reaches the slot's start window
    assert "is deploying" in reply_to(fake_slack, slack.command(f"start {short_id}"))

    # Both repositories are swept; donate#7 is the change itself, site#7 is not.
    wait_for_states(
        github,
        {
            (SITE_REPO, site_7): "failure",
            (SITE_REPO, site_8): "failure",
            (DONATE_REPO, donate_7): "success",
            (DONATE_REPO, donate_9): "failure",
        },
    )
    exempt = github.latest_status(DONATE_REPO, donate_7, CONTEXT) or {}
    assert short_id in exempt["description"]
    assert httpx.get(f"{apps_bot.base_url}/api/freeze").json()["booking"] == short_id

    # A push to a PR of the second repository while frozen fails its new head.
    new_sha = github.update_pull(DONATE_REPO, 9, head_sha="d" * 40)["head"]["sha"]
    deliver(apps_bot, pull_request_payload(github, DONATE_REPO, "synchronize", 9))
    wait_for_states(github, {(DONATE_REPO, new_sha): "failure"})

    # The change fails: the freeze lifts in both repositories.
    assert "failed" in reply_to(fake_slack, slack.command(f"failed {short_id}")).lower()
    wait_for_states(
        github,
        {
            (SITE_REPO, site_7): "success",
            (SITE_REPO, site_8): "success",
            (DONATE_REPO, new_sha): "success",
        },
    )


def test_a_sweep_waits_for_every_repository_when_one_cannot_be_listed(
    apps_bot: InProcessBot,
    github: FakeGitHub,
    slack: SignedClient,
    fake_slack: FakeSlack,
) -> None:
    site_1 = github.add_pull(SITE_REPO, 1, title="Site change")["head"]["sha"]
    donate_2 = github.add_pull(DONATE_REPO, 2, title="Donate change")["head"]["sha"]
    github.fail_next(f"GET /repos/{DONATE_REPO}/pulls", status=503, times=20)

    assert "Frozen" in reply_to(fake_slack, slack.command("freeze reindexing"))
    wait_for_states(github, {(SITE_REPO, site_1): "failure"})
    assert state(github, DONATE_REPO, donate_2) is None

    # GitHub answers again: the clock finishes the sweep of the repository it missed.
    github.clear_faults()
    apps_bot.tick()
    wait_for_states(github, {(DONATE_REPO, donate_2): "failure"})
