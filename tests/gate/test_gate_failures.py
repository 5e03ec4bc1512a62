"""The gate when things go wrong or are odd: GitHub failing or rate limiting (recovered by
the clock), huge pull requests, unreadable and deleted migrations, forks, forged
deliveries; and `/deploy allow`."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa
from helpers import outbox_refuses, outbox_texts, reply_to
from sqlalchemy.engine import Engine

from gate.migrations import ADD_NICKNAME, BROKEN, NOT_UTF8, REMOVE_EMAIL
from gate.support import (
    REPO,
    deliver,
    deploy_status,
    open_pull,
    payload,
    push,
    sign,
    wait_for_status,
    wait_until,
)
from support.fake_github import FakeGitHub
from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, SignedClient

MIGRATION = "people/migrations/0002_change.py"
DEPLOY_CHANNEL = "C0DEPLOY"


def command(slack: SignedClient, fake_slack: FakeSlack, text: str, user_id: str = ALICE) -> str:
    return reply_to(fake_slack, slack.command(text, user_id=user_id))


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


# ------------------------------------------------------------------ GitHub failing


def test_github_down_while_reading_leaves_it_pending_and_the_clock_finishes(
    github: FakeGitHub, gh_bot: InProcessBot, clock: Callable[[], None]
) -> None:
    sha = open_pull(github, 50, {MIGRATION: REMOVE_EMAIL})
    # Every attempt the client makes at listing the files fails with a 5xx.
    github.fail_next(f"GET /repos/{REPO}/pulls/50/files", 503, times=100)
    answer = deliver(gh_bot, payload(github, "opened", 50))
    assert answer.status_code == 200
    wait_for_status(github, sha, "pending", "retrying")

    github.clear_faults()
    clock()
    wait_for_status(github, sha, "failure", "RemoveField person.email")


def test_a_rate_limit_is_waited_out_by_the_clock(
    github: FakeGitHub, gh_bot: InProcessBot, clock: Callable[[], None]
) -> None:
    sha = open_pull(github, 51, {MIGRATION: ADD_NICKNAME})
    # The primary rate limit, resetting in an hour: too long to wait inside a request.
    github.fail_next("GET /repos/*/contents/*", 429, rate_limited=True, reset_in=3600)
    deliver(gh_bot, payload(github, "opened", 51))
    wait_for_status(github, sha, "pending", "rate limited")
    clock()
    wait_for_status(github, sha, "success", "No backward-incompatible migration")


def test_a_status_github_fails_to_take_is_posted_by_the_clock(
    github: FakeGitHub, gh_bot: InProcessBot, clock: Callable[[], None]
) -> None:
    sha = open_pull(github, 52, {MIGRATION: ADD_NICKNAME})
    github.fail_next(f"POST /repos/{REPO}/statuses/{sha}", 502, times=100)
    deliver(gh_bot, payload(github, "opened", 52))
    # The client's own retries (four attempts) all fail; the wish stays unsynced.
    wait_until(lambda: len(github.calls(f"POST /repos/{REPO}/statuses/{sha}*")) >= 4)
    assert deploy_status(github, sha) == {}

    github.clear_faults()
    clock()
    wait_for_status(github, sha, "success")


def test_a_pull_request_github_will_not_show_fails_closed_saying_why(
    github: FakeGitHub, gh_bot: InProcessBot
) -> None:
    sha = open_pull(github, 53, {MIGRATION: ADD_NICKNAME})
    github.fail_next(f"GET /repos/{REPO}/pulls/53/files", 404)
    deliver(gh_bot, payload(github, "opened", 53))
    status = wait_for_status(github, sha, "failure", "404")
    assert "/deploy allow #53" in status["description"]


# ------------------------------------------------------------------ odd pull requests


def test_a_huge_pull_request_is_read_as_far_as_github_lists_and_needs_review(
    github: FakeGitHub, gh_bot: InProcessBot
) -> None:
    head = github.add_pull(REPO, 60, title="Vendored assets")
    github.set_pull_files(REPO, 60, {MIGRATION: ADD_NICKNAME}, extra_unchanged=3200)
    sha = head["head"]["sha"]
    deliver(gh_bot, payload(github, "opened", 60))
    status = wait_for_status(github, sha, "failure", "Needs review", timeout=120)
    assert "/deploy schedule #60" in status["description"]
    # 30 pages of 100: GitHub's cap, followed through the Link headers.
    assert len(github.calls(f"GET /repos/{REPO}/pulls/60/files*")) == 30
    page = _page(gh_bot, 60)
    assert "first 3,000 files" in page


@pytest.mark.parametrize(
    ("source", "why"),
    [(NOT_UTF8, "not UTF-8"), (BROKEN, "syntax error")],
    ids=["non-utf8", "syntax-error"],
)
def test_an_unreadable_migration_needs_review(
    github: FakeGitHub, gh_bot: InProcessBot, source: bytes, why: str
) -> None:
    sha = open_pull(github, 61, {MIGRATION: source})
    deliver(gh_bot, payload(github, "opened", 61))
    wait_for_status(github, sha, "failure", "Needs review")
    assert why in _page(gh_bot, 61)


def test_a_migration_deleted_by_the_pull_request_needs_review(
    github: FakeGitHub, gh_bot: InProcessBot
) -> None:
    sha = open_pull(github, 62, {"people/migrations/0001_initial.py": None})
    deliver(gh_bot, payload(github, "opened", 62))
    wait_for_status(github, sha, "failure", "Needs review")
    assert "deleted" in _page(gh_bot, 62)


def test_a_pull_request_from_a_fork_is_read_from_the_base_repository(
    github: FakeGitHub, gh_bot: InProcessBot
) -> None:
    sha = open_pull(github, 63, {MIGRATION: REMOVE_EMAIL})
    data = payload(github, "opened", 63)
    data["pull_request"]["head"]["repo"]["full_name"] = "someone/foundation.mozilla.org"
    data["pull_request"]["head"]["label"] = "someone:remove-email"
    deliver(gh_bot, data)
    wait_for_status(github, sha, "failure", "RemoveField person.email")
    assert not [c for c in github.calls() if "someone/" in c.path]


def test_a_forged_delivery_changes_nothing(
    github: FakeGitHub, gh_bot: InProcessBot, db_engine: Engine
) -> None:
    sha = open_pull(github, 64, {MIGRATION: REMOVE_EMAIL})
    forged = deliver(gh_bot, payload(github, "opened", 64), signature=sign(b"other", "wrong"))
    assert forged.status_code == 401
    github.assert_no_call(f"GET /repos/{REPO}/pulls/64/files*", within=1.0)
    assert count(db_engine, "pr_gate") == 0
    assert deploy_status(github, sha) == {}


def test_a_pull_request_against_another_branch_is_left_alone(
    github: FakeGitHub, gh_bot: InProcessBot, db_engine: Engine
) -> None:
    sha = open_pull(github, 65, {MIGRATION: REMOVE_EMAIL}, base="develop")
    answer = deliver(gh_bot, payload(github, "opened", 65))
    assert answer.json()["gate"] == "forgotten"
    github.assert_no_call(f"GET /repos/{REPO}/pulls/65/files*", within=1.0)
    assert deploy_status(github, sha) == {}


# ------------------------------------------------------------------ /deploy allow


def test_an_approver_allows_a_pull_request_until_its_next_push(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    sha = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL})
    deliver(gh_bot, payload(github, "opened", 123))
    wait_for_status(github, sha, "failure")

    allow = 'allow #123 "the column was never used"'
    # The channel's notice cannot be recorded: the allowance must not stand without it,
    # as both are recorded in one transaction (docs/adr/0019).
    with outbox_refuses(db_engine, "routine"):
        assert "Marked" not in command(slack, fake_slack, allow, user_id=BOB)
        assert count(db_engine, "audit_log") == 0
        with db_engine.connect() as connection:
            assert (
                connection.execute(
                    sa.text("SELECT allowed_by FROM pr_gate WHERE number = 123")
                ).scalar_one()
                is None
            )
    assert outbox_texts(db_engine, "routine") == []

    reply = command(slack, fake_slack, allow, user_id=BOB)
    assert "Marked #123 routine" in reply
    status = wait_for_status(github, sha, "success", "Marked routine by")
    assert "the column was never used" in status["description"]
    fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and "marked" in c.all_text(),
    )
    with db_engine.connect() as connection:
        actions = connection.execute(
            sa.text("SELECT actor_id, action, reason FROM audit_log WHERE entity_id = :e"),
            {"e": f"{REPO}#123"},
        ).all()
    assert [(a.action, a.reason) for a in actions] == [
        ("pull_request.allowed", "the column was never used")
    ]
    [notice] = outbox_texts(db_engine, "routine")
    assert "the column was never used" in notice

    # A new push ends it: the new head is judged again.
    new_sha = push(github, 123, {MIGRATION: REMOVE_EMAIL})
    deliver(gh_bot, payload(github, "synchronize", 123))
    wait_for_status(github, new_sha, "failure", "RemoveField")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("allow", "Say which pull request and why"),
        ("allow #123", "Say why it is safe"),
        ('allow #999 "fine"', "I don't know of an open pull request #999"),
    ],
)
def test_allow_with_bad_input_says_how_and_stores_nothing(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine, text: str, answer: str
) -> None:
    reply = command(slack, fake_slack, text, user_id=BOB)
    assert answer in reply
    assert "/deploy allow #123" in reply
    assert count(db_engine, "audit_log") == 0


def test_only_approvers_may_allow(
    start_bot: Callable[..., BotProcess],
    github_env: dict[str, str],
    github: FakeGitHub,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    process = start_bot(**github_env, APPROVER_USERGROUP="S0APPROVERS")
    fake_slack.set_usergroup("S0APPROVERS", [BOB])
    sha = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL})
    deliver(process, payload(github, "opened", 123))
    wait_for_status(github, sha, "failure")
    with SignedClient.for_bot(process, fake_slack) as client:
        reply = command(client, fake_slack, 'allow #123 "trust me"', user_id=ALICE)
    assert "Only approvers" in reply
    assert count(db_engine, "audit_log") == 0


def _page(bot: BotProcess, number: int) -> str:
    response = httpx.get(f"{bot.base_url}/pulls/{REPO}/{number}", timeout=10)
    assert response.status_code == 200
    return response.text
