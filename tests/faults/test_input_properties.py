"""Property-based tests over HTTP against the shared bot: whatever arrives at
``/slack/events`` (random or huge command text, Slack-escaped links, malformed or
mistyped interaction payloads), the bot never answers with a server error, never stores
anything from input it refused, and always says something useful.

Example counts are modest: every example is a real request to the real server.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from faults.common import assert_acknowledged, row_counts
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import SignedClient, SlackRequest

pytestmark = pytest.mark.slow

SUBCOMMANDS = [
    "schedule",
    "list",
    "cancel",
    "ready",
    "start",
    "done",
    "failed",
    "rolledback",
    "edit",
    "history",
    "plan",
    "help",
    "",
    "frobnicate",
]
SLACKY = st.sampled_from(
    [
        "<https://github.com/o/r/pull/9|o/r#9>",
        "<@U0ALICE001>",
        "<#C0DEPLOY|engineering>",
        "<!subteam^S0APPROVERS>",
        "&lt;&gt;&amp;",
        "tomorrow 14:00",
        "for 45m",
        "#123",
        "B7K2Q",
        "--override",
        "`ZZZZZ`",
        "\u0000",
        "\u202e",
        "😀",
    ]
)
ARGS = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(SLACKY, st.text(max_size=10)), max_size=8).map(" ".join),
    st.text(min_size=3000, max_size=4000),  # Slack's own limit on command text
)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STORED_BY_SUCCESS = ("Booked", "Plan `", "Cancelled", "Announced", "is deploying", "landed")


@SETTINGS
@given(subcommand=st.sampled_from(SUBCOMMANDS), args=ARGS)
@example(subcommand="cancel", args="\x00")  # PostgreSQL refuses NUL in text
@example(subcommand="schedule", args='#1 tomorrow 14:00 "a\x00b"')
def test_any_command_text_is_answered_and_stores_nothing_unless_accepted(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine, subcommand: str, args: str
) -> None:
    before = row_counts(db_engine)
    text = f"{subcommand} {args}".strip()
    sent = slack.command(text)
    assert_acknowledged(sent)
    # The bot drops NUL characters (PostgreSQL cannot hold them) before reading the text.
    name, _, rest = text.replace("\x00", "").strip().partition(" ")
    if name == "schedule" and not rest.strip():
        # No arguments: the booking form opens instead.
        trigger_id = sent.request.payload["trigger_id"]
        fake_slack.wait_for("views.open", lambda c: c.get("trigger_id") == trigger_id)
        assert row_counts(db_engine) == before
        return
    if sent.text.strip():
        # Answered in the acknowledgement itself (help, unknown subcommands).
        assert "/deploy" in sent.json()["text"]
        return
    assert sent.response_url_id is not None
    reply = fake_slack.wait_for_response(sent.response_url_id)
    answer = reply.all_text()
    assert answer.strip()
    assert reply.body.get("response_type") == "ephemeral"
    assert "Something went wrong" not in answer, answer
    if not any(word in answer for word in STORED_BY_SUCCESS):
        assert row_counts(db_engine) == before, answer


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


@st.composite
def interaction_payloads(draw: st.DrawFn) -> str:
    """``payload=`` bodies: plausible shapes with wrong types, missing fields or junk."""
    kind = draw(st.sampled_from(["block_actions", "view_submission", "junk", "not-json"]))
    if kind == "not-json":
        return draw(st.text(max_size=200))
    if kind == "junk":
        return json.dumps(draw(JSONISH))
    user = draw(st.one_of(st.just({"id": "U0BOB00002"}), JSONISH))
    if kind == "block_actions":
        action_id = draw(
            st.sampled_from(["approval_approve", "approval_request_changes", "booking_ready"])
        )
        action = {
            "action_id": action_id,
            "block_id": draw(st.text(max_size=10)),
            "type": "button",
            "value": draw(st.one_of(st.text(max_size=30), JSONISH)),
        }
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": user,
            "team": {"id": "T0TEAM0001"},
            "api_app_id": "A0DEPLOYBOT",
            "actions": draw(st.sampled_from([[action], [], action, None, "x"])),
            "trigger_id": draw(st.one_of(st.text(max_size=30), st.integers())),
            "response_url": draw(st.sampled_from(["", "http://127.0.0.1:9/x", 5])),
        }
    else:
        callback = draw(st.sampled_from(["booking_schedule", "approval_changes", "other"]))
        payload = {
            "type": "view_submission",
            "user": user,
            "team": {"id": "T0TEAM0001"},
            "api_app_id": "A0DEPLOYBOT",
            "view": {
                "id": draw(st.text(max_size=12)),
                "callback_id": callback,
                "private_metadata": draw(st.one_of(st.text(max_size=30), st.just("{}"))),
                "state": {"values": draw(JSONISH)},
            },
        }
    for key in draw(st.lists(st.sampled_from(list(payload)), max_size=2)):
        payload.pop(key, None)  # missing fields
    return json.dumps(payload)


def _view(callback_id: str, values: Any) -> str:
    view = {"id": "V1", "callback_id": callback_id, "state": {"values": values}}
    return json.dumps({"type": "view_submission", "user": {"id": "U0BOB00002"}, "view": view})


@SETTINGS
@given(payload=interaction_payloads())
@example(payload="null")
@example(
    payload=json.dumps(
        {
            "type": "block_actions",
            "user": {"id": "U0BOB00002"},
            "actions": [{"action_id": "approval_approve", "value": "AB\u0000CD:0"}],
        }
    )
)
@example(payload="[]")
@example(payload=_view("booking_schedule", "x"))
@example(payload=_view("booking_schedule", {"app": {"app": None}}))
@example(payload=_view("approval_changes", {}))
@example(
    payload=json.dumps({"type": "block_actions", "actions": [{"action_id": "approval_approve"}]})
)
def test_malformed_interactions_never_cause_a_server_error_or_a_stored_row(
    bot: BotProcess, slack: SignedClient, db_engine: Engine, payload: str
) -> None:
    before = row_counts(db_engine)
    body = urllib.parse.urlencode({"payload": payload})
    request = SlackRequest(
        kind="interaction",
        body=body,
        content_type="application/x-www-form-urlencoded",
        payload={},
    )
    sent = slack.send(request)
    assert sent.status_code < 500, (sent.status_code, sent.text[:300])
    assert sent.elapsed < 3.0
    assert row_counts(db_engine) == before
