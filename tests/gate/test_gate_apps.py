"""The `deploybot/deploy` gate with several apps (APPS), over HTTP: pull_request
deliveries from every app's repository are analysed and get their status; a booking's
`#123` is the booked app's PR, so it covers that one and not the same number in the
other repository; `/deploy allow` asks which repository when the number is ambiguous."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping

import httpx
import pytest
from helpers import reply_to

from gate.migrations import ADD_NICKNAME, BASE_TREE, REMOVE_EMAIL
from gate.support import CONTEXT, deliver, wait_until
from support.fake_github import FakeGitHub
from support.fake_slack import FakeSlack, SlackCall
from support.github_webhooks import pull_request_payload
from support.inprocess import InProcessBot
from support.slack_requests import SignedClient

SITE_REPO = "mozilla/foundation.mozilla.org"
DONATE_REPO = "mozilla/donate-wagtail"
MIGRATION = "people/migrations/0002_change.py"
APPS = {
    "foundation-site": {"repo": SITE_REPO, "heroku_app": "foundation-prod"},
    "donate": {"repo": DONATE_REPO, "heroku_app": "donate-prod"},
}


@pytest.fixture
def github_env(github_env: dict[str, str]) -> dict[str, str]:
    return {**github_env, "APPS": json.dumps(APPS)}


@pytest.fixture
def apps_slack(gh_bot: InProcessBot, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(gh_bot, fake_slack) as client:
        yield client


def open_pull_in(
    github: FakeGitHub, repo: str, number: int, files: Mapping[str, bytes | None]
) -> str:
    head = github.add_pull(repo, number, title=f"PR {number}")
    github.set_tree(repo, github.base_sha(repo, number), BASE_TREE)
    github.set_pull_files(repo, number, files)
    return str(head["head"]["sha"])


def status_of(github: FakeGitHub, repo: str, sha: str) -> dict[str, object]:
    return github.latest_status(repo, sha, CONTEXT) or {}


def wait_for(github: FakeGitHub, repo: str, sha: str, state: str, words: str = "") -> None:
    def arrived() -> bool:
        status = status_of(github, repo, sha)
        return status.get("state") == state and words in str(status.get("description"))

    try:
        wait_until(arrived)
    except AssertionError:
        raise AssertionError(f"wanted {state} {words!r}: {status_of(github, repo, sha)}") from None


def test_each_apps_repository_is_gated_and_bookings_cover_their_own_apps_pr(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    apps_slack: SignedClient,
    fake_slack: FakeSlack,
    clock: Callable[[], None],
) -> None:
    donate = open_pull_in(github, DONATE_REPO, 7, {MIGRATION: REMOVE_EMAIL})
    site = open_pull_in(github, SITE_REPO, 7, {MIGRATION: REMOVE_EMAIL})
    routine = open_pull_in(github, DONATE_REPO, 8, {MIGRATION: ADD_NICKNAME})
    for repo, number in ((DONATE_REPO, 7), (SITE_REPO, 7), (DONATE_REPO, 8)):
        answer = deliver(gh_bot, pull_request_payload(github, repo, "opened", number))
        assert answer.status_code == 200 and answer.json()["gate"] == "recorded", answer.text

    wait_for(github, DONATE_REPO, donate, "failure", "RemoveField person.email")
    wait_for(github, SITE_REPO, site, "failure", "RemoveField person.email")
    wait_for(github, DONATE_REPO, routine, "success", "No backward-incompatible migration")
    # The analysis was read from the PR's own repository.
    assert github.calls(f"GET /repos/{DONATE_REPO}/pulls/7/files*")
    page = httpx.get(f"{gh_bot.base_url}/pulls/{DONATE_REPO}/7", timeout=10)
    assert page.status_code == 200 and "RemoveField" in page.text

    # The channel message's Book it opens the form for the PR's own app.
    def donate_message() -> SlackCall | None:
        return next(
            (
                call
                for call in fake_slack.calls("chat.postMessage")
                if "needs a booked, approved" in call.all_text()
                and f"{DONATE_REPO}/pull/7" in call.all_text()
            ),
            None,
        )

    wait_until(lambda: donate_message() is not None)
    message = donate_message()
    assert message is not None
    [book_it] = [
        element
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "gate_book_it"
    ]
    apps_slack.click(message, "gate_book_it", book_it["value"])
    form = fake_slack.wait_for("views.open").get("view")
    fields = {block.get("block_id"): block for block in form["blocks"]}
    assert fields["app"]["element"]["initial_value"] == "donate"
    assert fields["pull_requests"]["element"]["initial_value"] == "#7"

    # `#7 app:donate` is the donate repository's #7: it alone is booked.
    booked = reply_to(
        fake_slack,
        apps_slack.command('schedule #7 app:donate tomorrow 14:00 for 30m "Drop email"'),
    )
    assert "Booked" in booked, booked
    short_id = booked.split("`")[1]
    wait_for(github, DONATE_REPO, donate, "pending", f"Booked as `{short_id}`")
    clock()  # the clock's catch-all rewrites every wish: still nothing for the site's #7
    assert status_of(github, SITE_REPO, site)["state"] == "failure"

    # Both repositories have an open #7: the command asks which.
    asked = reply_to(fake_slack, apps_slack.command('allow #7 "the column is unused"'))
    assert DONATE_REPO in asked and SITE_REPO in asked and "say which" in asked
    allowed = reply_to(
        fake_slack, apps_slack.command(f'allow {SITE_REPO}#7 "the column is unused"')
    )
    assert "Marked #7 routine" in allowed, allowed
    wait_for(github, SITE_REPO, site, "success", "Marked routine")
    assert status_of(github, DONATE_REPO, donate)["state"] == "pending"
