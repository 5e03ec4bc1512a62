"""The fake Slack's check of a message payload against Slack's documented limits, for the
Web API's chat.* methods, response URLs and incoming webhooks alike.

Real Slack refuses a message whose blocks break Block Kit's limits (``invalid_blocks``,
with the errors listed) and one whose top-level ``text`` is over 40,000 characters
(``msg_too_long``), so a renderer that overflows shows up in the tests, not in front of
people. Views are checked by block_kit.validate_view, which this extends with the
``plain_text_input`` bounds.
"""

from __future__ import annotations

from typing import Any

from .block_kit import validate_blocks

MAX_MESSAGE_TEXT = 40_000
MAX_INPUT_LENGTH = 3000


def input_errors(blocks: Any, pointer: str = "/blocks") -> list[str]:
    """Slack-style errors for plain_text_input elements asking for impossible lengths."""
    errors: list[str] = []
    if not isinstance(blocks, list):
        return errors
    for i, block in enumerate(blocks):
        element = block.get("element") if isinstance(block, dict) else None
        if not isinstance(element, dict) or element.get("type") != "plain_text_input":
            continue
        where = f"{pointer}/{i}/element"
        max_length = element.get("max_length")
        min_length = element.get("min_length", 0)
        if max_length is not None and (
            not isinstance(max_length, int) or not 1 <= max_length <= MAX_INPUT_LENGTH
        ):
            errors.append(
                f"[ERROR] must be between 1 and {MAX_INPUT_LENGTH} "
                f"[json-pointer:{where}/max_length]"
            )
        if isinstance(max_length, int) and isinstance(min_length, int) and min_length > max_length:
            errors.append(f"[ERROR] must not exceed max_length [json-pointer:{where}/min_length]")
        initial = element.get("initial_value")
        if isinstance(initial, str) and isinstance(max_length, int) and len(initial) > max_length:
            errors.append(
                f"[ERROR] must be at most max_length [json-pointer:{where}/initial_value]"
            )
    return errors


def message_error(body: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(Slack's error code, its messages) for a message payload over a limit, else None."""
    text = body.get("text")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        return "msg_too_long", [f"text is {len(text)} characters, over {MAX_MESSAGE_TEXT}"]
    blocks = body.get("blocks")
    if blocks is not None:
        errors = validate_blocks(blocks, surface="message")
        if errors:
            return "invalid_blocks", errors
    return None
