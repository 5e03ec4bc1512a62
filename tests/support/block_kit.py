"""A deliberately small Block Kit validator for the fake Slack Web API.

Real Slack refuses messages and views that break Block Kit's limits (a modal title over
24 characters, an empty text object, two blocks with one block_id...) with
``invalid_blocks`` / ``invalid_arguments``. A fake that accepts anything would let such
bugs pass every test and only show up in production, so the fake checks the limits that
Slack documents and that a deploy bot is likely to hit. It is not a full schema: unknown
block and element types are accepted unchecked, so a false alarm is unlikely.

Limits are from https://api.slack.com/reference/block-kit (blocks, composition objects,
block elements, views).
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
_TEXT_TYPES = {"plain_text", "mrkdwn"}
_BUTTON_STYLES = {"primary", "danger"}


class _Errors:
    """Collects errors in Slack's own message format (``[ERROR] ... [json-pointer:...]``)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, pointer: str, message: str) -> None:
        self.messages.append(f"[ERROR] {message} [json-pointer:{pointer}]")


def _check_text(
    errors: _Errors,
    obj: Any,
    pointer: str,
    *,
    max_len: int,
    plain_only: bool = False,
) -> None:
    if not isinstance(obj, dict):
        errors.add(pointer, "must provide an object")
        return
    kind = obj.get("type")
    allowed = {"plain_text"} if plain_only else _TEXT_TYPES
    if kind not in allowed:
        errors.add(f"{pointer}/type", f"must be one of {sorted(allowed)}")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.add(f"{pointer}/text", "must provide a string")
    elif len(text) == 0:
        errors.add(f"{pointer}/text", "must be more than 0 characters")
    elif len(text) > max_len:
        errors.add(f"{pointer}/text", f"must be less than {max_len + 1} characters")


def _check_element(errors: _Errors, element: Any, pointer: str, action_ids: set[str]) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        errors.add(pointer, "must provide an object with a type")
        return
    action_id = element.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not 0 < len(action_id) <= 255:
            errors.add(f"{pointer}/action_id", "must be a string of 1-255 characters")
        elif action_id in action_ids:
            # Slack requires action_ids to be unique within their containing block.
            errors.add(f"{pointer}/action_id", "must be unique within the block")
        else:
            action_ids.add(action_id)
    if element["type"] == "button":
        _check_text(errors, element.get("text"), f"{pointer}/text", max_len=75, plain_only=True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            errors.add(f"{pointer}/value", "must be a string of at most 2000 characters")
        url = element.get("url")
        if url is not None and (not isinstance(url, str) or len(url) > 3000):
            errors.add(f"{pointer}/url", "must be a string of at most 3000 characters")
        style = element.get("style")
        if style is not None and style not in _BUTTON_STYLES:
            errors.add(f"{pointer}/style", "must be one of primary, danger")


def _check_block(
    errors: _Errors, block: Any, pointer: str, block_ids: set[str], *, surface: str
) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        errors.add(pointer, "must provide an object with a type")
        return
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or not 0 < len(block_id) <= 255:
            errors.add(f"{pointer}/block_id", "must be a string of 1-255 characters")
        elif block_id in block_ids:
            errors.add(f"{pointer}/block_id", "must be unique within the surface")
        else:
            block_ids.add(block_id)
    kind = block["type"]
    action_ids: set[str] = set()
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.add(pointer, "must provide either text or fields")
        if "text" in block:
            _check_text(errors, block["text"], f"{pointer}/text", max_len=3000)
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                errors.add(f"{pointer}/fields", "must be a list of at most 10 items")
            else:
                for i, field in enumerate(fields):
                    _check_text(errors, field, f"{pointer}/fields/{i}", max_len=2000)
        if "accessory" in block:
            _check_element(errors, block["accessory"], f"{pointer}/accessory", action_ids)
    elif kind == "header":
        _check_text(errors, block.get("text"), f"{pointer}/text", max_len=150, plain_only=True)
    elif kind in ("actions", "context"):
        limit = 25 if kind == "actions" else 10
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= limit:
            errors.add(f"{pointer}/elements", f"must be a list of 1-{limit} items")
        elif kind == "actions":
            for i, element in enumerate(elements):
                _check_element(errors, element, f"{pointer}/elements/{i}", action_ids)
        else:
            for i, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") in _TEXT_TYPES:
                    _check_text(errors, element, f"{pointer}/elements/{i}", max_len=3000)
    elif kind == "input":
        if surface == "message":
            errors.add(pointer, "input blocks are only allowed in modals and App Home")
        _check_text(errors, block.get("label"), f"{pointer}/label", max_len=2000, plain_only=True)
        if "element" not in block:
            errors.add(f"{pointer}/element", "must provide an element")
        else:
            _check_element(errors, block["element"], f"{pointer}/element", action_ids)


def validate_blocks(blocks: Any, *, surface: str, pointer: str = "/blocks") -> list[str]:
    """Return Slack-style error messages for ``blocks`` (empty when valid).

    ``surface`` is ``"message"``, ``"modal"`` or ``"home"``; the block limit differs.
    """
    errors = _Errors()
    if not isinstance(blocks, list):
        errors.add(pointer, "must provide an array")
        return errors.messages
    limit = MAX_MESSAGE_BLOCKS if surface == "message" else MAX_VIEW_BLOCKS
    if len(blocks) > limit:
        errors.add(pointer, f"must provide no more than {limit} items")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        _check_block(errors, block, f"{pointer}/{i}", block_ids, surface=surface)
    return errors.messages


def validate_view(view: Any) -> list[str]:
    """Return Slack-style error messages for a modal or App Home view (empty when valid)."""
    errors = _Errors()
    if not isinstance(view, dict):
        errors.add("/view", "must provide an object")
        return errors.messages
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errors.add("/view/type", "must be one of modal, home")
        return errors.messages
    if kind == "modal":
        _check_text(errors, view.get("title"), "/view/title", max_len=24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                _check_text(errors, view[key], f"/view/{key}", max_len=24, plain_only=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and "submit" not in view:
            # Slack refuses a modal with inputs but no submit button.
            errors.add("/view/submit", "must provide submit when the view has input blocks")
    metadata = view.get("private_metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) > 3000):
        errors.add("/view/private_metadata", "must be a string of at most 3000 characters")
    callback_id = view.get("callback_id")
    if callback_id is not None and (not isinstance(callback_id, str) or len(callback_id) > 255):
        errors.add("/view/callback_id", "must be a string of at most 255 characters")
    errors.messages.extend(
        validate_blocks(view.get("blocks"), surface=kind, pointer="/view/blocks")
    )
    return errors.messages
