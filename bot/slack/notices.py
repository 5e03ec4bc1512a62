"""Notices to the deploy channel (DEPLOY_CHANNEL), the one place every package posts them."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

log = logging.getLogger(__name__)


def post_notice(
    client: WebClient,
    channel: str | None,
    text: str,
    *,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> SlackResponse | None:
    """Post a notice to `channel` (the deploy channel); nothing when none is configured.

    A notice is a courtesy: what it tells of (a booking, a freeze, a deploy's progress) has
    been recorded whether or not Slack takes it, so a refusal is logged and None returned,
    never raised into the work that has already succeeded."""
    if not channel:
        return None
    try:
        return client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
        )
    except SlackApiError as exc:
        log.warning(
            "could not post to the deploy channel (%.60s): %s", text, exc.response.get("error")
        )
        return None
