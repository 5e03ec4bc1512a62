"""Review-app notifications end to end: the real bot over HTTP, the real CLI as a
subprocess, Heroku deliveries signed as Heroku signs them, and the local fakes of Slack
and GitHub. Credentials must show up in Slack and nowhere else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from support.fake_github import FakeGitHub
from support.fake_slack import FakeSlack, SlackCall
from support.server import BotProcess, child_env, free_port

from .conftest import HEROKU_SECRET, NOTIFY_TOKEN

CHANNEL = "C0REVIEW"
REPO = "mozilla/foundation.mozilla.org"
APP = "vedant-test"  # the app in zulip's release_create.json
PASSWORD = "Kz7*q_Vx~9`pL&<w>"  # markup characters on purpose
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ZULIP = FIXTURES / "external/zulip/zerver/webhooks/heroku/fixtures"
StartBot = Callable[..., BotProcess]


# ------------------------------------------------------------------ helpers


def notice(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": "ready",
        "app": APP,
        "pr_number": 12,
        "url": f"https://{APP}.herokuapp.com",
        "username": "admin",
        "password": PASSWORD,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def post_notice(bot: BotProcess, body: Any, token: str | None = NOTIFY_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if isinstance(body, bytes):
        headers["Content-Type"] = "application/json"
        return bot.post("/api/review-apps", content=body, headers=headers)
    return bot.post("/api/review-apps", json=body, headers=headers)


def sign(raw: bytes, secret: str = HEROKU_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def deliver(
    bot: BotProcess, raw: bytes, *, signature: str | None = "sign", delivery: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Heroku-Webhook-Hmac-SHA256"] = sign(raw) if signature == "sign" else signature
    if delivery is not None:
        headers["Heroku-Webhook-Id"] = delivery
    return bot.post("/webhooks/heroku", content=raw, headers=headers)


def release(status: str, version: int, delivery: str) -> bytes:
    """zulip's real release delivery, re-aimed at our app (built here, not a fixture)."""
    payload = json.loads((ZULIP / "release_failed.json").read_bytes())
    payload["data"]["app"]["name"] = APP
    payload["data"]["status"] = status
    payload["data"]["version"] = version
    payload["webhook_metadata"]["delivery"]["id"] = delivery
    return json.dumps(payload).encode()


def run_notify(
    event: str,
    env: dict[str, str | None],
    *args: str,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m bot review-app notify EVENT` as a review app's postdeploy runs it: only
    Heroku's and the command's own variables, none of the bot's settings."""
    return subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [sys.executable, "-m", "bot", "review-app", "notify", event, *args],
        env=child_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def heroku_env(bot: BotProcess, **more: str | None) -> dict[str, str | None]:
    return {
        "HEROKU_APP_NAME": APP,
        "HEROKU_PR_NUMBER": "12",
        "HEROKU_BRANCH": "bump-django",
        "DEPLOYBOT_URL": bot.base_url,
        "REVIEW_APP_NOTIFY_TOKEN": NOTIFY_TOKEN,
        **more,
    }


def top_level_posts(fake_slack: FakeSlack) -> list[SlackCall]:
    return [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.get("channel") == CHANNEL and not c.get("thread_ts") and c.ok
    ]


def message_text(message: dict[str, Any] | None) -> str:
    return json.dumps(message)


def rows(engine: Engine, table: str = "review_app") -> list[dict[str, Any]]:
    with engine.connect() as connection:
        result = connection.execute(sa.text(f"SELECT * FROM {table}"))  # noqa: S608
        return [dict(row._mapping) for row in result]


def dump_database(engine: Engine) -> str:
    """Every row of every table, as text."""
    with engine.connect() as connection:
        names = sa.inspect(connection).get_table_names()
        return "\n".join(
            repr(list(connection.execute(sa.text(f'SELECT * FROM "{name}"'))))  # noqa: S608
            for name in names
        )


def ready_then_message(bot: BotProcess, fake_slack: FakeSlack) -> tuple[dict[str, Any], str, str]:
    sent = post_notice(bot, notice())
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "posted"
    [main] = top_level_posts(fake_slack)
    [reply] = fake_slack.calls("chat.postMessage")[1:]
    return main.response, main.response["ts"], reply.response["ts"]


# ------------------------------------------------------------------ the whole cycle


@pytest.fixture
def dependabot_pr(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(
        REPO, 12, title="Bump django from 4.2.1 to 4.2.2", labels=["dependencies", "python"]
    )


def test_ready_released_failed_destroyed_is_one_message_edited_in_place(
    review_bot: StartBot,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    dependabot_pr: None,
    db_engine: Engine,
) -> None:
    bot = review_bot()
    result = run_notify("ready", heroku_env(bot, REVIEW_APP_ADMIN_PASSWORD=PASSWORD))
    assert result.returncode == 0, result.stderr
    assert "posted" in result.stdout

    [main] = top_level_posts(fake_slack)
    ts = main.response["ts"]
    text = main.all_text()
    assert "[Dependabot]" in text
    assert "Bump django from 4.2.1 to 4.2.2" in text
    assert f"https://github.com/{REPO}/pull/12" in text
    assert PASSWORD not in json.dumps(main.body)  # the login goes in the thread
    button = main.blocks[0]["accessory"]
    assert button["url"].rstrip("/") == f"https://{APP}.herokuapp.com"
    [reply] = [c for c in fake_slack.calls("chat.postMessage") if c.get("thread_ts") == ts]
    reply_ts = reply.response["ts"]
    assert f"Password: {PASSWORD}" in reply.all_text()
    assert "Username: admin" in reply.all_text()
    assert "PR #12" not in reply.get("text")  # fallback text names the app only
    assert PASSWORD not in reply.get("text")

    # Heroku's real delivery, byte for byte: release v3 succeeded.
    raw = (ZULIP / "release_create.json").read_bytes()
    answer = deliver(bot, raw)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "updated"
    current = message_text(fake_slack.message(CHANNEL, ts))
    assert "Release v3 deployed" in current
    assert "<!date^1747481878^" in current  # data.updated_at 2025-05-17T11:37:58Z
    assert "[Dependabot]" in current
    # The login reply was not touched, so Slack still shows it.
    assert PASSWORD in message_text(fake_slack.message(CHANNEL, reply_ts))

    answer = deliver(bot, release("failed", 4, "delivery-failed-4"))
    assert answer.json()["status"] == "updated"
    assert "Release v4 *failed*" in message_text(fake_slack.message(CHANNEL, ts))

    # A late delivery of an older release changes nothing.
    answer = deliver(bot, release("succeeded", 2, "delivery-old-2"))
    assert answer.json()["status"] == "unchanged"

    answer = deliver(bot, (FIXTURES / "heroku/app_destroy.json").read_bytes())
    assert answer.json()["status"] == "updated"
    gone = fake_slack.message(CHANNEL, ts)
    assert "Destroyed" in message_text(gone)
    assert "accessory" not in gone["blocks"][0]  # no button to a dead app
    reply_now = message_text(fake_slack.message(CHANNEL, reply_ts))
    assert PASSWORD not in reply_now
    assert "removed" in reply_now

    # One message (and its one reply) for the app's whole life.
    assert len(top_level_posts(fake_slack)) == 1
    assert len(fake_slack.calls("chat.postMessage")) == 2
    [row] = rows(db_engine)
    assert (row["state"], row["message_ts"], row["credentials_ts"]) == ("destroyed", ts, reply_ts)


def test_a_branch_app_shows_the_branch_and_asks_github_nothing(
    review_bot: StartBot, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    bot = review_bot()
    sent = post_notice(bot, notice(pr_number=None, branch="fix-login"))
    assert sent.status_code == 200, sent.text
    [main] = top_level_posts(fake_slack)
    assert "Branch `fix-login`" in main.all_text()
    assert fake_github.calls() == []


def test_a_pr_without_the_dependencies_label_is_tagged_devs(
    review_bot: StartBot, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    fake_github.add_pull(REPO, 12, title="Fix the <login> & signup", labels=["bug"])
    bot = review_bot()
    main, _, _ = ready_then_message(bot, fake_slack)
    text = json.dumps(main)
    assert "[Devs]" in text and "Fix the &lt;login&gt; &amp; signup" in text


# ------------------------------------------------------------------ refusals


def test_tokens_are_checked_and_refusals_change_nothing(
    review_bot: StartBot, fake_slack: FakeSlack, db_engine: Engine, dependabot_pr: None
) -> None:
    bot = review_bot()
    for token in (None, "wrong-token", NOTIFY_TOKEN + "x", NOTIFY_TOKEN[:-1]):
        refused = post_notice(bot, notice(), token=token)
        assert refused.status_code == 401, token
        assert "token" in refused.json()["error"]
        assert PASSWORD not in refused.text
    basic = bot.post(
        "/api/review-apps", json=notice(), headers={"Authorization": f"Basic {NOTIFY_TOKEN}"}
    )
    assert basic.status_code == 401
    fake_slack.assert_no_call("chat.postMessage", within=0.3)
    assert rows(db_engine) == []


def test_without_a_token_configured_the_endpoint_says_so(
    review_bot: StartBot, fake_slack: FakeSlack
) -> None:
    bot = review_bot(REVIEW_APP_NOTIFY_TOKEN=None)
    refused = post_notice(bot, notice())
    assert refused.status_code == 503
    assert "not configured" in refused.json()["error"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"{not json", ["body"]),
        (b"[1, 2]", ["body"]),
        (notice(event="exploded"), ["event"]),
        (notice(pr_number=None), ["body"]),
        (notice(password=None), ["body"]),
        (notice(url="ftp:/nowhere", pr_number="twelve"), ["pr_number", "url"]),
        (notice(app="Not An App Name"), ["app"]),
    ],
    ids=["not-json", "not-object", "event", "no-pr-or-branch", "no-password", "two", "app"],
)
def test_malformed_bodies_get_a_clear_422_and_nothing_happens(
    review_bot: StartBot,
    fake_slack: FakeSlack,
    db_engine: Engine,
    body: Any,
    fields: list[str],
) -> None:
    bot = review_bot()
    refused = post_notice(bot, body)
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["fields"] == fields
    assert answer["example"]["event"] == "ready"
    assert PASSWORD not in refused.text
    fake_slack.assert_no_call("chat.postMessage", within=0.3)
    assert rows(db_engine) == []


def test_heroku_deliveries_must_be_signed(
    review_bot: StartBot, fake_slack: FakeSlack, db_engine: Engine, dependabot_pr: None
) -> None:
    bot = review_bot()
    ready_then_message(bot, fake_slack)
    before = rows(db_engine)
    raw = (ZULIP / "release_create.json").read_bytes()

    assert deliver(bot, raw, signature=None).status_code == 401
    assert deliver(bot, raw, signature=sign(raw, "not-the-secret")).status_code == 401
    assert deliver(bot, raw, signature="bm90IGEgc2lnbmF0dXJl").status_code == 401
    # A valid signature of other bytes does not cover these.
    tampered = raw.replace(b'"succeeded"', b'"failed"')
    assert deliver(bot, tampered, signature=sign(raw)).status_code == 401

    fake_slack.assert_no_call("chat.update", within=0.3)
    assert rows(db_engine) == before
    assert rows(db_engine, "processed_request") == []


def test_without_a_secret_heroku_deliveries_are_refused(review_bot: StartBot) -> None:
    bot = review_bot(HEROKU_WEBHOOK_SECRET=None)
    raw = (ZULIP / "release_create.json").read_bytes()
    refused = deliver(bot, raw)
    assert refused.status_code == 503
    assert "HEROKU_WEBHOOK_SECRET" in refused.json()["error"]


def test_a_replayed_delivery_changes_nothing(
    review_bot: StartBot, fake_slack: FakeSlack, dependabot_pr: None
) -> None:
    bot = review_bot()
    ready_then_message(bot, fake_slack)
    raw = (ZULIP / "release_create.json").read_bytes()
    first = deliver(bot, raw)
    assert first.json()["status"] == "updated"
    # Heroku's retry carries the same delivery id (here in the body, then in the header).
    again = deliver(bot, raw)
    assert again.json() == {
        "status": "duplicate",
        "delivery_id": "7e99cb52-1369-4507-be9e-32309898462d",
    }
    with_header = deliver(bot, release("failed", 9, "x"), delivery="same-delivery")
    assert with_header.json()["status"] == "updated"
    replay = deliver(bot, release("failed", 9, "x"), delivery="same-delivery")
    assert replay.json()["status"] == "duplicate"
    assert len(fake_slack.calls("chat.update")) == 2


def test_deliveries_about_other_apps_or_resources_are_ignored(
    review_bot: StartBot, fake_slack: FakeSlack
) -> None:
    bot = review_bot()
    for name in ("release_failed.json", "build_create.json", "app_update.json"):
        answer = deliver(bot, (ZULIP / name).read_bytes())
        assert answer.status_code == 200
        assert answer.json()["status"] == "ignored", name
    fake_slack.assert_no_call("chat.postMessage", within=0.3)


# ------------------------------------------------------------------ GitHub down


def test_github_down_the_message_goes_out_and_the_clock_completes_it(
    review_bot: StartBot,
    review_env: dict[str, str],
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    bot_cli: Callable[..., subprocess.CompletedProcess[str]],
    db_engine: Engine,
) -> None:
    fake_github.add_pull(REPO, 12, title="Rename Person.name", labels=["enhancement"])
    fake_github.set_down()
    bot = review_bot()
    _, ts, reply_ts = ready_then_message(bot, fake_slack)
    first = message_text(fake_slack.message(CHANNEL, ts))
    assert "PR #12" in first and "to follow" in first
    assert f"https://github.com/{REPO}/pull/12" in first
    assert rows(db_engine)[0]["pr_lookup_pending"]

    # Still down: the clock tries, changes nothing, and keeps it pending.
    # The clock's tasks with the bot's settings (`deploybot clock --once`), in this process.
    bot.tick()
    assert fake_slack.calls("chat.update") == []

    fake_github.set_down(False)
    bot.tick()
    now = message_text(fake_slack.message(CHANNEL, ts))
    assert "[Devs]" in now and "Rename Person.name" in now and "to follow" not in now
    assert PASSWORD in message_text(fake_slack.message(CHANNEL, reply_ts))
    assert not rows(db_engine)[0]["pr_lookup_pending"]


# ------------------------------------------------------------------ webhook-only


def test_webhook_only_mode_posts_through_slack_webhook_ra(
    review_bot: StartBot, fake_slack: FakeSlack, dependabot_pr: None
) -> None:
    bot = review_bot(
        SLACK_BOT_TOKEN=None,
        SLACK_SIGNING_SECRET=None,
        DEPLOY_CHANNEL=None,
        SLACK_WEBHOOK_RA=fake_slack.webhook_url("ra"),
    )
    assert bot.post("/slack/events", content=b"{}").status_code == 503

    sent = post_notice(bot, notice())
    assert sent.status_code == 200, sent.text
    ready = fake_slack.wait_for_webhook("ra")
    assert "[Dependabot]" in ready.all_text()
    assert f"Password: {PASSWORD}" in ready.all_text()

    deliver(bot, (ZULIP / "release_create.json").read_bytes())
    deliver(bot, (FIXTURES / "heroku/app_destroy.json").read_bytes())
    posts = fake_slack.calls("webhook")
    assert len(posts) == 3
    assert "Release v3 deployed" in posts[1].all_text()
    assert "no longer works" in posts[2].all_text()
    assert all(PASSWORD not in json.dumps(p.body) for p in posts[1:])
    assert fake_slack.calls("chat.postMessage") == []


# ------------------------------------------------------------------ the CLI


def test_the_cli_gives_up_with_one_clear_line_when_the_bot_is_unreachable() -> None:
    env: dict[str, str | None] = {
        "HEROKU_APP_NAME": APP,
        "HEROKU_PR_NUMBER": "12",
        "DEPLOYBOT_URL": f"http://127.0.0.1:{free_port()}",
        "REVIEW_APP_NOTIFY_TOKEN": NOTIFY_TOKEN,
        "REVIEW_APP_ADMIN_PASSWORD": PASSWORD,
    }
    result = run_notify("ready", env, "--attempts", "2")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "could not reach the bot" in line and "after 2 attempt(s)" in line
    assert PASSWORD not in result.stderr + result.stdout


def test_the_cli_never_takes_a_password_on_the_command_line() -> None:
    result = run_notify("ready", {}, "--password", PASSWORD)
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


def test_the_cli_reports_a_refusal_and_a_missing_setting(review_bot: StartBot) -> None:
    bot = review_bot()
    wrong = run_notify(
        "ready",
        heroku_env(bot, REVIEW_APP_NOTIFY_TOKEN="nope", REVIEW_APP_ADMIN_PASSWORD=PASSWORD),
    )
    assert wrong.returncode == 1
    assert "HTTP 401" in wrong.stderr
    missing = run_notify("ready", heroku_env(bot, DEPLOYBOT_URL=None))
    assert missing.returncode == 1
    assert "DEPLOYBOT_URL is not set" in missing.stderr
