"""After `ready`, a review app is known by name: `released`, `failed` and `destroyed`
need only the event and the app, and a refusal says exactly what each event needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from bot.review_apps.rules import Notice
from support.fake_slack import FakeSlack
from support.server import BotProcess

from .conftest import NOTIFY_TOKEN

APP = "site-pr-12"
CHANNEL = "C0REVIEW"
READY: dict[str, Any] = {
    "event": "ready",
    "app": APP,
    "pr_number": 12,
    "url": f"https://{APP}.herokuapp.com",
    "username": "admin",
    "password": "s3cret-pass",
}


def post(bot: BotProcess, body: dict[str, Any]) -> httpx.Response:
    return bot.post(
        "/api/review-apps", json=body, headers={"Authorization": f"Bearer {NOTIFY_TOKEN}"}
    )


@pytest.mark.parametrize("event", ["released", "failed", "destroyed"])
def test_later_events_need_only_event_and_app(event: str) -> None:
    notice = Notice.model_validate({"event": event, "app": APP})
    assert notice.url is None and notice.pr_number is None and notice.branch is None


@pytest.mark.parametrize("missing", ["url", "username", "password"])
def test_ready_still_needs_url_and_login(missing: str) -> None:
    body = {k: v for k, v in READY.items() if k != missing}
    with pytest.raises(ValidationError, match=missing):
        Notice.model_validate(body)


def test_released_and_destroyed_without_url_update_the_message(
    review_bot: Callable[..., BotProcess], fake_slack: FakeSlack
) -> None:
    bot = review_bot(REVIEW_APPS_CHANNEL=CHANNEL)
    ready = post(bot, READY)
    assert ready.status_code == 200, ready.text
    main = fake_slack.wait_for("chat.postMessage", lambda c: not c.get("thread_ts"))
    ts = main.response["ts"]

    released = post(bot, {"event": "released", "app": APP})
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "updated"
    message = fake_slack.message(CHANNEL, ts)
    assert message is not None
    # The app's URL from `ready` is kept: the button still opens it.
    assert f"https://{APP}.herokuapp.com" in str(message["blocks"])

    destroyed = post(bot, {"event": "destroyed", "app": APP})
    assert destroyed.status_code == 200, destroyed.text
    assert destroyed.json()["status"] == "updated"
    assert "destroyed" in str(fake_slack.message(CHANNEL, ts)).lower()


def test_a_refusal_names_what_that_event_needs(review_bot: Callable[..., BotProcess]) -> None:
    bot = review_bot(REVIEW_APPS_CHANNEL=CHANNEL)
    refused = post(bot, {"event": "destroyed"})
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["fields"] == ["app"]
    assert answer["required"] == ["event", "app"]
    assert answer["example"] == {"event": "destroyed", "app": answer["example"]["app"]}

    refused = post(bot, {k: v for k, v in READY.items() if k != "url"})
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["required"] == [
        "event",
        "app",
        "pr_number or branch",
        "url",
        "username",
        "password",
    ]
    assert answer["example"]["event"] == "ready"
    assert "url" in answer["error"]
