"""Deploys followed from real events, over HTTP: GitHub `pull_request` deliveries (octokit's
recorded payloads) and Heroku `api:release` deliveries (zulip's recorded payloads), signed
as GitHub and Heroku sign them, against the fake GitHub's compare API.

Book, approve, start, merge, release → landed or failed without anyone typing; the manual
commands agree with the events; out-of-order and repeated deliveries; an unbooked tricky
merge raises the alert; a GitHub outage is waited out by the clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from gate.migrations import REMOVE_EMAIL
from gate.support import REPO, deliver, open_pull, payload, wait_for_status, wait_until
from helpers import DEPLOY_CHANNEL, approve, audit, book, booking, outbox_refuses, reply_to
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.releases.model import DeployAlert, HerokuRelease
from support.fake_github import DEFAULT_TOKEN, FakeGitHub
from support.fake_slack import FakeSlack, SlackCall
from support.inprocess import InProcessBot
from support.slack_requests import ALICE, CAROL, SignedClient

HEROKU_SECRET = "test-heroku-webhook-secret"
PRODUCTION_APP = "foundation-site"  # DEFAULT_APP: the booked name is the Heroku app
MIGRATION = "people/migrations/0002_remove_email.py"
ZULIP = (
    Path(__file__).resolve().parents[1] / "fixtures/external/zulip/zerver/webhooks/heroku/fixtures"
)


@pytest.fixture
def github(fake_github: FakeGitHub) -> FakeGitHub:
    return fake_github


def bot_env(github: FakeGitHub) -> dict[str, str]:
    return {
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": DEFAULT_TOKEN,
        "GITHUB_WEBHOOK_SECRET": "test-github-webhook-secret",
        "HEROKU_WEBHOOK_SECRET": HEROKU_SECRET,
        "RELEASE_NOTES": "true",
    }


@pytest.fixture
def bot(start_bot: Callable[..., InProcessBot], github: FakeGitHub) -> InProcessBot:
    return start_bot(**bot_env(github))


@pytest.fixture
def slack(bot: InProcessBot, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(bot, fake_slack) as client:
        yield client


# ------------------------------------------------------------------ deliveries


def release_body(
    status: str, version: int, commit: str, *, app: str = PRODUCTION_APP, slug: bool = True
) -> dict[str, Any]:
    """zulip's recorded `api:release` update, aimed at our app and commit."""
    fixture = "release_update.json" if status == "succeeded" else "release_failed.json"
    body: dict[str, Any] = json.loads((ZULIP / fixture).read_bytes())
    body["data"]["app"]["name"] = app
    body["data"]["status"] = status
    body["data"]["version"] = version
    if slug:
        body["data"]["slug"]["commit"] = commit
    else:
        body["data"]["slug"] = None
    body["data"]["description"] = f"Deploy {commit[:8]}"
    body["webhook_metadata"]["delivery"]["id"] = str(uuid.uuid4())
    return body


def send_release(
    bot: InProcessBot, body: dict[str, Any], *, secret: str = HEROKU_SECRET
) -> httpx.Response:
    raw = json.dumps(body).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return httpx.post(
        f"{bot.base_url}/webhooks/heroku",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "Heroku-Webhook-Hmac-SHA256": signature,
            "Heroku-Webhook-Id": body["webhook_metadata"]["delivery"]["id"],
        },
        timeout=10,
    )


def merge(github: FakeGitHub, bot: InProcessBot, number: int) -> str:
    """Merge the fake's PR and deliver GitHub's `closed` (merged) event; the merge sha."""
    merged = github.close_pull(REPO, number, merged=True, merged_by="dev-dana")
    answer = deliver(bot, payload(github, "closed", number))
    assert answer.status_code == 200, answer.text
    return str(merged["merge_commit_sha"])


def command(slack: SignedClient, fake_slack: FakeSlack, text: str, user_id: str = ALICE) -> str:
    return reply_to(fake_slack, slack.command(text, user_id=user_id))


def started_migration(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    engine: Engine,
) -> str:
    """PR #123 (a tricky migration) analysed, booked, approved and started."""
    sha = open_pull(github, 123, {MIGRATION: REMOVE_EMAIL}, user_login="dev-dana")
    deliver(bot, payload(github, "opened", 123))
    wait_for_status(github, sha, "failure", "RemoveField")
    booked = book(slack, fake_slack, engine, when="in 15 minutes", extra="kind:migration")
    approve(slack, fake_slack, booked.short_id)
    bot.clock.advance(minutes=15)  # the bot's time reaches the slot's start window
    assert "is deploying" in command(slack, fake_slack, f"start {booked.short_id}")
    return booked.short_id


def status_of(engine: Engine, short_id: str) -> str:
    return booking(engine, short_id).status


def releases(engine: Engine) -> list[HerokuRelease]:
    with Session(engine) as session:
        rows = list(session.scalars(sa.select(HerokuRelease).order_by(HerokuRelease.version)))
        session.expunge_all()
        return rows


def channel_posts(fake_slack: FakeSlack, words: str) -> list[SlackCall]:
    return [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.get("channel") == DEPLOY_CHANNEL and words in c.all_text()
    ]


# ------------------------------------------------------------------ the lifecycle


def test_merge_then_a_succeeded_release_lands_the_booking_and_done_is_a_no_op(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    merge_sha = merge(github, bot, 123)
    assert any(
        e.action == "booking.merged" and merge_sha[:7] in (e.reason or "")
        for e in audit(db_engine, short_id)
    )

    answer = send_release(bot, release_body("succeeded", 42, github.branch_sha(REPO)))
    assert answer.status_code == 200 and answer.json()["status"] == "recorded"
    wait_until(lambda: status_of(db_engine, short_id) == "landed", timeout=20)

    landed = fake_slack.wait_for(
        "chat.postMessage",
        lambda c: "landed" in c.all_text() and "Heroku release v42" in c.all_text(),
    )
    assert short_id in landed.all_text()
    # The compare API told the bot the release contains the merge commit.
    assert github.calls(f"GET /repos/{REPO}/compare/{merge_sha}...*")
    # One release note, threaded under the announcement.
    notes = fake_slack.wait_for(
        "chat.postMessage", lambda c: "v42" in c.all_text() and "PRs: #123" in c.all_text()
    )
    assert notes.get("thread_ts") == booking(db_engine, short_id).announcement_ts
    fake_slack.wait_for("chat.update", lambda c: "Landed" in c.all_text())

    # The manual command afterwards agrees: a no-op that says what moved it.
    late = command(slack, fake_slack, f"done {short_id}")
    assert "already landed" in late and "Heroku release v42" in late
    history = [e.action for e in audit(db_engine, short_id)]
    assert history.count("booking.landed") == 1


def test_a_failed_release_fails_the_booking_with_the_checklist_output_and_who_to_call(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    merge(github, bot, 123)
    send_release(bot, release_body("failed", 43, github.branch_sha(REPO)))
    wait_until(lambda: status_of(db_engine, short_id) == "failed", timeout=20)

    notice = fake_slack.wait_for("chat.postMessage", lambda c: "Rollback checklist" in c.all_text())
    text = notice.all_text()
    assert notice.get("thread_ts") == booking(db_engine, short_id).announcement_ts
    assert "Heroku release v43" in text
    assert "dashboard.heroku.com/apps/foundation-site/activity/releases/" in text
    assert f"<@{ALICE}>" in text  # who to call: the requester
    # `/deploy failed` afterwards is a no-op that says so.
    assert "already failed" in command(slack, fake_slack, f"failed {short_id}")


def test_after_the_deploy_channel_moves_the_threads_stay_in_the_announcements_channel(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    start_bot: Callable[..., InProcessBot],
    db_engine: Engine,
) -> None:
    short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    announced = booking(db_engine, short_id)
    assert announced.announcement_channel == DEPLOY_CHANNEL and announced.announcement_ts
    # Restarted with another DEPLOY_CHANNEL while the deploy runs.
    bot.stop()
    moved = start_bot(**bot_env(github), DEPLOY_CHANNEL="C0MOVED", clock=bot.clock)
    merge(github, moved, 123)
    send_release(moved, release_body("failed", 43, github.branch_sha(REPO)))
    wait_until(lambda: status_of(db_engine, short_id) == "failed", timeout=20)

    # The rollback checklist and the release notes go to the announcement's thread, in
    # the channel the announcement is in: the thread does not exist in the new one.
    rollback = fake_slack.wait_for(
        "chat.postMessage", lambda c: "Rollback checklist" in c.all_text()
    )
    notes = fake_slack.wait_for(
        "chat.postMessage", lambda c: "v43" in c.all_text() and "PRs: #123" in c.all_text()
    )
    thread = (announced.announcement_channel, announced.announcement_ts)
    assert (rollback.get("channel"), rollback.get("thread_ts")) == thread
    assert (notes.get("channel"), notes.get("thread_ts")) == thread
    assert rollback.ok and notes.ok
    # The announcement itself is updated where it is.
    update = fake_slack.wait_for("chat.update", lambda c: "Failed" in c.all_text())
    assert (update.get("channel"), update.get("ts")) == thread
    # Nothing went to the new channel with a ts from the old one.
    assert [
        c for c in fake_slack.calls() if c.get("channel") == "C0MOVED" and c.get("thread_ts")
    ] == []


def test_an_es_change_released_after_the_channel_moved_is_told_in_its_thread(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    start_bot: Callable[..., InProcessBot],
    db_engine: Engine,
) -> None:
    github.add_pull(REPO, 123, title="New search mapping")
    booked = book(slack, fake_slack, db_engine, when="in 15 minutes", extra='kind:es "Mapping"')
    approve(slack, fake_slack, booked.short_id)
    bot.clock.advance(minutes=15)
    assert "is deploying" in command(slack, fake_slack, f"start {booked.short_id}")
    announced = booking(db_engine, booked.short_id)
    bot.stop()
    moved = start_bot(**bot_env(github), DEPLOY_CHANNEL="C0MOVED", clock=bot.clock)
    merge(github, moved, 123)
    send_release(moved, release_body("succeeded", 60, github.branch_sha(REPO)))

    note = fake_slack.wait_for(
        "chat.postMessage", lambda c: "finish the runbook checklist" in c.all_text()
    )
    assert note.ok
    assert (note.get("channel"), note.get("thread_ts")) == (
        announced.announcement_channel,
        announced.announcement_ts,
    )


def test_done_typed_first_makes_the_release_a_no_op(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    merge(github, bot, 123)
    assert "landed" in command(slack, fake_slack, f"done {short_id}")
    send_release(bot, release_body("succeeded", 44, github.branch_sha(REPO)))
    wait_until(lambda: not releases(db_engine)[0].due, timeout=20)
    assert releases(db_engine)[0].outcome == "no booking"
    assert [e.action for e in audit(db_engine, short_id)].count("booking.landed") == 1
    assert channel_posts(fake_slack, "Heroku release v44") == []


# ------------------------------------------------------------------ reliability


def test_a_release_before_its_merge_lands_the_booking_when_the_merge_arrives(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    merged = github.close_pull(REPO, 123, merged=True, merged_by="dev-dana")
    body = release_body("succeeded", 45, str(merged["merge_commit_sha"]))
    assert send_release(bot, body).status_code == 200
    bot.tick()  # the clock too waits for the merge
    assert status_of(db_engine, short_id) == "deploying"
    assert releases(db_engine)[0].due

    # Heroku retries the same delivery: recorded once.
    again = send_release(bot, body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"

    deliver(bot, payload(github, "closed", 123))
    wait_until(lambda: status_of(db_engine, short_id) == "landed", timeout=20)
    # A late `pending` of the same release takes nothing back.
    late = release_body("succeeded", 45, str(merged["merge_commit_sha"]))
    late["data"]["status"] = "pending"
    assert send_release(bot, late).json()["status"] == "unchanged"
    assert releases(db_engine)[0].status == "succeeded"
    assert len(channel_posts(fake_slack, "Heroku release v45")) == 1


def test_github_down_while_matching_the_clock_lands_it_when_github_is_back(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    merge(github, bot, 123)
    release_sha = github.branch_sha(REPO)
    github.set_down(True)
    try:
        answer = send_release(bot, release_body("succeeded", 46, release_sha))
        assert answer.status_code == 200  # answered at once, whatever GitHub does
        wait_until(lambda: releases(db_engine)[0].attempts >= 1, timeout=60)
        assert status_of(db_engine, short_id) == "deploying"
        assert releases(db_engine)[0].due
    finally:
        github.set_down(False)
    bot.tick()
    assert status_of(db_engine, short_id) == "landed"
    assert not releases(db_engine)[0].due


def test_review_apps_unknown_apps_and_forged_deliveries_move_nothing(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    short_id = started_migration(slack, fake_slack, github, bot, db_engine)
    merge(github, bot, 123)
    sha = github.branch_sha(REPO)
    review = send_release(bot, release_body("succeeded", 7, sha, app="foundation-s-pr-123"))
    assert review.status_code == 200 and review.json()["status"] == "ignored"
    forged = send_release(bot, release_body("succeeded", 47, sha), secret="wrong")
    assert forged.status_code == 401
    assert releases(db_engine) == []
    assert status_of(db_engine, short_id) == "deploying"


# ------------------------------------------------------------------ unbooked changes


def test_a_tricky_pull_request_merged_unbooked_raises_the_alert_until_acknowledged(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    closed, delivery = merge_unbooked(github, 124, bot)
    assert deliver(bot, closed, delivery=delivery).json()["merge"] == "recorded"
    assert deliver(bot, closed, delivery=delivery).json()["merge"] == "duplicate"

    alert = wait_for_alert(fake_slack)
    assert alert.get("channel") == DEPLOY_CHANNEL
    assert f"{REPO}#124" in alert.all_text() and "RemoveField" in alert.all_text()
    assert len(channel_posts(fake_slack, "Merged without an approved booking")) == 1
    assert [e.action for e in audit(db_engine, f"{REPO}#124")] == ["deploy.merged_unbooked"]

    # In everyone's App Home until acknowledged.
    slack.event({"type": "app_home_opened", "user": CAROL, "tab": "home"})
    home = fake_slack.wait_for(
        "views.publish", lambda c: "without an approved booking" in c.all_text()
    )
    assert "#124" in home.all_text()

    slack.click(alert, "deploy_alert_ack", alert_id(db_engine), user_id=CAROL)
    fake_slack.wait_for("chat.update", lambda c: "Acknowledged by" in c.all_text())
    slack.event({"type": "app_home_opened", "user": CAROL, "tab": "home"})
    wait_until(lambda: len(fake_slack.calls("views.publish")) >= 2, timeout=20)
    assert "without an approved booking" not in fake_slack.calls("views.publish")[-1].all_text()


def test_an_alert_is_acknowledged_only_with_its_message_update(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    """The "Acknowledged by" update is recorded in the acknowledgement's own transaction
    (docs/adr/0019): while the database refuses it, the acknowledgement does not stand
    either, so the alert stays in everyone's App Home rather than silently unmarked."""
    closed, delivery = merge_unbooked(github, 125, bot)
    deliver(bot, closed, delivery=delivery)
    alert = wait_for_alert(fake_slack)

    def acknowledged() -> bool:
        with Session(db_engine) as session:
            return session.scalars(sa.select(DeployAlert.acknowledged_at)).one() is not None

    with outbox_refuses(db_engine, "Merged without an approved booking"):
        slack.click(alert, "deploy_alert_ack", alert_id(db_engine), user_id=CAROL)
        bot.wait_idle()
        assert not acknowledged()
    assert fake_slack.calls("chat.update") == []

    slack.click(alert, "deploy_alert_ack", alert_id(db_engine), user_id=CAROL)
    update = fake_slack.wait_for("chat.update", lambda c: "Acknowledged by" in c.all_text())
    assert update.get("ts") == alert.response.get("ts")
    assert acknowledged()


def merge_unbooked(
    github: FakeGitHub, number: int, bot: InProcessBot
) -> tuple[dict[str, Any], str]:
    """A pull request that drops a column, judged tricky by the bot and merged without a
    booking; returns GitHub's "closed" delivery for it, not yet sent, and its id."""
    sha = open_pull(github, number, {MIGRATION: REMOVE_EMAIL}, user_login="dev-dana")
    deliver(bot, payload(github, "opened", number))
    wait_for_status(github, sha, "failure", "RemoveField")
    github.close_pull(REPO, number, merged=True, merged_by="dev-dana")
    return payload(github, "closed", number), str(uuid.uuid4())


def wait_for_alert(fake_slack: FakeSlack) -> SlackCall:
    return fake_slack.wait_for(
        "chat.postMessage", lambda c: "Merged without an approved booking" in c.all_text()
    )


def alert_id(engine: Engine) -> str:
    with Session(engine) as session:
        return str(session.scalars(sa.select(DeployAlert.id)).one())


def test_a_release_of_an_unbooked_tricky_migration_raises_the_alert(
    fake_slack: FakeSlack, github: FakeGitHub, bot: InProcessBot, db_engine: Engine
) -> None:
    """Pushed straight to master (no PR, no booking): the analyser reads the range since
    the previous release. The commit comes from the description ("Deploy 1a2b3c4d")."""
    before = github.branch_sha(REPO)
    send_release(bot, release_body("succeeded", 50, before))
    wait_until(lambda: not releases(db_engine)[0].due, timeout=20)
    pushed = github.push(REPO, files={MIGRATION: REMOVE_EMAIL})
    send_release(bot, release_body("succeeded", 51, pushed, slug=False))

    alert = fake_slack.wait_for(
        "chat.postMessage", lambda c: "Released without an approved booking" in c.all_text()
    )
    assert "v51" in alert.all_text() and "RemoveField" in alert.all_text()
    assert releases(db_engine)[1].commit_sha == pushed[:8]
    assert [e.action for e in audit(db_engine, f"{PRODUCTION_APP}:v51")] == [
        "deploy.released_unbooked"
    ]
    # The release note names what it can.
    note = fake_slack.wait_for(
        "chat.postMessage", lambda c: "v51" in c.all_text() and "PRs:" in c.all_text()
    )
    assert pushed[:7] in note.all_text()


def test_an_es_mapping_change_is_released_but_waits_for_its_checklist(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    github.add_pull(REPO, 123, title="New search mapping")
    booked = book(slack, fake_slack, db_engine, when="in 15 minutes", extra='kind:es "Mapping"')
    approve(slack, fake_slack, booked.short_id)
    bot.clock.advance(minutes=15)
    assert "is deploying" in command(slack, fake_slack, f"start {booked.short_id}")
    merge(github, bot, 123)
    send_release(bot, release_body("succeeded", 60, github.branch_sha(REPO)))

    note = fake_slack.wait_for(
        "chat.postMessage", lambda c: "finish the runbook checklist" in c.all_text()
    )
    assert note.get("thread_ts") == booking(db_engine, booked.short_id).announcement_ts
    assert status_of(db_engine, booked.short_id) == "deploying"
    assert channel_posts(fake_slack, "STUCK THE LANDING") == []


def test_an_unknown_app_is_answered_2xx_even_without_review_apps(
    start_bot: Callable[..., InProcessBot], db_engine: Engine
) -> None:
    bot = start_bot(HEROKU_WEBHOOK_SECRET=HEROKU_SECRET, REVIEW_APPS_CHANNEL=None)
    answer = send_release(bot, release_body("succeeded", 3, "a" * 40, app="someone-elses-app"))
    assert answer.status_code == 200 and answer.json()["status"] == "ignored"
    assert releases(db_engine) == []


def test_with_apps_each_heroku_app_moves_the_bookings_of_its_own_app(
    start_bot: Callable[..., InProcessBot],
    fake_slack: FakeSlack,
    github: FakeGitHub,
    db_engine: Engine,
) -> None:
    donate_repo = "mozilla/donate-wagtail"
    apps = {
        "foundation-site": {"repo": REPO, "heroku_app": "foundation-prod"},
        "donate": {"repo": donate_repo, "heroku_app": "donate-prod"},
    }
    bot = start_bot(
        GITHUB_API_URL=github.url,
        GITHUB_TOKEN=DEFAULT_TOKEN,
        GITHUB_WEBHOOK_SECRET="test-github-webhook-secret",
        HEROKU_WEBHOOK_SECRET=HEROKU_SECRET,
        APPS=json.dumps(apps),
    )
    github.add_pull(donate_repo, 7, title="Drop the old amount field")
    with SignedClient.for_bot(bot, fake_slack) as slack:
        booked = command(
            slack,
            fake_slack,
            'schedule #7 app:donate in 15 minutes for 30m kind:migration "Drop amount"',
        )
        assert "Booked" in booked, booked
        short_id = booked.split("`")[1]
        assert booking(db_engine, short_id).pull_requests == [f"{donate_repo}#7"]
        refused = command(slack, fake_slack, "schedule #7 app:nope in 15 minutes")
        assert "not one of the apps" in refused and "app:donate" in refused

        approve(slack, fake_slack, short_id)
        bot.clock.advance(minutes=15)
        assert "is deploying" in command(slack, fake_slack, f"start {short_id}")

    github.close_pull(donate_repo, 7, merged=True, merged_by="dev-dana")
    from support.github_webhooks import pull_request_payload

    deliver(bot, pull_request_payload(github, donate_repo, "closed", 7))
    released = github.branch_sha(donate_repo)
    # The other site's release does not explain it; its own app's does.
    send_release(bot, release_body("succeeded", 8, released, app="foundation-prod"))
    wait_until(lambda: len(releases(db_engine)) == 1 and not releases(db_engine)[0].due)
    assert status_of(db_engine, short_id) == "deploying"
    send_release(bot, release_body("succeeded", 9, released, app="donate-prod"))
    wait_until(lambda: status_of(db_engine, short_id) == "landed", timeout=20)


def test_a_merge_an_approver_marked_routine_raises_no_alert(
    slack: SignedClient,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    bot: InProcessBot,
    db_engine: Engine,
) -> None:
    sha = open_pull(github, 125, {MIGRATION: REMOVE_EMAIL}, user_login="dev-dana")
    deliver(bot, payload(github, "opened", 125))
    wait_for_status(github, sha, "failure", "RemoveField")
    assert "routine" in command(slack, fake_slack, 'allow #125 "the column is already unused"')
    wait_for_status(github, sha, "success", "Marked routine")

    github.close_pull(REPO, 125, merged=True, merged_by="dev-dana")
    assert deliver(bot, payload(github, "closed", 125)).json()["merge"] == "recorded"
    fake_slack.assert_no_call(
        "chat.postMessage", lambda c: "without an approved booking" in c.all_text(), within=0.5
    )
    with Session(db_engine) as session:
        assert session.scalars(sa.select(DeployAlert)).all() == []
