"""The `deploybot/deploy` commit status over HTTP: signed pull_request deliveries to the
real bot, which reads the pull request's files and migrations from the GitHub fake (in
GitHub's wire format), analyses them and sets the status; the status then follows the
booking made, approved, started and landed through Slack.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from helpers import announcement, book, reply_to
from sqlalchemy.engine import Engine

from bot.booking.model import Booking
from bot.booking.rules import Status
from gate.migrations import ADD_NICKNAME, REMOVE_EMAIL
from gate.support import (
    CONTEXT,
    PUBLIC_URL,
    REPO,
    deliver,
    open_pull,
    payload,
    push,
    wait_for_status,
    wait_until,
)
from support.fake_github import FakeGitHub
from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import ALICE, BOB, SignedClient

MIGRATION = "people/migrations/0002_change.py"
DEPLOY_CHANNEL = "C0DEPLOY"


@pytest.fixture
def github_env(github_env: dict[str, str]) -> dict[str, str]:
    return {**github_env, "ES_MAPPING_PATHS": "search/mappings/*"}


def command(slack: SignedClient, fake_slack: FakeSlack, text: str, user_id: str = ALICE) -> str:
    return reply_to(fake_slack, slack.command(text, user_id=user_id))


def tricky_messages(fake_slack: FakeSlack, method: str = "chat.postMessage") -> list[Any]:
    return [
        call
        for call in fake_slack.calls(method)
        if call.get("channel") == DEPLOY_CHANNEL and "needs a booked, approved" in call.all_text()
    ]


def files_calls(github: FakeGitHub, number: int) -> int:
    return len(github.calls(f"GET /repos/{REPO}/pulls/{number}/files*"))


# ------------------------------------------------------------------ routine and tricky


def test_a_routine_pull_request_is_green_within_seconds(
    github: FakeGitHub, gh_bot: InProcessBot, fake_slack: FakeSlack
) -> None:
    sha = open_pull(github, 41, {MIGRATION: ADD_NICKNAME, "people/models.py": b"# changed\n"})
    answer = deliver(gh_bot, payload(github, "opened", 41))
    assert answer.status_code == 200, answer.text

    status = wait_for_status(github, sha, "success", "No backward-incompatible migration")
    assert status["target_url"] == f"{PUBLIC_URL}/pulls/{REPO}/41"
    assert status["context"] == CONTEXT
    # The changed migration was read at the head commit, the earlier one at the base.
    contents = github.calls(f"GET /repos/{REPO}/contents/*")
    assert any(c.params.get("ref") == sha and c.path.endswith(MIGRATION) for c in contents)
    base = github.base_sha(REPO, 41)
    assert any(c.params.get("ref") == base and "0001_initial" in c.path for c in contents)
    assert tricky_messages(fake_slack) == []


def test_a_tricky_pull_request_fails_with_the_command_and_is_announced_once(
    github: FakeGitHub, gh_bot: InProcessBot, fake_slack: FakeSlack, slack: SignedClient
) -> None:
    sha = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL}, user_login="dev-dana")
    deliver(gh_bot, payload(github, "opened", 123))

    status = wait_for_status(github, sha, "failure", "RemoveField person.email")
    assert "/deploy schedule #123" in status["description"]
    wait_until(lambda: len(tricky_messages(fake_slack)) == 1)
    [message] = tricky_messages(fake_slack)
    text = message.all_text()
    assert "dev-dana" in text and "RemoveField" in text and "person.email" in text
    [book_it] = [
        element
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "gate_book_it"
    ]

    # The page the status links to shows the whole analysis, escaped.
    page = httpx.get(f"{gh_bot.base_url}/pulls/{REPO}/123", timeout=10)
    assert page.status_code == 200
    assert "RemoveField" in page.text and MIGRATION in page.text

    # A repeated delivery (same head commit) neither fetches nor parses again, nor posts.
    before = files_calls(github, 123)
    since = time.time()
    assert deliver(gh_bot, payload(github, "reopened", 123)).json()["gate"] == "recorded"
    deliver(gh_bot, payload(github, "opened", 123))
    github.assert_no_call(
        f"GET /repos/{REPO}/pulls/123/files*", predicate=lambda c: c.time > since, within=1.5
    )
    assert files_calls(github, 123) == before
    assert len(tricky_messages(fake_slack)) == 1

    # Book it opens the booking modal with the PR and the kind filled in.
    slack.click(message, "gate_book_it", book_it["value"], user_id=ALICE)
    opened = fake_slack.wait_for("views.open")
    view = opened.get("view")
    blocks = {block.get("block_id"): block for block in view["blocks"]}
    assert blocks["pull_requests"]["element"]["initial_value"] == "#123"
    assert blocks["kind"]["element"]["initial_option"]["value"] == "migration"

    # A new push is analysed afresh, and the message is updated, not posted again.
    new_sha = push(github, 123, {MIGRATION: ADD_NICKNAME})
    deliver(gh_bot, payload(github, "synchronize", 123))
    wait_for_status(github, new_sha, "success", "No backward-incompatible migration")
    fake_slack.wait_for(
        "chat.update", lambda c: c.get("ts") == message.response["ts"] and "routine" in c.all_text()
    )
    assert len(tricky_messages(fake_slack)) == 1


# ------------------------------------------------------------------ following the booking


def test_the_status_walks_with_the_booking_from_failure_to_landed(
    github: FakeGitHub,
    slack: SignedClient,
    gh_bot: InProcessBot,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    sha = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL})
    deliver(gh_bot, payload(github, "opened", 123))
    wait_for_status(github, sha, "failure", "/deploy schedule #123")

    booked = book(slack, fake_slack, db_engine, when="in 15 minutes")
    wait_for_status(github, sha, "pending", f"Booked as `{booked.short_id}`")

    command(slack, fake_slack, f"ready {booked.short_id}")
    wait_for_status(github, sha, "pending", f"`{booked.short_id}` awaiting approval")

    posted = announcement(fake_slack, booked.short_id)
    # The announcement shows the operations the approvers approve.
    assert "RemoveField" in posted.all_text()
    slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
    wait_for_status(github, sha, "pending", f"`{booked.short_id}` approved, starts at")

    gh_bot.clock.advance(minutes=15)  # the booked start
    assert "is deploying" in command(slack, fake_slack, f"start {booked.short_id}")
    wait_for_status(github, sha, "success", f"deploying `{booked.short_id}` now: merge it")

    assert "landed" in command(slack, fake_slack, f"done {booked.short_id}")
    wait_for_status(github, sha, "success", f"Deploy `{booked.short_id}` landed")


def booked_tricky_pull(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> tuple[str, Booking]:
    """PR #123 drops a column (its status fails), then is booked for tomorrow (pending):
    its head commit and the booking."""
    sha = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL})
    deliver(gh_bot, payload(github, "opened", 123))
    wait_for_status(github, sha, "failure")
    booked = book(slack, fake_slack, db_engine, when="tomorrow 14:00")
    wait_for_status(github, sha, "pending", "Booked as")
    return sha, booked


def test_cancelling_the_booking_fails_the_pull_request_again(
    github: FakeGitHub,
    slack: SignedClient,
    gh_bot: InProcessBot,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    sha, booked = booked_tricky_pull(github, gh_bot, slack, fake_slack, db_engine)
    assert "Cancelled" in command(slack, fake_slack, f"cancel {booked.short_id}")
    wait_for_status(github, sha, "failure", "/deploy schedule #123")


def test_a_booking_changed_in_a_savepoint_posts_its_status_at_the_commit(
    github: FakeGitHub,
    slack: SignedClient,
    gh_bot: InProcessBot,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    # SQLAlchemy dispatches after_commit when a savepoint is released too: the gate used
    # to post the statuses then, before the real commit (from state no other connection
    # could see), and the real commit posted nothing: the status waited for the clock.
    sha, booked = booked_tricky_pull(github, gh_bot, slack, fake_slack, db_engine)
    statuses = f"POST /repos/{REPO}/statuses/{sha}*"
    with gh_bot.container.database.transaction() as session:
        booking = session.get(Booking, booked.id)
        assert booking is not None
        with session.begin_nested():
            booking.status = Status.CANCELLED.value
        # Not posted while the cancellation is not committed.
        since = time.time()
        github.assert_no_call(statuses, predicate=lambda c: c.time > since, within=1.5)
    # Posted by the commit itself, not left for the clock.
    wait_for_status(github, sha, "failure", "/deploy schedule #123", timeout=15)


def test_a_savepoint_rolled_back_keeps_the_booking_changed_outside_it(
    github: FakeGitHub,
    slack: SignedClient,
    gh_bot: InProcessBot,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    # after_rollback runs for a savepoint too: the gate used to forget then what the
    # transaction had changed before it, and the commit refreshed and posted nothing.
    sha, booked = booked_tricky_pull(github, gh_bot, slack, fake_slack, db_engine)
    with gh_bot.container.database.transaction() as session:
        booking = session.get(Booking, booked.id)
        assert booking is not None
        booking.status = Status.CANCELLED.value
        session.flush()
        session.begin_nested().rollback()
    wait_for_status(github, sha, "failure", "/deploy schedule #123", timeout=15)


def test_the_kind_of_a_booking_defaults_from_the_analysis(
    github: FakeGitHub,
    slack: SignedClient,
    gh_bot: InProcessBot,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    sha = open_pull(github, 123, {"search/mappings/person.json": b"{}"})
    deliver(gh_bot, payload(github, "opened", 123))
    wait_for_status(github, sha, "failure", "ES mapping change")
    booked = book(slack, fake_slack, db_engine, when="tomorrow 14:00")
    assert booked.kind == "es_mapping"
    chosen = book(slack, fake_slack, db_engine, when="tomorrow 18:00", extra="kind:other")
    assert chosen.kind == "other"


def test_a_plan_step_waits_for_the_step_before_it_to_land(
    github: FakeGitHub,
    slack: SignedClient,
    gh_bot: InProcessBot,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    step_one = open_pull(github, 200, {"people/models.py": b"# stop using email\n"})
    step_two = open_pull(github, 201, {MIGRATION: REMOVE_EMAIL})
    deliver(gh_bot, payload(github, "opened", 200))
    deliver(gh_bot, payload(github, "opened", 201))
    wait_for_status(github, step_one, "success")
    wait_for_status(github, step_two, "failure", "/deploy schedule #201")

    answer = command(slack, fake_slack, 'plan remove #200 #201 in 15 minutes for 30m "Email"')
    assert "Plan `" in answer
    with db_engine.connect() as connection:
        first, second = connection.execute(
            sa.text(
                "SELECT b.short_id FROM booking b JOIN plan_step s ON s.booking_id = b.id "
                "ORDER BY s.step"
            )
        ).scalars()
    wait_for_status(github, step_two, "pending", f"waits for step 1 (`{first}`) to land")

    command(slack, fake_slack, f"ready {first}")
    posted = announcement(fake_slack, first)
    slack.click(posted, "approval_approve", f"{first}:0", user_id=BOB)
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    gh_bot.clock.advance(minutes=15)  # step 1's booked start
    assert "is deploying" in command(slack, fake_slack, f"start {first}")
    assert "landed" in command(slack, fake_slack, f"done {first}")
    # Step 1 landed: step 2 now only waits for its own approval and slot.
    wait_for_status(github, step_two, "pending", f"Booked as `{second}`")


def test_a_new_base_is_read_afresh(github: FakeGitHub, gh_bot: InProcessBot) -> None:
    sha = open_pull(github, 210, {MIGRATION: ADD_NICKNAME})
    deliver(gh_bot, payload(github, "opened", 210))
    wait_for_status(github, sha, "success")
    before = files_calls(github, 210)

    # Retargeted at another branch: no longer held by the gate.
    github.update_pull(REPO, 210, base="develop")
    edited = payload(github, "edited", 210)
    edited["changes"] = {"base": {"ref": {"from": "master"}, "sha": {"from": "0" * 40}}}
    assert deliver(gh_bot, edited).json()["gate"] == "forgotten"

    # Back to master, which has moved on meanwhile (another PR merged): analysed again
    # against the new base commit.
    github.add_pull(REPO, 211, title="Meanwhile")
    github.close_pull(REPO, 211, merged=True)
    github.update_pull(REPO, 210, base="master")
    github.set_tree(REPO, github.base_sha(REPO, 210), {})
    edited = payload(github, "edited", 210)
    edited["changes"] = {"base": {"ref": {"from": "develop"}, "sha": {"from": "1" * 40}}}
    assert deliver(gh_bot, edited).json()["gate"] == "recorded"
    wait_until(lambda: files_calls(github, 210) > before)

    # A title edit changes nothing.
    retitled = payload(github, "edited", 210)
    retitled["changes"] = {"title": {"from": "old"}}
    assert deliver(gh_bot, retitled).json()["gate"] == "ignored"
