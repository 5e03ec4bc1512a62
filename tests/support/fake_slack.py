"""A local HTTP server that plays the Slack Web API, response URLs and incoming webhooks.

The bot under test talks to this server exactly as it talks to Slack (its ``SLACK_API_URL``
points at ``FakeSlack.base_url``), so integration tests exercise the bot's real HTTP client
code, retries and error handling instead of a mocked function. Every request is recorded so
tests can assert on what the bot sent; faults (429s, 5xx, slowness) can be injected.

Wire format follows Slack's: POST to ``/api/<method>`` with either a form-encoded or JSON
body and ``Authorization: Bearer xoxb-...``; JSON answers ``{"ok": true, ...}``; errors are
HTTP 200 with ``{"ok": false, "error": "..."}`` except rate limits (429 + ``Retry-After``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .block_kit import validate_view
from .fake_server import FakeServer, Fault
from .slack_limits import input_errors, message_error

# Identities shared with slack_requests.py so that requests "from Slack" and the Web API
# describe the same workspace and app.
TEAM_ID = "T0TEAM0001"
TEAM_DOMAIN = "mozilla-test"
TEAM_NAME = "Mozilla Test"
API_APP_ID = "A0DEPLOYBOT"
BOT_USER_ID = "UBOTUSER"
BOT_ID = "B0DEPLOYBOT"
BOT_NAME = "deploybot"
DEFAULT_TOKEN = "xoxb-test-token"
DEFAULT_TZ = "America/New_York"

# Form fields that slack_sdk (and Slack's docs) send as JSON-encoded strings.
_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata", "user_auth_blocks"})

# Element types Slack gives an action_id when the app leaves it out (non-interactive
# elements such as images and text objects get none).
_NON_INTERACTIVE = frozenset({"image", "plain_text", "mrkdwn"})

# Slack's ``tz_label`` is a long zone name that zoneinfo does not provide; the common zones
# are listed here (standard, daylight) and others fall back to the abbreviation.
_TZ_LABELS: dict[str, tuple[str, str]] = {
    "America/New_York": ("Eastern Standard Time", "Eastern Daylight Time"),
    "America/Toronto": ("Eastern Standard Time", "Eastern Daylight Time"),
    "America/Chicago": ("Central Standard Time", "Central Daylight Time"),
    "America/Denver": ("Mountain Standard Time", "Mountain Daylight Time"),
    "America/Phoenix": ("Mountain Standard Time", "Mountain Standard Time"),
    "America/Los_Angeles": ("Pacific Standard Time", "Pacific Daylight Time"),
    "America/Vancouver": ("Pacific Standard Time", "Pacific Daylight Time"),
    "Europe/London": ("Greenwich Mean Time", "British Summer Time"),
    "Europe/Berlin": ("Central European Time", "Central European Summer Time"),
    "Europe/Paris": ("Central European Time", "Central European Summer Time"),
    "Europe/Amsterdam": ("Central European Time", "Central European Summer Time"),
    "Asia/Kolkata": ("India Standard Time", "India Standard Time"),
    "Asia/Tokyo": ("Japan Standard Time", "Japan Standard Time"),
    "Australia/Sydney": ("Australian Eastern Standard Time", "Australian Eastern Daylight Time"),
    "Pacific/Auckland": ("New Zealand Standard Time", "New Zealand Daylight Time"),
    "UTC": ("Coordinated Universal Time", "Coordinated Universal Time"),
}


@dataclass(frozen=True)
class SlackCall:
    """One request the bot made.

    ``method`` is the Web API method (``"chat.postMessage"``), or ``"response_url"`` /
    ``"webhook"`` for those endpoints, whose id is then in ``target``. ``headers`` keys are
    lower-case. ``body`` merges query string, form fields (JSON fields decoded) or the JSON
    body. ``status`` and ``response`` are what the fake answered.
    """

    method: str
    path: str
    http_method: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw_body: bytes
    time: float
    status: int = 200
    response: Any = None
    target: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)

    @property
    def ok(self) -> bool:
        """Whether the fake answered this call successfully."""
        return self.status == 200 and (
            not isinstance(self.response, dict) or bool(self.response.get("ok", True))
        )

    @property
    def text(self) -> str | None:
        value = self.body.get("text")
        return value if isinstance(value, str) else None

    @property
    def blocks(self) -> list[Any]:
        blocks = self.body.get("blocks")
        if blocks is None and isinstance(self.body.get("view"), dict):
            blocks = self.body["view"].get("blocks")
        return blocks if isinstance(blocks, list) else []

    def all_text(self) -> str:
        """Every ``text`` string anywhere in the body, one per line.

        Tests usually care that a message *says* something, not which block it is in;
        this lets them assert ``"STUCK THE LANDING" in call.all_text()``.
        """
        return "\n".join(_collect_texts(self.body))

    def summary(self) -> str:
        text = self.all_text().replace("\n", " | ")
        if len(text) > 160:
            text = text[:157] + "..."
        where = f"[{self.target}]" if self.target else ""
        channel = self.body.get("channel")
        channel_part = f" channel={channel}" if channel else ""
        return f"{self.method}{where} -> {self.status}{channel_part}: {text!r}"


def _collect_texts(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from _collect_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _collect_texts(item)


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    tz: str | None  # None: the profile has no zone, and users.info leaves tz out
    is_bot: bool = False
    deleted: bool = False
    email: str | None = None


@dataclass
class _State:
    """Everything ``reset()`` puts back besides calls, faults and delays (FakeServer's);
    kept together so reset cannot forget a field."""

    users: dict[str, _User] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class FakeSlack(FakeServer[SlackCall]):
    """The fake Slack server. Use as a context manager or call ``start()``/``stop()``;
    calls are selected by Web API method (``"chat.postMessage"``), ``"response_url"`` or
    ``"webhook"`` (see support/fake_server.py for waiting, faults and delays)."""

    thread_name = "fake-slack"
    server_version = "FakeSlack/1.0"

    def __init__(
        self, token: str = DEFAULT_TOKEN, *, validate: bool = True, niceness: int = 0
    ) -> None:
        super().__init__(niceness=niceness)
        self.token = token
        # Block Kit checks can be switched off for a test that sends deliberately odd blocks.
        self.validate = validate
        self.default_tz = DEFAULT_TZ
        self._state = _State()
        # Counters survive reset() so ts/view ids stay unique across a whole session:
        # a test must never see an id a previous test's bot state still refers to.
        self._ts_counter = 0
        self._view_counter = 0
        self._hash_counter = 0
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.open": self._conversations_open,
        }

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """Web API base URL; give it to the bot as ``SLACK_API_URL``."""
        return f"{self.url}/api/"

    def response_url(self, response_id: str) -> str:
        """A response URL (as in slash command / interaction payloads) served by this fake."""
        return f"{self.url}/response/{urllib.parse.quote(response_id, safe='')}"

    def webhook_url(self, webhook_id: str) -> str:
        """An incoming-webhook URL (``SLACK_WEBHOOK_RA``) served by this fake."""
        return f"{self.url}/webhook/{urllib.parse.quote(webhook_id, safe='')}"

    # ---------------------------------------------------------- configuration

    def _key(self, call: SlackCall) -> str:
        return call.method

    def _reset(self) -> None:
        # reset() also forgets users, user groups, messages and views.
        self._state = _State()
        self.validate = True
        self.default_tz = DEFAULT_TZ

    def set_user(
        self,
        user_id: str,
        *,
        tz: str | None = None,
        name: str | None = None,
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
        without_tz: bool = False,
    ) -> None:
        """Configure what ``users.info`` says about a user (others get defaults).
        ``without_tz``: the answer has no ``tz``, ``tz_label`` or ``tz_offset``."""
        ZoneInfo(tz or self.default_tz)  # fail here, in the test, on a typo'd zone name
        with self._lock:
            self._state.users[user_id] = _User(
                id=user_id,
                name=name or user_id.lower(),
                real_name=real_name or f"User {user_id}",
                tz=None if without_tz else tz or self.default_tz,
                is_bot=is_bot,
                deleted=deleted,
                email=email,
            )

    def set_usergroup(self, usergroup_id: str, members: list[str]) -> None:
        """Configure ``usergroups.users.list`` for one user group (``S...`` id)."""
        with self._lock:
            self._state.usergroups[usergroup_id] = list(members)

    def fail_next(
        self,
        where: str,
        status: int = 429,
        *,
        times: int = 1,
        retry_after: int | None = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls ``where`` selects fail.

        ``status=429`` answers ``ratelimited`` with ``Retry-After: retry_after`` (as Slack
        does); a 5xx answers ``internal_error``; ``status=200`` with ``error="..."`` answers
        ``{"ok": false, "error": error}`` (e.g. ``channel_not_found``). ``where`` may be
        ``"response_url"``, ``"webhook"`` or ``"*"`` (any call).
        """
        if status == 200 and not error:
            raise ValueError("a status-200 fault needs an error code")
        self._add_fault(
            Fault(
                where=where, status=status, remaining=times, retry_after=retry_after, message=error
            )
        )

    def seed_message(
        self, channel: str, ts: str, text: str = "", blocks: list[Any] | None = None
    ) -> None:
        """Pretend a bot message exists, so ``chat.update`` on it succeeds."""
        with self._lock:
            self._state.messages[(channel, ts)] = self._message(
                {"text": text, "blocks": blocks or []}, ts
            )

    # --------------------------------------------------------------- inspection

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The current state of a posted message (after any ``chat.update``)."""
        with self._lock:
            msg = self._state.messages.get((channel, ts))
            return json.loads(json.dumps(msg)) if msg is not None else None

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Current state of every live bot message, in posting order."""
        with self._lock:
            found = [m for (ch, _), m in self._state.messages.items() if channel in (None, ch)]
            # A deep copy, so a test cannot change the fake's state by accident.
            copied: list[dict[str, Any]] = json.loads(json.dumps(found))
            return copied

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The current state of a view opened/updated/published through the fake."""
        with self._lock:
            view = self._state.views.get(view_id)
            return json.loads(json.dumps(view)) if view is not None else None

    def wait_for_response(
        self,
        response_id: str,
        predicate: Callable[[SlackCall], bool] | None = None,
        timeout: float = 10.0,
    ) -> SlackCall:
        """Wait for a POST to ``response_url(response_id)``."""

        def matches(call: SlackCall) -> bool:
            return call.target == response_id and (predicate is None or predicate(call))

        return self.wait_for("response_url", matches, timeout)

    def wait_for_webhook(
        self,
        webhook_id: str,
        predicate: Callable[[SlackCall], bool] | None = None,
        timeout: float = 10.0,
    ) -> SlackCall:
        """Wait for a POST to ``webhook_url(webhook_id)``."""

        def matches(call: SlackCall) -> bool:
            return call.target == webhook_id and (predicate is None or predicate(call))

        return self.wait_for("webhook", matches, timeout)

    # ----------------------------------------------------------- request flow

    def handle(
        self,
        http_method: str,
        path: str,
        headers: dict[str, str],
        raw_body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request; returns (status, headers, body). Records the call."""
        received = time.time()
        parsed = urllib.parse.urlsplit(path)
        parts = parsed.path.split("/")
        target: str | None = None
        if parsed.path.startswith("/api/") and len(parts) == 3:
            method = parts[2]
        elif parsed.path.startswith("/response/") and len(parts) == 3:
            method, target = "response_url", urllib.parse.unquote(parts[2])
        elif parsed.path.startswith("/webhook/") and len(parts) == 3:
            method, target = "webhook", urllib.parse.unquote(parts[2])
        else:
            return 404, {"Content-Type": "text/plain"}, b"not found"

        parse_error: str | None = None
        try:
            body = _parse_body(parsed.query, headers.get("content-type", ""), raw_body)
        except ValueError as exc:
            body, parse_error = {}, str(exc)

        delay = self._delay_for(method)
        if delay:
            time.sleep(delay)

        status, response, extra_headers = self._respond(method, headers, body, parse_error)
        if isinstance(response, bytes):
            payload, content_type = response, "text/plain; charset=utf-8"
        else:
            payload = json.dumps(response).encode()
            content_type = "application/json; charset=utf-8"
        self._record(
            SlackCall(
                method=method,
                path=parsed.path,
                http_method=http_method,
                headers=headers,
                body=body,
                raw_body=raw_body,
                time=received,
                status=status,
                response=response if not isinstance(response, bytes) else response.decode(),
                target=target,
            )
        )
        return status, {"Content-Type": content_type, **extra_headers}, payload

    def _respond(
        self,
        method: str,
        headers: dict[str, str],
        body: dict[str, Any],
        parse_error: str | None,
    ) -> tuple[int, dict[str, Any] | bytes, dict[str, str]]:
        fault = self._take_fault(method)
        if fault is not None:
            if fault.status == 429:
                after = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                return 429, {"ok": False, "error": "ratelimited"}, after
            if fault.status >= 500:
                return fault.status, {"ok": False, "error": fault.message or "internal_error"}, {}
            return fault.status, {"ok": False, "error": fault.message}, {}

        if method == "response_url":
            if parse_error is not None:
                return 400, b"invalid_payload", {}
            # Over-limit blocks are refused here as by chat.postMessage: the person sees
            # nothing, which is what the tests must catch.
            refused = message_error(body) if self.validate else None
            if refused is not None:
                return 400, {"ok": False, "error": refused[0], "errors": refused[1]}, {}
            # Slack answers a response_url POST with a tiny JSON document.
            return 200, {"ok": True}, {}
        if method == "webhook":
            if parse_error is not None or not body:
                return 400, b"invalid_payload", {}
            if not (body.get("text") or body.get("blocks") or body.get("attachments")):
                return 400, b"no_text", {}
            refused = message_error(body) if self.validate else None
            if refused is not None:
                return 400, refused[0].encode(), {}
            return 200, b"ok", {}

        if parse_error is not None:
            return 200, {"ok": False, "error": "invalid_json"}, {}
        auth_error = self._check_auth(headers, body)
        if auth_error is not None:
            return 200, {"ok": False, "error": auth_error}, {}
        handler = self._handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        try:
            with self._lock:
                result = handler(body)
        except ApiError as exc:
            return 200, {"ok": False, "error": exc.error, **exc.extra}, {}
        return 200, {"ok": True, **result}, {}

    def _check_auth(self, headers: dict[str, str], body: dict[str, Any]) -> str | None:
        authorization = headers.get("authorization", "")
        token = authorization[7:] if authorization.startswith("Bearer ") else body.get("token")
        if not token:
            # Real Slack distinguishes "no token at all" from "a bad token".
            return "not_authed"
        if token != self.token:
            return "invalid_auth"
        return None

    # ------------------------------------------------------------ Web API methods
    # Called with self._lock held, so they may touch self._state freely.

    def _next_ts(self) -> str:
        self._ts_counter += 1
        micros = 1_700_000_000_000_000 + self._ts_counter * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_view_id(self) -> str:
        self._view_counter += 1
        return f"V{self._view_counter:010d}"

    def _view_hash(self) -> str:
        # Slack's hashes look like "1700000000.abcdef12"; they only need to change on update.
        self._hash_counter += 1
        return f"{int(time.time())}.{self._hash_counter:08x}"

    def _message(self, body: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "text": body.get("text") or "",
            "team": TEAM_ID,
            "bot_profile": {"id": BOT_ID, "app_id": API_APP_ID, "name": BOT_NAME},
        }
        for key in ("attachments", "thread_ts", "metadata"):
            if body.get(key):
                message[key] = body[key]
        if body.get("blocks"):
            message["blocks"] = with_generated_ids(body["blocks"])
        return message

    def _check_message_body(self, body: dict[str, Any]) -> None:
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            raise ApiError("no_text")
        refused = message_error(body) if self.validate else None
        if refused is not None:
            error, errors = refused
            raise ApiError(error, errors=errors, response_metadata={"messages": errors})

    @staticmethod
    def _channel(body: dict[str, Any]) -> str:
        channel = body.get("channel")
        if not isinstance(channel, str) or not channel:
            raise ApiError("channel_not_found")
        # Posting to a user id opens (and posts into) the DM with that user.
        if channel[0] in "UW":
            return "D" + channel
        return channel

    def _api_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"args": body} if body else {}

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(body)
        self._check_message_body(body)
        ts = self._next_ts()
        message = self._message(body, ts)
        self._state.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(body)
        ts = body.get("ts")
        if not ts:
            raise ApiError("invalid_arguments")
        existing = self._state.messages.get((channel, str(ts)))
        if existing is None:
            raise ApiError("message_not_found")
        self._check_message_body(body)
        updated = self._message(body, str(ts))
        if "thread_ts" in existing:
            updated["thread_ts"] = existing["thread_ts"]
        updated["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        self._state.messages[(channel, str(ts))] = updated
        return {"channel": channel, "ts": ts, "text": updated["text"], "message": updated}

    def _chat_delete(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(body)
        ts = str(body.get("ts") or "")
        if self._state.messages.pop((channel, ts), None) is None:
            raise ApiError("message_not_found")
        return {"channel": channel, "ts": ts}

    def _chat_post_ephemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(body)
        if not body.get("user"):
            raise ApiError("user_not_found")
        self._check_message_body(body)
        del channel  # ephemeral messages are not stored: nobody can update them later
        return {"message_ts": self._next_ts()}

    def _chat_get_permalink(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(body)
        ts = str(body.get("message_ts") or "")
        if (channel, ts) not in self._state.messages:
            raise ApiError("message_not_found")
        permalink = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": permalink}

    def _store_view(
        self, view: dict[str, Any], view_id: str, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view.get("type"),
            "blocks": with_generated_ids(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._view_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "previous_view_id": None,
            "app_id": API_APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        for key in ("title", "submit", "close"):
            if key in view:
                stored[key] = view[key]
        self._state.views[view_id] = stored
        return stored

    def _view_arg(self, body: dict[str, Any]) -> dict[str, Any]:
        view = body.get("view")
        if not isinstance(view, dict):
            raise ApiError("invalid_arguments")
        if self.validate:
            errors = validate_view(view) + input_errors(view.get("blocks"), "/view/blocks")
            if errors:
                raise ApiError(
                    "invalid_arguments", errors=errors, response_metadata={"messages": errors}
                )
        return view

    def _views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("trigger_id") and not body.get("interactivity_pointer"):
            raise ApiError("invalid_arguments")
        view = self._view_arg(body)
        if view.get("type") != "modal":
            raise ApiError("invalid_arguments")
        return {"view": self._store_view(view, self._next_view_id(), None)}

    def _views_update(self, body: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(body)
        view_id = body.get("view_id")
        if not view_id and body.get("external_id"):
            view_id = next(
                (
                    vid
                    for vid, v in self._state.views.items()
                    if v["external_id"] == body["external_id"]
                ),
                None,
            )
        previous = self._state.views.get(str(view_id)) if view_id else None
        if previous is None:
            raise ApiError("not_found")
        # Slack's optimistic locking: an out-of-date hash means someone updated it first.
        if body.get("hash") and body["hash"] != previous["hash"]:
            raise ApiError("hash_conflict")
        return {"view": self._store_view(view, str(view_id), previous)}

    def _views_publish(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = body.get("user_id")
        if not user_id:
            raise ApiError("invalid_arguments")
        view = self._view_arg(body)
        if view.get("type") != "home":
            raise ApiError("invalid_arguments")
        # One Home tab per user: keep its view id stable across publishes, like Slack does.
        view_id = f"VHOME{user_id}"
        previous = self._state.views.get(view_id)
        if body.get("hash") and previous and body["hash"] != previous["hash"]:
            raise ApiError("hash_conflict")
        return {"view": self._store_view(view, view_id, previous)}

    def _user(self, user_id: str) -> _User:
        user = self._state.users.get(user_id)
        if user is not None:
            return user
        if user_id == BOT_USER_ID:
            return _User(
                id=user_id, name=BOT_NAME, real_name=BOT_NAME, tz=self.default_tz, is_bot=True
            )
        if not user_id or user_id[0] not in "UW":
            raise ApiError("user_not_found")
        return _User(
            id=user_id, name=user_id.lower(), real_name=f"User {user_id}", tz=self.default_tz
        )

    def _users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self._user(str(body.get("user") or ""))
        zone_fields: dict[str, Any] = {}
        if user.tz is not None:
            now = datetime.now(ZoneInfo(user.tz))
            offset = now.utcoffset()
            labels = _TZ_LABELS.get(user.tz)
            zone_fields = {
                "tz": user.tz,
                "tz_label": (labels[1] if now.dst() else labels[0])
                if labels
                else (now.tzname() or user.tz),
                "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            }
        email = user.email or f"{user.name}@example.com"
        return {
            "user": {
                "id": user.id,
                "team_id": TEAM_ID,
                "name": user.name,
                "deleted": user.deleted,
                "color": "9f69e7",
                "real_name": user.real_name,
                **zone_fields,
                "profile": {
                    "real_name": user.real_name,
                    "real_name_normalized": user.real_name,
                    "display_name": user.name,
                    "display_name_normalized": user.name,
                    "email": email,
                    "team": TEAM_ID,
                    "image_48": "https://a.slack-edge.com/80588/img/avatars/ava_0001-48.png",
                },
                "is_admin": False,
                "is_owner": False,
                "is_primary_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": user.is_bot,
                "is_app_user": False,
                "updated": 1_700_000_000,
                "has_2fa": False,
            }
        }

    def _usergroups_users_list(self, body: dict[str, Any]) -> dict[str, Any]:
        usergroup = str(body.get("usergroup") or "")
        members = self._state.usergroups.get(usergroup)
        if members is None:
            raise ApiError("no_such_subteam")
        return {"users": list(members)}

    def _conversations_open(self, body: dict[str, Any]) -> dict[str, Any]:
        users = body.get("users")
        if isinstance(users, list):
            users = ",".join(str(u) for u in users)
        if body.get("channel"):
            return {"channel": {"id": body["channel"]}, "no_op": True, "already_open": True}
        if not users:
            raise ApiError("users_list_not_supplied")
        ids = [u.strip() for u in str(users).split(",") if u.strip()]
        if len(ids) == 1:
            return {"channel": {"id": "D" + ids[0]}}
        return {"channel": {"id": "G" + "".join(ids)[:20]}}


def _random_id() -> str:
    # Slack's generated ids are short random strings like "hM6" or "UMfx".
    return secrets.token_urlsafe(4)[: 3 + secrets.randbelow(3)]


def with_generated_ids(blocks: Any) -> Any:
    """``blocks`` as Slack stores them: missing block_ids and action_ids filled in.

    Slack does this for every message and view, and interactions then carry those ids, so
    the fake must too for tests to click buttons and fill inputs the bot left unnamed.
    """
    if not isinstance(blocks, list):
        return blocks
    result = copy.deepcopy(blocks)
    for block in result:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", _random_id())
        elements: list[Any] = []
        if block.get("type") == "actions":
            elements.extend(block.get("elements") or [])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                elements.append(block[key])
        for element in elements:
            if isinstance(element, dict) and element.get("type") not in _NON_INTERACTIVE:
                element.setdefault("action_id", _random_id())
    return result


def _parse_body(query: str, content_type: str, raw_body: bytes) -> dict[str, Any]:
    """Merge query parameters and the body, decoding JSON-in-form fields."""
    body: dict[str, Any] = {}
    for key, values in urllib.parse.parse_qs(query, keep_blank_values=True).items():
        body[key] = values[0] if len(values) == 1 else values
    if not raw_body:
        return body
    if content_type.startswith("application/json"):
        try:
            decoded = json.loads(raw_body)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON body: {exc}") from exc
        if not isinstance(decoded, dict):
            raise ValueError("JSON body is not an object")
        body.update(decoded)
    else:
        text = raw_body.decode("utf-8")
        for key, values in urllib.parse.parse_qs(text, keep_blank_values=True).items():
            body[key] = values[0] if len(values) == 1 else values
    for key in _JSON_FIELDS:
        value = body.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # Undecodable JSON is left as sent; Slack would reject it and so will validation.
            with contextlib.suppress(json.JSONDecodeError):
                body[key] = json.loads(value)
    return body
