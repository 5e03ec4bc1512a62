"""Requests exactly as Slack sends them to the bot's ``POST /slack/events``, and a client
that signs and sends them.

Field names, nesting and encodings follow what Slack really sends (see the recorded bodies
in /work/shared/fixtures/external/botbuilder-dotnet and the field inventories in
java-slack-sdk): slash commands are ``application/x-www-form-urlencoded`` fields,
interactions are ``payload=<urlencoded JSON>``, Events API callbacks are JSON. Signing is
Slack's v0 scheme: ``v0=hex(hmac_sha256(secret, "v0:{timestamp}:{raw body}"))``.

Builders return an immutable ``SlackRequest`` (the exact body); signing happens when it is
sent, so one request can be re-sent as a Slack retry with a fresh signature, or replayed
with an old timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from .fake_slack import API_APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, SlackCall
from .inprocess import WSGI_BASE_URL

if TYPE_CHECKING:
    from .fake_slack import FakeSlack
    from .inprocess import InProcessBot
    from .server import BotProcess

# Slack still sends the deprecated verification token in every payload; Bolt ignores it.
VERIFICATION_TOKEN = "Jhj5dZrVaK7ZwHHjRyZWjbDl"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

# A small cast of users so tests read naturally ("alice books, bob approves").
ALICE = "U0ALICE001"
BOB = "U0BOB00002"
CAROL = "U0CAROL003"
DAVE = "U0DAVE0004"
USER_NAMES = {ALICE: "alice", BOB: "bob", CAROL: "carol", DAVE: "dave"}
DEFAULT_CHANNEL = "C0DEPLOY"
DEFAULT_CHANNEL_NAME = "engineering"

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _next() -> int:
    with _counter_lock:
        return next(_counter)


def new_trigger_id() -> str:
    """A unique trigger id in Slack's shape (``986106486595.599882441093.<32 hex>``)."""
    return f"{1_000_000_000_000 + _next()}.599882441093.{secrets.token_hex(16)}"


def new_view_id() -> str:
    return f"V{secrets.token_hex(5).upper()}"


def new_view_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def new_ts() -> str:
    """A unique ts ("seconds.micros") near now, for action_ts and made-up messages."""
    micros = int(time.time() * 1_000_000) + _next()
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def new_event_id() -> str:
    return f"Ev{secrets.token_hex(5).upper()}"


def name_of(user_id: str) -> str:
    return USER_NAMES.get(user_id, user_id.lower())


def default_response_url(kind: str = "commands") -> str:
    """A realistic hooks.slack.com URL. Nothing answers it offline: prefer the fake's."""
    return (
        f"https://hooks.slack.com/{kind}/{TEAM_ID}/{6204672533 + _next()}/{secrets.token_hex(12)}"
    )


# ------------------------------------------------------------------ the request


@dataclass(frozen=True)
class SlackRequest:
    """An unsigned request body as Slack would send it.

    ``payload`` is the decoded content (form fields, or the interaction/event JSON) so tests
    can read back generated ids; ``body`` is the exact text that gets signed and sent.
    """

    kind: str
    body: str
    content_type: str
    payload: Mapping[str, Any]
    response_url: str | None = None
    trigger_id: str | None = None


def sign(signing_secret: str, timestamp: int | str, body: str | bytes) -> str:
    """Slack's v0 request signature for ``body`` sent at ``timestamp``."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    signing_secret: str, body: str | bytes, timestamp: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(signing_secret, ts, body),
    }


def _form(fields: Mapping[str, str]) -> str:
    # quote_plus, as Slack does: spaces become "+", "/" becomes "%2F".
    return urllib.parse.urlencode(fields)


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _interaction(kind: str, payload: dict[str, Any]) -> SlackRequest:
    return SlackRequest(
        kind=kind,
        body=_form({"payload": _compact(payload)}),
        content_type="application/x-www-form-urlencoded",
        payload=payload,
        response_url=payload.get("response_url"),
        trigger_id=payload.get("trigger_id"),
    )


def _team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def _user(user_id: str, name: str | None) -> dict[str, Any]:
    name = name or name_of(user_id)
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


# ------------------------------------------------------------------ builders


def slash_command(
    text: str,
    *,
    user_id: str = ALICE,
    user_name: str | None = None,
    channel_id: str = DEFAULT_CHANNEL,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    command: str = "/deploy",
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> SlackRequest:
    """``/deploy <text>`` as Slack posts it (form fields in Slack's own order)."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or name_of(user_id),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or default_response_url("commands"),
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return SlackRequest(
        kind="slash_command",
        body=_form(fields),
        content_type="application/x-www-form-urlencoded",
        payload=fields,
        response_url=fields["response_url"],
        trigger_id=fields["trigger_id"],
    )


def find_element(blocks: list[Any], action_id: str) -> tuple[str | None, dict[str, Any]]:
    """Find the interactive element ``action_id`` in ``blocks``; return (block_id, element)."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        candidates = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    found = [
        e.get("action_id")
        for b in blocks
        if isinstance(b, dict)
        for e in [*(b.get("elements") or []), b.get("accessory"), b.get("element")]
        if isinstance(e, dict) and e.get("action_id")
    ]
    raise LookupError(f"no element with action_id {action_id!r}; the blocks have {found}")


def _option_text(element: Mapping[str, Any], value: str) -> str:
    for option in element.get("options") or []:
        if isinstance(option, dict) and option.get("value") == value:
            return str(option.get("text", {}).get("text", value))
    for group in element.get("option_groups") or []:
        text = _option_text(group, value)
        if text != value:
            return text
    return value


def _option(element: Mapping[str, Any], value: str) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": _option_text(element, value), "emoji": True},
        "value": value,
    }


def _action(
    element: Mapping[str, Any], block_id: str | None, value: Any, action_ts: str
) -> dict[str, Any]:
    """The ``actions[0]`` entry Slack sends for a click/selection on ``element``."""
    kind = element.get("type", "button")
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block_id or secrets.token_urlsafe(3),
        "type": kind,
        "action_ts": action_ts,
    }
    if kind == "button":
        action["text"] = element.get("text") or {"type": "plain_text", "text": "Button"}
        if value is not None:
            action["value"] = value
        elif "value" in element:
            action["value"] = element["value"]
        for key in ("style", "url"):
            if key in element:
                action[key] = element[key]
    elif kind in ("static_select", "external_select", "overflow", "radio_buttons"):
        action["selected_option"] = _option(element, str(value))
    elif kind in ("multi_static_select", "checkboxes"):
        action["selected_options"] = [_option(element, str(v)) for v in value]
    elif kind == "users_select":
        action["selected_user"] = value
    elif kind == "conversations_select":
        action["selected_conversation"] = value
    elif kind == "channels_select":
        action["selected_channel"] = value
    elif kind == "datepicker":
        action["selected_date"] = value
    elif kind == "timepicker":
        action["selected_time"] = value
    elif kind == "datetimepicker":
        action["selected_date_time"] = int(value)
    else:
        action["value"] = value
    return action


def block_action(
    action_id: str,
    value: Any = None,
    *,
    user_id: str = ALICE,
    user_name: str | None = None,
    channel_id: str = DEFAULT_CHANNEL,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    message: Mapping[str, Any] | None = None,
    message_ts: str | None = None,
    view: Mapping[str, Any] | None = None,
    element: Mapping[str, Any] | None = None,
    block_id: str | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
    state_values: Mapping[str, Any] | None = None,
) -> SlackRequest:
    """A ``block_actions`` interaction: a click or selection on ``action_id``.

    Give the ``message`` the bot posted (as returned by the fake) and the element is looked
    up in its blocks, so the payload carries the bot's real block_id, text and value (a
    missing button fails here, which is itself a useful assertion). Give ``view`` instead
    for an element inside a modal or the App Home; then, as in Slack, there is no channel,
    message or response_url. Without either, a button with ``action_id``/``value`` is made up.
    """
    blocks: list[Any] = []
    if view is not None:
        blocks = list(view.get("blocks") or [])
    elif message is not None:
        blocks = list(message.get("blocks") or [])
    if element is None:
        if blocks:
            block_id_found, found = find_element(blocks, action_id)
            element, block_id = found, block_id or block_id_found
        else:
            element = {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
            }
    block_id = block_id or secrets.token_urlsafe(3)
    action_ts = new_ts()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {},
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        view_payload = dict(view)
        view_payload.setdefault("id", new_view_id())
        view_payload.setdefault("hash", new_view_hash())
        view_payload["state"] = {"values": dict(state_values or {})}
        payload["container"] = {"type": "view", "view_id": view_payload["id"]}
        payload["view"] = view_payload
    else:
        if message is None:
            ts = message_ts or new_ts()
            message = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "app_id": API_APP_ID,
                "team": TEAM_ID,
                "text": "",
                "ts": ts,
                "blocks": [{"type": "actions", "block_id": block_id, "elements": [element]}],
            }
        ts = message_ts or str(message.get("ts") or new_ts())
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": channel_name}
        payload["message"] = {**message, "ts": ts}
        payload["state"] = {"values": dict(state_values or {})}
        payload["response_url"] = response_url or default_response_url("actions")
    payload["actions"] = [_action(element, block_id, value, action_ts)]
    return _interaction("block_actions", payload)


def _state_entry(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """One ``view.state.values[block][action]`` entry for ``element`` holding ``value``."""
    kind = element.get("type", "plain_text_input")
    entry: dict[str, Any] = {"type": kind}
    if kind in ("static_select", "external_select", "radio_buttons"):
        entry["selected_option"] = None if value is None else _option(element, str(value))
    elif kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        entry["selected_options"] = [_option(element, str(v)) for v in (value or [])]
    elif kind == "users_select":
        entry["selected_user"] = value
    elif kind == "multi_users_select":
        entry["selected_users"] = list(value or [])
    elif kind == "conversations_select":
        entry["selected_conversation"] = value
    elif kind == "multi_conversations_select":
        entry["selected_conversations"] = list(value or [])
    elif kind == "channels_select":
        entry["selected_channel"] = value
    elif kind == "multi_channels_select":
        entry["selected_channels"] = list(value or [])
    elif kind == "datepicker":
        entry["selected_date"] = value
    elif kind == "timepicker":
        entry["selected_time"] = value
        if element.get("timezone"):
            entry["timezone"] = element["timezone"]
    elif kind == "datetimepicker":
        entry["selected_date_time"] = None if value is None else int(value)
    else:
        # plain_text_input, number_input, email_text_input, url_text_input: Slack sends
        # the typed text as a string (or null when left empty).
        entry["value"] = None if value is None else str(value)
    return entry


def _initial(element: Mapping[str, Any]) -> Any:
    """What Slack reports for an input the user did not touch: its initial value."""
    kind = element.get("type")
    if "initial_option" in element:
        return element["initial_option"].get("value")
    if "initial_options" in element:
        return [o.get("value") for o in element["initial_options"]]
    for key in (
        "initial_value",
        "initial_date",
        "initial_time",
        "initial_user",
        "initial_conversation",
        "initial_channel",
        "initial_date_time",
    ):
        if key in element:
            return element[key]
    if kind and kind.startswith("multi_"):
        for key in ("initial_users", "initial_conversations", "initial_channels"):
            if key in element:
                return element[key]
    return None


def fill_view(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Build ``view.state.values`` as if a user filled in the modal the bot opened.

    ``values`` maps an input's action_id (or its block_id) to the value: text for text
    inputs, the option value for selects, a list for multi-selects/checkboxes,
    ``"YYYY-MM-DD"`` for date pickers, ``"HH:MM"`` for time pickers, a user id for user
    selects. Inputs not mentioned keep their initial value, or null as Slack sends. A key
    that matches no input raises, so a renamed field fails loudly.
    """
    state: dict[str, Any] = {}
    used: set[str] = set()
    for block in view.get("blocks") or []:
        if not isinstance(block, dict) or block.get("type") != "input":
            continue
        element = block.get("element") or {}
        block_id = block.get("block_id")
        action_id = element.get("action_id")
        if not block_id or not action_id:
            raise ValueError(
                f"input block without block_id/action_id cannot be filled reliably: {block}"
            )
        if action_id in values:
            value, key = values[action_id], action_id
        elif block_id in values:
            value, key = values[block_id], block_id
        else:
            value, key = _initial(element), None
        if key is not None:
            used.add(key)
        state[block_id] = {action_id: _state_entry(element, value)}
    unknown = set(values) - used
    if unknown:
        raise KeyError(f"no input with action_id/block_id {sorted(unknown)} in the view")
    return state


def view_submission(
    callback_id: str = "",
    state_values: Mapping[str, Any] | None = None,
    *,
    user_id: str = ALICE,
    user_name: str | None = None,
    private_metadata: str | None = None,
    view_id: str | None = None,
    view_hash: str | None = None,
    view: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    response_urls: list[dict[str, Any]] | None = None,
) -> SlackRequest:
    """A ``view_submission`` interaction (the user pressed the modal's submit button).

    Pass the ``view`` the bot opened (from the fake's ``views.open`` answer) to submit it
    with its real id, hash, callback_id, blocks and private_metadata; explicit arguments
    override those.
    """
    base: dict[str, Any] = dict(view or {})
    full_view: dict[str, Any] = {
        "id": view_id or base.get("id") or new_view_id(),
        "team_id": TEAM_ID,
        "type": "modal",
        "blocks": base.get("blocks", []),
        "private_metadata": (
            private_metadata if private_metadata is not None else base.get("private_metadata", "")
        ),
        "callback_id": callback_id or base.get("callback_id", ""),
        "state": {"values": dict(state_values or {})},
        "hash": view_hash or base.get("hash") or new_view_hash(),
        "title": base.get("title", {"type": "plain_text", "text": "Deploy", "emoji": True}),
        "clear_on_close": bool(base.get("clear_on_close", False)),
        "notify_on_close": bool(base.get("notify_on_close", False)),
        "close": base.get("close"),
        "submit": base.get("submit", {"type": "plain_text", "text": "Submit", "emoji": True}),
        "previous_view_id": None,
        "root_view_id": base.get("root_view_id") or view_id or base.get("id"),
        "app_id": API_APP_ID,
        "external_id": base.get("external_id", ""),
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    }
    if full_view["root_view_id"] is None:
        full_view["root_view_id"] = full_view["id"]
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": _team(),
        "user": _user(user_id, user_name),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": full_view,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interaction("view_submission", payload)


def view_closed(view: Mapping[str, Any], *, user_id: str = ALICE) -> SlackRequest:
    """A ``view_closed`` interaction (sent only for views with ``notify_on_close``)."""
    payload: dict[str, Any] = {
        "type": "view_closed",
        "team": _team(),
        "user": _user(user_id, None),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "view": dict(view),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interaction("view_closed", payload)


def event_callback(
    event: Mapping[str, Any],
    event_id: str | None = None,
    *,
    event_time: int | None = None,
) -> SlackRequest:
    """An Events API ``event_callback`` envelope around ``event`` (JSON body)."""
    payload: dict[str, Any] = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "context_enterprise_id": None,
        "api_app_id": API_APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        # Deprecated by Slack but still sent, and required by its published JSON schema.
        "authed_users": [BOT_USER_ID],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }
    return SlackRequest(
        kind="event_callback",
        body=_compact(payload),
        content_type="application/json",
        payload=payload,
    )


def app_home_opened(user_id: str = ALICE, event_id: str | None = None) -> SlackRequest:
    """The ``app_home_opened`` event Slack sends when a user opens the bot's Home tab."""
    event = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D" + user_id,
        "tab": "home",
        "event_ts": new_ts(),
    }
    return event_callback(event, event_id)


def url_verification(challenge: str | None = None) -> SlackRequest:
    """The one-off challenge Slack sends when the Events request URL is configured."""
    payload = {
        "token": VERIFICATION_TOKEN,
        "challenge": challenge or secrets.token_urlsafe(39),
        "type": "url_verification",
    }
    return SlackRequest(
        kind="url_verification",
        body=_compact(payload),
        content_type="application/json",
        payload=payload,
    )


# ------------------------------------------------------------------ the client


@dataclass
class Sent:
    """What the bot answered to a request, plus the request and its response_url id."""

    http: httpx.Response
    request: SlackRequest
    response_url_id: str | None = None

    @property
    def status_code(self) -> int:
        return self.http.status_code

    @property
    def text(self) -> str:
        return self.http.text

    @property
    def headers(self) -> httpx.Headers:
        return self.http.headers

    @property
    def elapsed(self) -> float:
        """Seconds the bot took to answer (Slack gives up after 3)."""
        return self.http.elapsed.total_seconds()

    def json(self) -> Any:
        return self.http.json()


class SignedClient:
    """Sends ``SlackRequest``s to the bot, signed as Slack signs them.

    With ``fake_slack`` set, the convenience methods give each command/interaction a
    response_url served by the fake and return its id in ``Sent.response_url_id``, so a
    test can ``fake_slack.wait_for_response(sent.response_url_id)``.
    """

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        *,
        fake_slack: FakeSlack | None = None,
        path: str = "/slack/events",
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_secret = signing_secret
        self.fake_slack = fake_slack
        self.path = path
        # ``transport`` lets the harness's own tests capture requests without a server.
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    @classmethod
    def for_bot(
        cls, bot: BotProcess | InProcessBot, fake_slack: FakeSlack | None = None
    ) -> SignedClient:
        """A client for ``bot``: over HTTP to a subprocess, straight into the WSGI app of
        an in-process bot (support/inprocess.py)."""
        transport = getattr(bot, "transport", None)
        if transport is not None:
            return cls(
                WSGI_BASE_URL, bot.signing_secret, fake_slack=fake_slack, transport=transport
            )
        return cls(bot.base_url, bot.signing_secret, fake_slack=fake_slack)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SignedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        request: SlackRequest,
        *,
        timestamp: int | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        forge_signature: bool = False,
        omit_signature: bool = False,
        signing_secret: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        response_url_id: str | None = None,
    ) -> Sent:
        """Sign and POST ``request``.

        ``timestamp`` overrides the signing time (``int(time.time()) - 301`` is a replay
        outside Slack's 5-minute window; the signature is still valid for it).
        ``retry_num``/``retry_reason`` add ``X-Slack-Retry-Num``/``-Reason`` as Slack does
        when it re-sends (e.g. ``1``, ``"http_timeout"``). ``forge_signature`` signs with a
        wrong secret (a well-formed but invalid signature).
        """
        body = request.body.encode()
        secret = signing_secret or self.signing_secret
        if forge_signature:
            secret = "forged-" + secret
        headers = {
            "Content-Type": request.content_type,
            "User-Agent": SLACK_USER_AGENT,
            "Accept": "application/json,*/*",
        }
        if not omit_signature:
            headers.update(signed_headers(secret, body, timestamp))
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        headers.update(extra_headers or {})
        response = self._http.post(self.path, content=body, headers=headers)
        return Sent(http=response, request=request, response_url_id=response_url_id)

    def _response_url(self, given: str | None, kind: str) -> tuple[str | None, str | None]:
        if given is not None or self.fake_slack is None:
            return given, None
        rid = f"{kind}-{_next()}-{secrets.token_hex(4)}"
        return self.fake_slack.response_url(rid), rid

    def command(
        self,
        text: str,
        *,
        response_url: str | None = None,
        send_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Sent:
        """Send ``/deploy <text>``; ``kwargs`` go to ``slash_command``."""
        url, rid = self._response_url(response_url, "command")
        request = slash_command(text, response_url=url, **kwargs)
        return self.send(request, response_url_id=rid, **dict(send_options or {}))

    def click(
        self,
        source: SlackCall | Mapping[str, Any],
        action_id: str,
        value: Any = None,
        *,
        user_id: str = ALICE,
        channel_id: str | None = None,
        response_url: str | None = None,
        send_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Sent:
        """Click/select ``action_id`` on a message the bot posted.

        ``source`` is the recorded ``chat.postMessage``/``chat.update`` call (its message
        and channel are taken from the fake's answer, i.e. the message as Slack stores it)
        or a message dict (then give ``channel_id``).
        """
        if isinstance(source, SlackCall):
            answer = source.response
            if not isinstance(answer, dict) or "message" not in answer:
                raise ValueError(f"call has no message in its answer: {answer!r}")
            message = answer["message"]
            channel_id = channel_id or answer.get("channel")
        else:
            message = source
        url, rid = self._response_url(response_url, "action")
        request = block_action(
            action_id,
            value,
            user_id=user_id,
            channel_id=channel_id or DEFAULT_CHANNEL,
            message=message,
            response_url=url,
            **kwargs,
        )
        return self.send(request, response_url_id=rid, **dict(send_options or {}))

    def block_action(
        self,
        action_id: str,
        value: Any = None,
        *,
        send_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Sent:
        """``block_action(...)`` with a fake-served response_url unless in a view."""
        rid = None
        if "view" not in kwargs and "response_url" not in kwargs:
            kwargs["response_url"], rid = self._response_url(None, "action")
        request = block_action(action_id, value, **kwargs)
        return self.send(request, response_url_id=rid, **dict(send_options or {}))

    def submit_view(
        self,
        view: SlackCall | Mapping[str, Any],
        values: Mapping[str, Any] | None = None,
        *,
        user_id: str = ALICE,
        state_values: Mapping[str, Any] | None = None,
        send_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Sent:
        """Submit a modal the bot opened, filled in with ``values`` (see ``fill_view``).

        ``view`` is the recorded ``views.open``/``views.update`` call or a view dict.
        """
        if isinstance(view, SlackCall):
            answer = view.response
            if not isinstance(answer, dict) or "view" not in answer:
                raise ValueError(f"call has no view in its answer: {answer!r}")
            view = answer["view"]
        assert isinstance(view, Mapping)
        if state_values is None:
            state_values = fill_view(view, values or {})
        request = view_submission(state_values=state_values, user_id=user_id, view=view, **kwargs)
        return self.send(request, **dict(send_options or {}))

    def event(
        self,
        event: Mapping[str, Any],
        event_id: str | None = None,
        *,
        send_options: Mapping[str, Any] | None = None,
    ) -> Sent:
        return self.send(event_callback(event, event_id), **dict(send_options or {}))
