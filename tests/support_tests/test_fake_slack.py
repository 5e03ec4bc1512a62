"""The fake Slack Web API speaks Slack's wire format.

Driven with the real slack_sdk clients (the ones Bolt uses inside the bot), so if the
fake answered in a shape the SDK does not expect, these tests would fail first.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from support.fake_slack import BOT_USER_ID, DEFAULT_TOKEN, TEAM_ID, FakeSlack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "external"
TS_PATTERN = re.compile(r"^\d{10}\.\d{6}$")

BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Deploy booked"}},
    {
        "type": "section",
        "block_id": "summary",
        "text": {"type": "mrkdwn", "text": "*foundation-site* PR #1234 at 14:00"},
    },
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": "booking-1",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Request changes"},
                "style": "danger",
                "value": "booking-1",
            },
        ],
    },
]

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "schedule",
    "title": {"type": "plain_text", "text": "Book a deploy"},
    "submit": {"type": "plain_text", "text": "Book"},
    "private_metadata": '{"app": "foundation-site"}',
    "blocks": [
        {
            "type": "input",
            "block_id": "pr",
            "label": {"type": "plain_text", "text": "Pull request"},
            "element": {"type": "plain_text_input", "action_id": "pr_input"},
        }
    ],
}


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    # No retry handlers: fault-injection tests must see the raw 429/5xx.
    return WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url, retry_handlers=[])


def test_auth_test_identifies_the_bot(client: WebClient, fake_slack: FakeSlack) -> None:
    response = client.auth_test()
    assert response["ok"] is True
    assert response["user_id"] == BOT_USER_ID
    assert response["team_id"] == TEAM_ID
    assert response["bot_id"].startswith("B")
    assert response["url"].startswith("https://")
    call = fake_slack.wait_for("auth.test")
    assert call.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"


def test_post_message_with_blocks_is_recorded_decoded(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    first = client.chat_postMessage(channel="C0DEPLOY", text="Deploy booked", blocks=BLOCKS)
    second = client.chat_postMessage(channel="C0DEPLOY", text="again")
    assert first["ok"] and first["channel"] == "C0DEPLOY"
    assert TS_PATTERN.match(first["ts"]) and TS_PATTERN.match(second["ts"])
    assert float(second["ts"]) > float(first["ts"])
    message = first["message"]
    assert message["user"] == BOT_USER_ID and message["text"] == "Deploy booked"
    # Like Slack, the stored message gets ids for the blocks/buttons that had none.
    assert message["blocks"][0]["block_id"]
    assert message["blocks"][2]["elements"][1]["action_id"]

    call = fake_slack.wait_for("chat.postMessage", lambda c: c.text == "Deploy booked")
    assert call.headers["content-type"].startswith("application/json")
    assert call.body["blocks"] == BLOCKS  # recorded as sent, not as stored
    assert "PR #1234" in call.all_text() and "Approve" in call.all_text()
    assert call.response["ts"] == first["ts"]
    assert [c.text for c in fake_slack.calls("chat.postMessage")] == ["Deploy booked", "again"]


def test_form_encoded_calls_decode_json_fields(fake_slack: FakeSlack) -> None:
    # Older clients and curl send form fields, with blocks as a JSON string.
    response = httpx.post(
        fake_slack.base_url + "chat.postMessage",
        data={"channel": "C0DEPLOY", "text": "hi", "blocks": json.dumps(BLOCKS)},
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
    )
    assert response.json()["ok"] is True
    call = fake_slack.wait_for("chat.postMessage")
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert call.body["blocks"] == BLOCKS


def test_update_changes_the_stored_message(client: WebClient, fake_slack: FakeSlack) -> None:
    posted = client.chat_postMessage(channel="C0DEPLOY", text="awaiting approval")
    updated = client.chat_update(channel="C0DEPLOY", ts=posted["ts"], text="approved by bob")
    assert updated["ts"] == posted["ts"] and updated["text"] == "approved by bob"
    current = fake_slack.message("C0DEPLOY", posted["ts"])
    assert current is not None and current["text"] == "approved by bob"
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C0DEPLOY", ts="1600000000.000001", text="nope")
    assert err.value.response["error"] == "message_not_found"


def test_post_ephemeral_and_dm(client: WebClient) -> None:
    ephemeral = client.chat_postEphemeral(channel="C0DEPLOY", user="U1", text="only you")
    assert TS_PATTERN.match(ephemeral["message_ts"])
    opened = client.conversations_open(users="U0ALICE001")
    assert opened["channel"]["id"] == "DU0ALICE001"
    dm = client.chat_postMessage(channel=opened["channel"]["id"], text="reminder")
    assert dm["channel"] == "DU0ALICE001"


def test_users_info_has_time_zone(client: WebClient, fake_slack: FakeSlack) -> None:
    user = client.users_info(user="U0ALICE001")["user"]
    assert user["id"] == "U0ALICE001" and user["is_bot"] is False
    assert user["tz"] == "America/New_York"
    assert user["tz_offset"] in (-18000, -14400)
    assert user["tz_label"] in ("Eastern Standard Time", "Eastern Daylight Time")

    fake_slack.set_user("U0BOB00002", tz="Asia/Kolkata", real_name="Bob B")
    bob = client.users_info(user="U0BOB00002")["user"]
    assert (bob["tz"], bob["tz_offset"], bob["real_name"]) == ("Asia/Kolkata", 19800, "Bob B")
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="not-a-user")
    assert err.value.response["error"] == "user_not_found"


def test_usergroup_members(client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.set_usergroup("S0APPROVE", ["U0BOB00002", "U0CAROL003"])
    assert client.usergroups_users_list(usergroup="S0APPROVE")["users"] == [
        "U0BOB00002",
        "U0CAROL003",
    ]
    with pytest.raises(SlackApiError) as err:
        client.usergroups_users_list(usergroup="S0OTHER")
    assert err.value.response["error"] == "no_such_subteam"


def test_views_open_update_publish(client: WebClient, fake_slack: FakeSlack) -> None:
    opened = client.views_open(trigger_id="123.456.abc", view=MODAL)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "schedule"
    assert opened["private_metadata"] == MODAL["private_metadata"]
    assert opened["state"] == {"values": {}}
    call = fake_slack.wait_for("views.open")
    assert call.body["view"] == MODAL and call.body["trigger_id"] == "123.456.abc"

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as err:  # stale hash: someone else updated first
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    assert err.value.response["error"] == "hash_conflict"

    home = {"type": "home", "blocks": BLOCKS}
    published = client.views_publish(user_id="U0ALICE001", view=home)["view"]
    assert published["type"] == "home"
    assert fake_slack.view(published["id"]) is not None


def test_views_open_generates_ids_that_requests_can_fill(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    # A real modal definition with no block_ids/action_ids: Slack (and the fake) fill them.
    path = FIXTURES / "python-slack-sdk/tests/data/view_modal_001.json"
    view = json.loads(path.read_text())
    opened = client.views_open(trigger_id="1.2.3", view=view)["view"]
    inputs = [b for b in opened["blocks"] if b["type"] == "input"]
    assert all(b["block_id"] and b["element"]["action_id"] for b in inputs)


def test_block_kit_limits_are_enforced(client: WebClient, fake_slack: FakeSlack) -> None:
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "A title that is far too long"}}
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id="1.2.3", view=long_title)
    assert err.value.response["error"] == "invalid_arguments"
    assert "/view/title/text" in err.value.response["response_metadata"]["messages"][0]

    empty = [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0DEPLOY", text="x", blocks=empty)
    assert err.value.response["error"] == "invalid_blocks"

    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C0DEPLOY")
    assert err.value.response["error"] == "no_text"

    fake_slack.validate = False
    assert client.chat_postMessage(channel="C0DEPLOY", text="x", blocks=empty)["ok"]


def test_unknown_method_and_bad_tokens(fake_slack: FakeSlack) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.doesNotExist")
    assert err.value.response["error"] == "unknown_method"

    wrong = WebClient(token="xoxb-wrong", base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as err:
        wrong.auth_test()
    assert err.value.response["error"] == "invalid_auth"

    anonymous = httpx.post(fake_slack.base_url + "auth.test")
    assert anonymous.json() == {"ok": False, "error": "not_authed"}
    assert [c.ok for c in fake_slack.calls()] == [False, False, False]


def test_rate_limit_is_a_real_429_with_retry_after(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0DEPLOY", text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"
    # Only the next call fails.
    assert client.chat_postMessage(channel="C0DEPLOY", text="hi")["ok"]


def test_sdk_retry_handler_honours_retry_after(fake_slack: FakeSlack) -> None:
    retrying = WebClient(
        token=DEFAULT_TOKEN,
        base_url=fake_slack.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    assert retrying.chat_postMessage(channel="C0DEPLOY", text="hi")["ok"]
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [429, 200]


def test_server_errors(client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("users.info", status=503, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.users_info(user="U0ALICE001")
        assert err.value.response.status_code == 503
    assert client.users_info(user="U0ALICE001")["ok"]

    fake_slack.fail_next("*", status=500)
    retrying = WebClient(
        token=DEFAULT_TOKEN,
        base_url=fake_slack.base_url,
        retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)],
    )
    assert retrying.auth_test()["ok"]


def test_ok_false_fault(client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0GONE", text="hi")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "channel_not_found"


def test_delay(client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.set_delay("auth.test", 0.5)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.5
    fake_slack.set_delay("auth.test", 0)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started < 0.5


def test_response_url_and_webhook(fake_slack: FakeSlack) -> None:
    # WebhookClient is what Bolt's respond() uses for response_url.
    reply = WebhookClient(fake_slack.response_url("cmd-1")).send(
        text="Booked!", response_type="ephemeral", replace_original=False
    )
    assert reply.status_code == 200
    call = fake_slack.wait_for_response("cmd-1")
    assert call.body["text"] == "Booked!" and call.body["response_type"] == "ephemeral"

    hook = WebhookClient(fake_slack.webhook_url("review-apps")).send(text="Review app up")
    assert (hook.status_code, hook.body) == (200, "ok")
    assert fake_slack.wait_for_webhook("review-apps").text == "Review app up"

    fake_slack.fail_next("response_url", status=500)
    assert WebhookClient(fake_slack.response_url("cmd-2")).send(text="x").status_code == 500


def test_wait_for_sees_calls_made_later(client: WebClient, fake_slack: FakeSlack) -> None:
    timer = threading.Timer(0.3, lambda: client.chat_postMessage(channel="C1", text="late"))
    timer.start()
    try:
        call = fake_slack.wait_for("chat.postMessage", lambda c: c.text == "late", timeout=5)
    finally:
        timer.join()
    assert call.body["channel"] == "C1"


def test_wait_for_timeout_lists_what_arrived(client: WebClient, fake_slack: FakeSlack) -> None:
    client.chat_postMessage(channel="C0DEPLOY", text="something else")
    with pytest.raises(AssertionError) as err:
        fake_slack.wait_for("views.open", timeout=0.3)
    assert "chat.postMessage" in str(err.value) and "something else" in str(err.value)
    with pytest.raises(AssertionError):
        fake_slack.assert_no_call("chat.postMessage", within=0.1)
    fake_slack.assert_no_call("views.open", within=0.1)


def test_wait_for_count(client: WebClient, fake_slack: FakeSlack) -> None:
    for i in range(3):
        client.chat_postMessage(channel="C0DEPLOY", text=f"m{i}")
    assert [c.text for c in fake_slack.wait_for_count("chat.postMessage", 3)] == [
        "m0",
        "m1",
        "m2",
    ]


def test_reset_forgets_everything(client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.set_user("U0ALICE001", tz="Europe/London")
    fake_slack.fail_next("auth.test", times=5)
    posted = client.chat_postMessage(channel="C0DEPLOY", text="x")
    fake_slack.reset()
    assert fake_slack.calls() == []
    assert fake_slack.message("C0DEPLOY", posted["ts"]) is None
    assert client.auth_test()["ok"]
    assert client.users_info(user="U0ALICE001")["user"]["tz"] == "America/New_York"
    # ts values stay unique across resets (a bot may still hold an old one).
    assert float(client.chat_postMessage(channel="C0DEPLOY", text="y")["ts"]) > float(posted["ts"])


def test_concurrent_posts_get_unique_ts(fake_slack: FakeSlack) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def post() -> None:
        c = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
        ts = c.chat_postMessage(channel="C0DEPLOY", text="x")["ts"]
        with lock:
            results.append(ts)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 10
    assert len(fake_slack.calls("chat.postMessage")) == 10


@pytest.fixture
def separate_fake() -> Iterator[FakeSlack]:
    with FakeSlack(token="xoxb-other") as fake:
        yield fake


def test_token_is_configurable_and_servers_are_independent(
    separate_fake: FakeSlack, fake_slack: FakeSlack
) -> None:
    assert separate_fake.port != fake_slack.port
    client = WebClient(token="xoxb-other", base_url=separate_fake.base_url)
    assert client.auth_test()["ok"]
    assert fake_slack.calls() == []
