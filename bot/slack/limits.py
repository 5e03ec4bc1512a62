"""Slack's documented size limits, the bounds on what people may type, and the one place
that makes every message and view fit.

Slack refuses a whole message or view (`invalid_blocks`, `invalid_arguments`) when one
text object is over its limit, so the person sees nothing and the channel never hears
of it. Inputs are bounded where they are read (INPUT_LIMITS), renderers cut the free
text they show and say where the whole of it is (`shorten`), and every payload the bot
sends passes `fit_blocks` / `fit_view` on its way out (LimitedWebClient, and
CommandContext.reply for response URLs), which cuts whatever a renderer did not.

Limits from https://api.slack.com/reference/block-kit/blocks,
/reference/block-kit/composition-objects, /reference/block-kit/block-elements,
/reference/surfaces/views and /methods/chat.postMessage.
"""

from __future__ import annotations

import copy
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

SECTION_TEXT = 3000
SECTION_FIELD = 2000
SECTION_FIELDS = 10
CONTEXT_TEXT = 3000
CONTEXT_ELEMENTS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
ACTIONS_ELEMENTS = 25
ID_LENGTH = 255  # block_id, action_id, callback_id
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MODAL_TITLE = 24  # title, submit and close
PRIVATE_METADATA = 3000
INPUT_MAX_LENGTH = 3000  # the largest max_length a plain_text_input may ask for
# Slack truncates a message's top-level `text` beyond this; the bot cuts it first, so
# that what is cut is said.
MESSAGE_TEXT = 40_000

# What people may type, per free-text input. Small enough that a booking's fields, all
# at their longest, still fit one section block of the booking's messages.
TITLE_MAX = 200
APP_MAX = 100  # the booking.app column
DURATION_MAX = 20
PULL_REQUESTS_TEXT_MAX = 2000  # the modal's PR box: MAX_PULL_REQUESTS links, one a line
ROLLBACK_PLAN_MAX = 1000
NOTES_MAX = 1000
MAX_PULL_REQUESTS = 10
FREEZE_REASON_MAX = 500
OVERRIDE_REASON_MAX = 500
CHANGES_REASON_MAX = 1000

ELLIPSIS = "…"
CUT_NOTE = " (cut to fit in Slack)"


def history_hint(short_id: str) -> str:
    """Where the whole of a booking's cut text can be read."""
    return f" (cut; `/deploy history {short_id}` shows all of it)"


def shorten(text: str, limit: int, note: str = CUT_NOTE) -> str:
    """`text` if it fits in `limit` characters, else its start, an ellipsis and `note`
    (which says where the whole of it is), all within `limit`."""
    if len(text) <= limit:
        return text
    tail = ELLIPSIS + note
    if len(tail) >= limit:
        return text[: max(limit - 1, 0)] + ELLIPSIS if limit else ""
    head = text[: limit - len(tail)]
    # Do not leave half a Slack token (`<https://…|`, `<@U…`, `<!date^…`) or an
    # unmatched escape (`&am`) at the cut: Slack would show it raw.
    opening = head.rfind("<")
    if opening > head.rfind(">"):
        head = head[:opening]
    amp = head.rfind("&")
    if amp > head.rfind(";"):
        head = head[:amp]
    return head.rstrip() + tail


def _fit_text_object(obj: Any, limit: int, note: str) -> None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        obj["text"] = shorten(obj["text"], limit, note)


def _fit_element(element: Any, note: str) -> None:
    if not isinstance(element, dict):
        return
    kind = element.get("type")
    if kind == "button":
        _fit_text_object(element.get("text"), BUTTON_TEXT, "")
        value = element.get("value")
        if isinstance(value, str) and len(value) > BUTTON_VALUE:
            element["value"] = value[:BUTTON_VALUE]
    if kind == "plain_text_input":
        max_length = element.get("max_length")
        if isinstance(max_length, int) and max_length > INPUT_MAX_LENGTH:
            element["max_length"] = INPUT_MAX_LENGTH
        initial = element.get("initial_value")
        if isinstance(initial, str):
            element["initial_value"] = initial[: element.get("max_length") or INPUT_MAX_LENGTH]
    for option in element.get("options") or []:
        if isinstance(option, dict):
            _fit_text_object(option.get("text"), OPTION_TEXT, "")
    if isinstance(element.get("action_id"), str):
        element["action_id"] = element["action_id"][:ID_LENGTH]


def _fit_block(block: Any, note: str) -> None:
    if not isinstance(block, dict):
        return
    if isinstance(block.get("block_id"), str):
        block["block_id"] = block["block_id"][:ID_LENGTH]
    kind = block.get("type")
    if kind == "section":
        _fit_text_object(block.get("text"), SECTION_TEXT, note)
        fields = block.get("fields")
        if isinstance(fields, list):
            del fields[SECTION_FIELDS:]
            for item in fields:
                _fit_text_object(item, SECTION_FIELD, note)
        _fit_element(block.get("accessory"), note)
    elif kind == "header":
        _fit_text_object(block.get("text"), HEADER_TEXT, "")
    elif kind == "context":
        elements = block.get("elements")
        if isinstance(elements, list):
            if len(elements) > CONTEXT_ELEMENTS:
                dropped = len(elements) - CONTEXT_ELEMENTS + 1
                elements[CONTEXT_ELEMENTS - 1 :] = [
                    {"type": "mrkdwn", "text": f"and {dropped} more"}
                ]
            for element in elements:
                _fit_text_object(element, CONTEXT_TEXT, note)
    elif kind == "actions":
        elements = block.get("elements")
        if isinstance(elements, list):
            del elements[ACTIONS_ELEMENTS:]
            for element in elements:
                _fit_element(element, note)
    elif kind == "input":
        _fit_element(block.get("element"), note)


def fit_blocks(
    blocks: list[dict[str, Any]] | None,
    *,
    limit: int = MESSAGE_BLOCKS,
    note: str = CUT_NOTE,
    more: str = "",
) -> list[dict[str, Any]] | None:
    """A copy of `blocks` inside Slack's limits: over-long texts cut (ending with
    `note`), lists shortened, and at most `limit` blocks, the last of which then says how
    many were left out and `more` (where to see them)."""
    if blocks is None:
        return None
    fitted = copy.deepcopy(blocks)
    if len(fitted) > limit:
        left_out = len(fitted) - limit + 1
        fitted = fitted[: limit - 1]
        fitted.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{left_out} more not shown here{more}.",
                    }
                ],
            }
        )
    for block in fitted:
        _fit_block(block, note)
    return fitted


def fit_text(text: str | None, note: str = CUT_NOTE) -> str | None:
    """A message's top-level `text` (the notification fallback) within Slack's limit."""
    return None if text is None else shorten(text, MESSAGE_TEXT, note)


def fit_view(view: dict[str, Any], more: str = "") -> dict[str, Any]:
    """A copy of a modal or Home tab view inside Slack's limits."""
    fitted = dict(view)
    for key in ("title", "submit", "close"):
        if isinstance(fitted.get(key), dict):
            fitted[key] = dict(fitted[key])
            _fit_text_object(fitted[key], MODAL_TITLE, "")
    blocks = fitted.get("blocks")
    if isinstance(blocks, list):
        fitted["blocks"] = fit_blocks(blocks, limit=VIEW_BLOCKS, more=more)
    return fitted


# Web API methods whose payloads carry a message (blocks and text) or a view.
_MESSAGE_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage"}
_VIEW_METHODS = {"views.publish", "views.open", "views.update", "views.push"}


def fit_payload(api_method: str, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` for `api_method` with its message or view made to fit."""
    if api_method in _MESSAGE_METHODS:
        fitted = dict(payload)
        if isinstance(fitted.get("blocks"), list):
            fitted["blocks"] = fit_blocks(fitted["blocks"])
        if isinstance(fitted.get("text"), str):
            fitted["text"] = fit_text(fitted["text"])
        return fitted
    if api_method in _VIEW_METHODS and isinstance(payload.get("view"), dict):
        return {**payload, "view": fit_view(payload["view"])}
    return payload


class LimitedWebClient(WebClient):
    """A WebClient that makes every message and view it sends fit Slack's limits, so a
    renderer that forgot one costs a cut text, never a refused message."""

    def api_call(
        self, api_method: str, *, json: dict[str, Any] | None = None, **kwargs: Any
    ) -> SlackResponse:
        if json is not None:
            json = fit_payload(api_method, json)
        return super().api_call(api_method, json=json, **kwargs)
