"""Freeze enforcement on GitHub: the `deploybot/freeze` commit status on open pull
requests, the signed webhook, outages and rate limits, against the fake GitHub API.

The bot runs in the test process (`start_bot`) pointed at FakeGitHub; the clock's tasks
run once in process (`tick()`, what `deploybot clock --once` runs). Webhook bodies are
shaped on octokit/webhooks' recorded payloads (tests/fixtures/external/octokit-webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from helpers import reply_to
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.container import build_container
from bot.freeze.model import PullRequestStatus
from bot.freeze.service import OtherFreeze, Unfrozen
from bot.settings import Settings
from support.db import Database
from support.fake_github import DEFAULT_TOKEN, FakeGitHub
from support.fake_slack import FakeSlack
from support.github_webhooks import pull_request_payload
from support.inprocess import InProcessBot
from support.slack_requests import ALICE, SignedClient

REPO = "mozilla/foundation.mozilla.org"
SECRET = "test-github-webhook-secret"
PUBLIC_URL = "https://deploybot.example.org"
CONTEXT = "deploybot/freeze"
PAYLOADS = (
    Path(__file__).resolve().parents[1]
    / "fixtures/external/octokit-webhooks/payload-examples/api.github.com"
)
STATUSES = f"/repos/{REPO}/statuses/"
PULLS = f"/repos/{REPO}/pulls"


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def github(fake_github: FakeGitHub) -> FakeGitHub:
    return fake_github


@pytest.fixture
def github_env(github: FakeGitHub) -> dict[str, str]:
    return {
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": DEFAULT_TOKEN,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "PUBLIC_URL": PUBLIC_URL,
    }


@pytest.fixture
def gh_bot(start_bot: Callable[..., InProcessBot], github_env: dict[str, str]) -> InProcessBot:
    return start_bot(**github_env)


@pytest.fixture
def slack(gh_bot: InProcessBot, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(gh_bot, fake_slack) as client:
        yield client


@pytest.fixture
def clock(gh_bot: InProcessBot) -> Callable[[], None]:
    """One tick of the clock's tasks, in this process, at the bot's time."""

    def tick() -> None:
        gh_bot.tick()

    return tick


# ------------------------------------------------------------------ helpers


def add_pulls(github: FakeGitHub, numbers: range | list[int], base: str = "master") -> list[str]:
    """Open pull requests; returns their head shas."""
    return [github.add_pull(REPO, n, title=f"PR {n}", base=base)["head"]["sha"] for n in numbers]


def latest(github: FakeGitHub, sha: str) -> dict[str, Any] | None:
    return github.latest_status(REPO, sha, CONTEXT)


def freeze_statuses(github: FakeGitHub, sha: str) -> list[dict[str, Any]]:
    return [s for s in github.statuses(REPO, sha) if s["context"] == CONTEXT]


def states(github: FakeGitHub, shas: list[str]) -> list[str | None]:
    return [(latest(github, sha) or {}).get("state") for sha in shas]


def wait_until(check: Callable[[], bool], timeout: float = 120.0) -> None:
    """Poll for an outcome the bot reaches asynchronously (after acknowledging).

    The deadline is generous on purpose: 130 statuses posted one by one on a loaded CI
    machine can take well over half a minute, and this is not a speed test."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.1)


def rows(engine: Engine) -> list[PullRequestStatus]:
    with Session(engine) as session:
        found = list(
            session.scalars(sa.select(PullRequestStatus).order_by(PullRequestStatus.number))
        )
        session.expunge_all()
        return found


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pr_payload(github: FakeGitHub, action: str, number: int) -> dict[str, Any]:
    """A pull_request delivery in GitHub's shape, about the fake's pull request."""
    return pull_request_payload(github, REPO, action, number)


def send_webhook(
    bot: InProcessBot,
    event: str,
    payload: dict[str, Any],
    *,
    delivery: str | None = None,
    signature: str | None = None,
    omit_signature: bool = False,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/a1b2c3d",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
    }
    if not omit_signature:
        headers["X-Hub-Signature-256"] = signature or sign(body)
    return httpx.post(f"{bot.base_url}/webhooks/github", content=body, headers=headers, timeout=10)


def freeze(slack: SignedClient, fake_slack: FakeSlack, reason: str = "ES mapping change") -> None:
    sent = slack.command(f"freeze {reason}")
    # The acknowledgement never waits for GitHub, whatever GitHub is doing.
    assert sent.elapsed < 3
    assert "Frozen" in reply_to(fake_slack, sent)


def unfreeze(slack: SignedClient, fake_slack: FakeSlack) -> None:
    sent = slack.command("unfreeze")
    assert sent.elapsed < 3
    assert "Unfrozen" in reply_to(fake_slack, sent)


# ------------------------------------------------------------------ statuses


def test_freeze_fails_every_open_pull_request_across_pages_and_unfreeze_passes_them(
    github: FakeGitHub, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    shas = add_pulls(github, range(1, 131))
    others = add_pulls(github, [500, 501], base="develop")

    freeze(slack, fake_slack, "reindexing search")
    wait_until(lambda: states(github, shas) == ["failure"] * 130)
    status = latest(github, shas[0]) or {}
    assert "reindexing search" in status["description"]
    assert status["target_url"] == f"{PUBLIC_URL}/api/freeze"
    # 130 pull requests take two pages of 100: the client followed the Link header.
    assert len(github.calls(f"GET {PULLS}*")) >= 2
    assert states(github, others) == [None, None]

    unfreeze(slack, fake_slack)
    wait_until(lambda: states(github, shas) == ["success"] * 130)
    assert states(github, others) == [None, None]
    # Marked synced just after GitHub took each one.
    wait_until(lambda: all(row.synced for row in rows(db_engine)))


def test_a_pull_request_opened_mid_freeze_gets_the_failure_and_closing_forgets_it(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    freeze(slack, fake_slack)
    wait_until(lambda: bool(github.calls(f"GET {PULLS}*")))

    [sha] = add_pulls(github, [7])
    answer = send_webhook(gh_bot, "pull_request", pr_payload(github, "opened", 7))
    assert answer.status_code == 200, answer.text
    wait_until(lambda: states(github, [sha]) == ["failure"])

    # New commits pushed: the new head needs the failure too.
    new_sha = github.update_pull(REPO, 7, head_sha="b" * 40)["head"]["sha"]
    send_webhook(gh_bot, "pull_request", pr_payload(github, "synchronize", 7))
    wait_until(lambda: states(github, [new_sha]) == ["failure"])
    assert [(r.number, r.head_sha, r.state) for r in rows(db_engine)] == [(7, new_sha, "failure")]

    github.close_pull(REPO, 7)
    send_webhook(gh_bot, "pull_request", pr_payload(github, "closed", 7))
    wait_until(lambda: rows(db_engine) == [])

    # Reopened while still frozen: failing again.
    github.update_pull(REPO, 7, state="open")
    send_webhook(gh_bot, "pull_request", pr_payload(github, "reopened", 7))
    # Counted in the freeze's context only: the deploy gate posts its own on the commit.
    wait_until(lambda: len(freeze_statuses(github, new_sha)) == 2)
    assert states(github, [new_sha]) == ["failure"]


def test_a_pull_request_opened_while_not_frozen_gets_a_passing_status(
    github: FakeGitHub, gh_bot: InProcessBot
) -> None:
    # Branch protection requires the check on every PR, so it must pass when unfrozen.
    [sha] = add_pulls(github, [8])
    send_webhook(gh_bot, "pull_request", pr_payload(github, "opened", 8))
    wait_until(lambda: states(github, [sha]) == ["success"])

    [other] = add_pulls(github, [9], base="develop")
    answer = send_webhook(gh_bot, "pull_request", pr_payload(github, "opened", 9))
    assert answer.status_code == 200
    github.assert_no_call(f"POST {STATUSES + other}*", within=0.5)


# ------------------------------------------------------------------ webhook security


def test_forged_or_missing_signatures_are_refused_and_change_nothing(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    freeze(slack, fake_slack)
    wait_until(lambda: bool(github.calls(f"GET {PULLS}*")))
    [sha] = add_pulls(github, [11])
    payload = pr_payload(github, "opened", 11)
    body = json.dumps(payload).encode()

    forged = send_webhook(gh_bot, "pull_request", payload, signature=sign(body, "wrong-secret"))
    missing = send_webhook(gh_bot, "pull_request", payload, omit_signature=True)
    # Signed, then tampered with: the signature no longer matches the bytes.
    tampered = send_webhook(gh_bot, "pull_request", {**payload, "number": 12}, signature=sign(body))
    malformed = send_webhook(gh_bot, "pull_request", payload, signature="sha1=abc")
    assert [r.status_code for r in (forged, missing, tampered, malformed)] == [401] * 4

    github.assert_no_call(f"POST {STATUSES + sha}*", within=0.5)
    assert rows(db_engine) == []
    assert count(db_engine, "processed_request") == 1  # the /deploy freeze command only


def test_a_replayed_delivery_does_the_work_once(
    github: FakeGitHub, gh_bot: InProcessBot, db_engine: Engine
) -> None:
    [sha] = add_pulls(github, [21])
    payload = pr_payload(github, "opened", 21)
    delivery = str(uuid.uuid4())
    first = send_webhook(gh_bot, "pull_request", payload, delivery=delivery)
    again = send_webhook(gh_bot, "pull_request", payload, delivery=delivery)
    assert (first.json()["result"], again.json()["result"]) == ("recorded", "duplicate")

    # Only the freeze's own context: the deploy gate (deploybot/deploy) posts its own.
    def freeze_status(call: Any) -> bool:
        return bool(call.body and call.body.get("context") == CONTEXT)

    first_post = github.wait_for(f"POST {STATUSES + sha}*", freeze_status)
    github.assert_no_call(
        f"POST {STATUSES + sha}*", lambda c: freeze_status(c) and c is not first_post, within=0.5
    )
    assert states(github, [sha]) == ["success"]
    assert len(rows(db_engine)) == 1


def test_ping_and_other_events(gh_bot: InProcessBot, db_engine: Engine) -> None:
    ping = json.loads((PAYLOADS / "ping/payload.json").read_text())
    assert send_webhook(gh_bot, "ping", ping).status_code == 200
    push = send_webhook(gh_bot, "push", {"ref": "refs/heads/master"})
    assert push.status_code == 202
    assert count(db_engine, "processed_request") == 0


def test_without_a_webhook_secret_the_endpoint_is_not_configured(bot: InProcessBot) -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    answer = httpx.post(
        f"{bot.base_url}/webhooks/github",
        content=body,
        headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(body)},
    )
    assert answer.status_code == 503
    assert "not configured" in answer.text


# ------------------------------------------------------------------ outages


def test_github_down_during_a_freeze_then_back_the_clock_sets_things_right(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    clock: Callable[[], None],
) -> None:
    shas = add_pulls(github, range(1, 6))
    github.set_down(True)
    freeze(slack, fake_slack)
    # The client tries four times, then gives up and leaves the sweep to the clock.
    github.wait_for_count(f"GET {PULLS}*", 4)
    assert gh_bot.wait_idle()  # the freeze's own tries are over
    github.set_down(False)
    assert states(github, shas) == [None] * 5

    clock()
    assert states(github, shas) == ["failure"] * 5

    github.set_down(True)
    unfreeze(slack, fake_slack)
    # The unfreeze knows which PRs it failed, so it tries to post success at once.
    github.wait_for_count(f"POST {STATUSES}*", 5 + 4)
    # Every try of the unfreeze's own is over (and refused) before GitHub is back.
    assert gh_bot.wait_idle()
    github.set_down(False)
    clock()
    assert states(github, shas) == ["success"] * 5
    assert all(row.synced for row in rows(db_engine))


def test_statuses_github_refused_to_take_are_kept_and_retried(
    github: FakeGitHub,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    clock: Callable[[], None],
) -> None:
    shas = add_pulls(github, [1, 2, 3])
    github.fail_next("POST /repos/*/statuses/*", 503, times=4)
    freeze(slack, fake_slack)
    github.wait_for_count(f"POST {STATUSES}*", 4)
    wait_until(lambda: any(row.last_error for row in rows(db_engine)))
    assert [row.synced for row in rows(db_engine)] == [False] * 3
    assert states(github, shas) == [None] * 3

    clock()
    assert states(github, shas) == ["failure"] * 3
    assert all(row.synced and row.last_error is None for row in rows(db_engine))


def test_rate_limits_are_waited_out_or_left_to_the_clock(
    github: FakeGitHub,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    clock: Callable[[], None],
) -> None:
    shas = add_pulls(github, [1, 2])
    # A short primary limit on the listing and a secondary limit on a status: waited out.
    github.fail_next("GET /repos/*/pulls", rate_limited=True, reset_in=1)
    github.fail_next("POST /repos/*/statuses/*", status=403, retry_after=1)
    freeze(slack, fake_slack)
    wait_until(lambda: states(github, shas) == ["failure"] * 2)
    listing = github.calls(f"GET {PULLS}*")
    assert [c.status for c in listing[:2]] == [403, 200]
    posts = github.calls(f"POST {STATUSES}*")
    assert posts[0].status == 403 and all(c.ok for c in posts[1:])

    # A limit an hour long is not waited out inside a request: the clock retries later.
    github.fail_next("POST /repos/*/statuses/*", rate_limited=True, reset_in=3600)
    unfreeze(slack, fake_slack)
    wait_until(lambda: any(row.last_error for row in rows(db_engine)))
    # The rate-limited status stays as it was (the other PR may already have turned green)
    # and its row waits, unsynced, for the clock.
    waiting = [row for row in rows(db_engine) if row.last_error]
    assert waiting and all(not row.synced for row in waiting)
    assert all((latest(github, row.head_sha) or {}).get("state") == "failure" for row in waiting)
    clock()
    assert states(github, shas) == ["success"] * 2


# ------------------------------------------------------------------ the lifecycle's entry points


def test_a_booking_freeze_exempts_its_own_pull_requests(
    github: FakeGitHub,
    gh_bot: InProcessBot,
    github_env: dict[str, str],
    fake_slack: FakeSlack,
    db_backend: Database,
    db_engine: Engine,
) -> None:
    shas = add_pulls(github, [1, 2, 3])
    settings = Settings(
        database_url=db_backend.url,
        slack_bot_token="xoxb-test-token",
        slack_api_url=fake_slack.base_url,
        deploy_channel="C0DEPLOY",
        github_repo=REPO,
        github_token=github_env["GITHUB_TOKEN"],
        github_api_url=github_env["GITHUB_API_URL"],
    )
    container = build_container(settings)
    freezes = container.booking_freezes
    try:
        freezes.freeze_for_booking(
            user_id=ALICE,
            booking_short_id="B7K2Q",
            reason="ES mapping change",
            exempt_pulls=[2],
        )
        assert states(github, shas) == ["failure", "success", "failure"]
        assert "B7K2Q" in (latest(github, shas[1]) or {})["description"]
        notice = fake_slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "C0DEPLOY")
        assert "B7K2Q" in notice.all_text() and "#2" in notice.all_text()
        assert httpx.get(f"{gh_bot.base_url}/api/freeze").json()["booking"] == "B7K2Q"

        # A push to the exempt PR keeps it mergeable.
        new_sha = github.update_pull(REPO, 2, head_sha="c" * 40)["head"]["sha"]
        send_webhook(gh_bot, "pull_request", pr_payload(github, "synchronize", 2))
        wait_until(lambda: states(github, [new_sha]) == ["success"])

        # Another booking's end does not lift this freeze.
        other = freezes.unfreeze_for_booking(booking_short_id="ZZZZZ")
        assert isinstance(other, OtherFreeze)
        assert states(github, shas) == ["failure", "success", "failure"]

        done = freezes.unfreeze_for_booking(booking_short_id="B7K2Q")
        assert isinstance(done, Unfrozen)
        assert states(github, [shas[0], new_sha, shas[2]]) == ["success"] * 3
    finally:
        container.database.dispose()
        container.github.close()
