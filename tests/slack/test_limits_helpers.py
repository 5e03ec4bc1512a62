"""The shared helpers that keep every message and view inside Slack's limits."""

from __future__ import annotations

from bot.slack.limits import fit_blocks, fit_view, shorten
from support.block_kit import validate_blocks, validate_view


def test_shorten_never_leaves_half_a_token_or_escape() -> None:
    text = "a" * 90 + "<https://example.com/x|link> &amp; more"
    for limit in range(20, len(text)):
        cut = shorten(text, limit, " (see X)")
        assert len(cut) <= limit
        if cut != text:
            assert cut.endswith("… (see X)")
            head = cut[: -len("… (see X)")]
            assert head.count("<") == head.count(">")
            assert "&" not in head or head.rstrip().endswith(";") or "&amp;" in head


def test_fit_blocks_keeps_messages_and_views_inside_the_limits() -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 5000}}
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 200}}
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 12}
    button = {
        "type": "actions",
        "block_id": "b" * 300,
        "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "t" * 80}}
        ],
    }
    blocks = [section, header, context, button] + [{"type": "divider"}] * 60
    fitted = fit_blocks(blocks)
    assert validate_blocks(fitted, surface="message") == []
    assert "more not shown" in str(fitted[-1])
    view = fit_view({"type": "home", "blocks": [section] * 130}, more="; `/deploy list`")
    assert validate_view(view) == []
    modal = fit_view(
        {
            "type": "modal",
            "title": {"type": "plain_text", "text": "A title far over 24 chars"},
            "blocks": [section],
        }
    )
    assert validate_view(modal) == []
