"""Private answers to the person who ran a command or clicked a button.

Every listener answers through the response URL Slack gave it, as an ephemeral message
that leaves the message clicked on as it is; this is the one place that says how. A form
(modal) has no response URL: its answer goes to the person's DM with the app, straight
away like any answer, not through the outbox (ADR 0019), which needs the database: the
answer may be the very one that says the database is down. Channel notices and the DMs
that a change causes are not replies (see notices.py).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.limits import fit_blocks, fit_text

log = logging.getLogger(__name__)


def reply_privately(
    respond: Respond, text: str, blocks: list[dict[str, Any]] | None = None
) -> bool:
    """Answer only the person who acted (ephemeral, not replacing the original message);
    return whether Slack took the answer (a work's reply is marked sent only then,
    docs/adr/0018). A response URL is not the Web API, so the LimitedWebClient does not
    see it: the answer is made to fit here."""
    response = respond(
        text=fit_text(text) or "",
        blocks=fit_blocks(blocks),
        response_type="ephemeral",
        replace_original=False,
    )
    if response.status_code != 200:
        log.warning("Slack refused a reply (%s): %s", response.status_code, response.body)
        return False
    return True


def reply_in_dm(client: WebClient, user_id: str, text: str) -> bool:
    """Answer a form's submitter in their DM with the app; return whether Slack took it."""
    try:
        client.chat_postMessage(channel=user_id, text=text)
    except SlackApiError as exc:
        log.warning("could not answer %s in a DM: %s", user_id, exc.response.get("error"))
        return False
    return True
