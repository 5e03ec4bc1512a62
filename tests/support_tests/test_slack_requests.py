"""The request builders produce what Slack sends, signed the way Slack signs it.

Checked three ways: slack_sdk's own SignatureVerifier accepts the signatures (and rejects
forged/old ones); an in-process Bolt app (the framework the bot is built on, not the bot)
parses every request into the arguments a listener expects; and the field names and
encodings match recorded real Slack bodies in tests/fixtures/external.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from support.fake_slack import DEFAULT_TOKEN, TEAM_ID, FakeSlack
from support.slack_requests import (
    ALICE,
    BOB,
    SignedClient,
    SlackRequest,
    app_home_opened,
    block_action,
    event_callback,
    fill_view,
    sign,
    slash_command,
    url_verification,
    view_submission,
)

SECRET = "test-signing-secret"
EXTERNAL = Path(__file__).resolve().parents[1] / "fixtures" / "external"
BOTBUILDER = (
    EXTERNAL / "botbuilder-dotnet/tests/Adapters/Microsoft.Bot.Builder.Adapters.Slack.Tests/Files"
)
JAVA = EXTERNAL / "java-slack-sdk/json-logs/samples"


class Captured:
    """Requests a SignedClient sent, captured by an httpx transport instead of a server."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, text="")

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


@pytest.fixture
def captured() -> Captured:
    return Captured()


@pytest.fixture
def client(captured: Captured, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    transport = httpx.MockTransport(captured)
    with SignedClient(
        "http://bot.invalid", SECRET, fake_slack=fake_slack, transport=transport
    ) as signed:
        yield signed


def verify(request: httpx.Request, secret: str = SECRET) -> bool:
    return SignatureVerifier(secret).is_valid(
        body=request.content.decode(),
        timestamp=request.headers["X-Slack-Request-Timestamp"],
        signature=request.headers["X-Slack-Signature"],
    )


def form(request: SlackRequest) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(request.body, keep_blank_values=True))


def interaction(request: SlackRequest) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(form(request)["payload"])
    return decoded


# ------------------------------------------------------------------ signing


def test_signature_matches_slacks_documented_example() -> None:
    # The worked example from Slack's "Verifying requests from Slack" documentation.
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert (
        sign("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body)
        == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_signed_requests_pass_the_sdk_verifier(client: SignedClient, captured: Captured) -> None:
    client.command("schedule foundation-site #1234 tomorrow 14:00")
    client.block_action("approve", "booking-1", user_id=BOB)
    client.send(view_submission("schedule", {}))
    client.event({"type": "app_mention", "text": "hi", "event_ts": "1.2"})
    client.send(url_verification())
    assert len(captured.requests) == 5
    for request in captured.requests:
        assert verify(request), request.content
        assert request.url.path == "/slack/events"
        assert request.headers["User-Agent"].startswith("Slackbot 1.0")


def test_forged_signature_fails(client: SignedClient, captured: Captured) -> None:
    client.command("list", send_options={"forge_signature": True})
    assert captured.last.headers["X-Slack-Signature"].startswith("v0=")
    assert not verify(captured.last)
    client.command("list", send_options={"signing_secret": "another-secret"})
    assert not verify(captured.last)
    assert verify(captured.last, "another-secret")
    client.command("list", send_options={"omit_signature": True})
    assert "X-Slack-Signature" not in captured.last.headers


def test_old_timestamp_is_a_replay(client: SignedClient, captured: Captured) -> None:
    old = int(time.time()) - 5 * 60 - 1
    client.command("list", send_options={"timestamp": old})
    request = captured.last
    assert request.headers["X-Slack-Request-Timestamp"] == str(old)
    # The signature itself is right for that timestamp; only its age makes it invalid.
    assert request.headers["X-Slack-Signature"] == sign(SECRET, old, request.content)
    assert not verify(request)


def test_retry_headers(client: SignedClient, captured: Captured) -> None:
    request = event_callback({"type": "app_home_opened", "user": ALICE, "event_ts": "1.2"})
    client.send(request)
    client.send(request, retry_num=1, retry_reason="http_timeout")
    first, retry = captured.requests
    assert "X-Slack-Retry-Num" not in first.headers
    assert retry.headers["X-Slack-Retry-Num"] == "1"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert retry.content == first.content  # same event_id: a retry, not a new event
    assert verify(retry)


def test_ids_are_unique_per_request() -> None:
    commands = [slash_command("list") for _ in range(20)]
    assert len({c.trigger_id for c in commands}) == 20
    assert len({c.response_url for c in commands}) == 20
    views = [interaction(view_submission("x")) for _ in range(20)]
    assert len({v["view"]["id"] for v in views}) == 20
    assert len({v["view"]["hash"] for v in views}) == 20
    events = [json.loads(event_callback({"type": "x", "event_ts": "1"}).body) for _ in range(5)]
    assert len({e["event_id"] for e in events}) == 5


def test_convenience_methods_use_fake_response_urls(
    client: SignedClient, fake_slack: FakeSlack
) -> None:
    sent = client.command("help")
    assert sent.response_url_id is not None
    assert sent.request.response_url == fake_slack.response_url(sent.response_url_id)
    # The bot would answer by POSTing there; simulate that and find it by id.
    httpx.post(sent.request.response_url, json={"text": "Usage: /deploy ..."})
    assert fake_slack.wait_for_response(sent.response_url_id).text == "Usage: /deploy ..."


# ---------------------------------------------------------- same shape as Slack


def test_slash_command_fields_match_real_slack() -> None:
    ours = form(slash_command("schedule x", user_id=ALICE, channel_id="C0DEPLOY"))
    real_body = (BOTBUILDER / "SlashCommandBody.txt").read_text()
    real = dict(urllib.parse.parse_qsl(real_body, keep_blank_values=True))
    inventory = json.loads(
        (JAVA / "app-backend/slash-commands/SlashCommandPayload.json").read_text()
    )
    assert set(real) <= set(ours)
    assert set(ours) <= set(inventory)
    assert list(ours)[:8] == list(real)[:8]  # Slack's field order
    assert ours["command"] == "/deploy" and ours["text"] == "schedule x"
    assert ours["team_id"] == TEAM_ID and ours["is_enterprise_install"] == "false"
    # Slack's encoding: "/" as %2F and spaces as "+".
    assert "command=%2Fdeploy" in slash_command("a b").body
    assert "text=a+b" in slash_command("a b").body


def _same_shape(ours: Any, real: Any, path: str = "") -> None:
    """Every key present in both has the same JSON type (recursively)."""
    if isinstance(real, dict) and isinstance(ours, dict):
        for key in set(real) & set(ours):
            _same_shape(ours[key], real[key], f"{path}/{key}")
    elif isinstance(real, list) and isinstance(ours, list) and real and ours:
        _same_shape(ours[0], real[0], f"{path}/0")
    elif real is not None and ours is not None:
        assert type(ours) is type(real), f"{path}: {type(ours).__name__} vs {type(real).__name__}"


def test_block_actions_payload_matches_real_slack() -> None:
    real_body = (BOTBUILDER / "BlockActionsBodyButton.txt").read_text(encoding="utf-8-sig")
    real = json.loads(dict(urllib.parse.parse_qsl(real_body))["payload"])
    inventory = json.loads(
        (JAVA / "app-backend/interactive-components/BlockActionPayload.json").read_text()
    )
    # Click the real message's Approve button, as the recorded payload did.
    request = block_action("f8s", message=real["message"], channel_id="C065W1189", user_id=BOB)
    ours = interaction(request)
    assert request.body.startswith("payload=")
    assert set(real) <= set(ours)
    assert set(ours) <= set(inventory)
    assert set(ours["container"]) <= set(inventory["container"])
    assert set(ours["actions"][0]) <= set(inventory["actions"][0])
    assert set(ours["actions"][0]) == set(real["actions"][0])
    _same_shape(ours, real)
    _same_shape(ours, inventory)
    action = ours["actions"][0]
    assert (action["block_id"], action["value"], action["style"]) == (
        "mdZhQ",
        "click_me_123",
        "primary",
    )
    assert ours["container"]["message_ts"] == real["message"]["ts"]


def test_block_action_on_missing_button_fails_loudly() -> None:
    message = {
        "ts": "1.2",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    with pytest.raises(LookupError, match="approve"):
        block_action("approve", message=message)


def test_view_submission_matches_real_slack() -> None:
    inventory = json.loads((JAVA / "app-backend/views/ViewSubmissionPayload.json").read_text())
    ours = interaction(view_submission("schedule", {}, private_metadata="42"))
    # response_urls is in Slack's documented view_submission payload (empty unless an
    # input sets response_url_enabled) but missing from the java inventory.
    assert set(ours) <= set(inventory) | {"response_urls"}
    assert set(ours["view"]) <= set(inventory["view"]) | {"blocks"}
    _same_shape(ours, inventory)
    assert ours["view"]["callback_id"] == "schedule"
    assert ours["view"]["private_metadata"] == "42"


def test_events_match_the_published_schema() -> None:
    schema = json.loads(
        (EXTERNAL / "slack-api-specs/events-api/slack_common_event_wrapper_schema.json").read_text()
    )
    real = json.loads((BOTBUILDER / "MessageBody.json").read_text())
    ours = json.loads(app_home_opened(ALICE).body)
    for required in schema["required"]:
        assert required in ours
        expected = schema["properties"][required].get("type")
        if expected == "string":
            assert isinstance(ours[required], str)
    for required in schema["properties"]["event"]["required"]:
        assert required in ours["event"]
    assert set(real) <= set(ours)
    verification = json.loads(url_verification("abc").body)
    real_verification = json.loads((BOTBUILDER / "URLVerificationBody.json").read_text())
    assert set(verification) == set(real_verification)


def test_fill_view_builds_state_from_the_opened_view(fake_slack: FakeSlack) -> None:
    view = json.loads((EXTERNAL / "python-slack-sdk/tests/data/view_modal_001.json").read_text())
    web = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
    opened = web.views_open(trigger_id="1.2.3", view=view)["view"]
    radio, multi, improve, other = (b for b in opened["blocks"] if b["type"] == "input")
    state = fill_view(
        opened,
        {
            radio["element"]["action_id"]: "2",
            multi["block_id"]: ["value-0", "value-5"],
            improve["element"]["action_id"]: "More deploy slots",
        },
    )
    assert state[radio["block_id"]][radio["element"]["action_id"]] == {
        "type": "radio_buttons",
        "selected_option": {
            "text": {"type": "plain_text", "text": "Agree", "emoji": True},
            "value": "2",
        },
    }
    multi_entry = state[multi["block_id"]][multi["element"]["action_id"]]
    assert [o["value"] for o in multi_entry["selected_options"]] == ["value-0", "value-5"]
    assert multi_entry["selected_options"][1]["text"]["text"] == ":taco: Tacos"
    assert state[improve["block_id"]][improve["element"]["action_id"]]["value"] == (
        "More deploy slots"
    )
    # An untouched optional input is still there, with a null value, as Slack sends it.
    assert state[other["block_id"]][other["element"]["action_id"]] == {
        "type": "plain_text_input",
        "value": None,
    }
    with pytest.raises(KeyError, match="nope"):
        fill_view(opened, {"nope": "x"})


# ------------------------------------------------------- parsed by Bolt itself


@pytest.fixture
def bolt(fake_slack: FakeSlack) -> tuple[App, dict[str, Any]]:
    """A minimal Bolt app (not the bot) recording what its listeners receive."""
    seen: dict[str, Any] = {}
    app = App(
        client=WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
        signing_secret=SECRET,
        process_before_response=True,  # run listeners inside dispatch(), synchronously
    )

    @app.command("/deploy")
    def on_command(ack: Ack, command: dict[str, Any]) -> None:
        ack("ok")
        seen["command"] = command

    @app.action("approve")
    def on_approve(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        seen["action"] = action
        seen["action_body"] = body

    @app.view("schedule")
    def on_submit(ack: Ack, view: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        seen["view"] = view
        seen["view_user"] = body["user"]["id"]

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any]) -> None:
        seen["event"] = event

    return app, seen


def dispatch(app: App, request: SlackRequest, **headers_kw: Any) -> Any:
    from support.slack_requests import signed_headers

    headers: dict[str, str | Sequence[str]] = {
        "content-type": request.content_type,
        **signed_headers(SECRET, request.body),
    }
    headers.update(headers_kw)
    return app.dispatch(BoltRequest(body=request.body, headers=headers))


def test_bolt_parses_slash_command(bolt: tuple[App, dict[str, Any]], fake_slack: FakeSlack) -> None:
    app, seen = bolt
    assert fake_slack.wait_for("auth.test")  # Bolt checked its token against the fake
    response = dispatch(app, slash_command("schedule foundation-site #1234", user_id=BOB))
    assert response.status == 200 and response.body == "ok"
    assert seen["command"]["text"] == "schedule foundation-site #1234"
    assert seen["command"]["user_id"] == BOB


def test_bolt_parses_block_action_from_posted_message(
    bolt: tuple[App, dict[str, Any]], fake_slack: FakeSlack
) -> None:
    app, seen = bolt
    web = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
    blocks = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": "booking-7",
                }
            ],
        }
    ]
    web.chat_postMessage(channel="C0DEPLOY", text="Approve?", blocks=blocks)
    posted = fake_slack.wait_for("chat.postMessage")
    answer = posted.response
    request = block_action("approve", message=answer["message"], channel_id=answer["channel"])
    assert dispatch(app, request).status == 200
    assert seen["action"]["value"] == "booking-7"
    assert seen["action_body"]["container"]["message_ts"] == answer["ts"]
    assert seen["action_body"]["channel"]["id"] == "C0DEPLOY"


def test_bolt_parses_view_submission(
    bolt: tuple[App, dict[str, Any]], fake_slack: FakeSlack
) -> None:
    app, seen = bolt
    modal = {
        "type": "modal",
        "callback_id": "schedule",
        "title": {"type": "plain_text", "text": "Book a deploy"},
        "submit": {"type": "plain_text", "text": "Book"},
        "private_metadata": "app=foundation-site",
        "blocks": [
            {
                "type": "input",
                "block_id": "when",
                "label": {"type": "plain_text", "text": "When"},
                "element": {"type": "datepicker", "action_id": "date"},
            }
        ],
    }
    opened = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url).views_open(
        trigger_id="1.2.3", view=modal
    )["view"]
    request = view_submission(view=opened, state_values=fill_view(opened, {"date": "2030-01-02"}))
    assert dispatch(app, request, **{"x-slack-retry-num": "1"}).status == 200
    assert seen["view"]["id"] == opened["id"]
    assert seen["view"]["private_metadata"] == "app=foundation-site"
    assert seen["view"]["state"]["values"]["when"]["date"]["selected_date"] == "2030-01-02"
    assert seen["view_user"] == ALICE


def test_bolt_handles_events_and_url_verification(bolt: tuple[App, dict[str, Any]]) -> None:
    app, seen = bolt
    assert dispatch(app, app_home_opened(BOB)).status == 200
    assert seen["event"]["user"] == BOB
    response = dispatch(app, url_verification("the-challenge"))
    assert response.status == 200 and "the-challenge" in response.body


def test_bolt_rejects_forged_and_replayed(bolt: tuple[App, dict[str, Any]]) -> None:
    app, seen = bolt
    request = slash_command("list")
    forged = {"x-slack-signature": "v0=" + "0" * 64}
    assert dispatch(app, request, **forged).status == 401
    old = int(time.time()) - 301
    replay = {
        "x-slack-request-timestamp": str(old),
        "x-slack-signature": sign(SECRET, old, request.body),
    }
    assert dispatch(app, request, **replay).status == 401
    assert "command" not in seen
