"""The `/deploy` slash command: acknowledge at once, then route the subcommand to the
domain package that registered it.

Slack wants an answer within 3 seconds. Nothing before `ack()` touches the database or
the Slack Web API; the subcommand runs after it and answers through the response URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

log = logging.getLogger(__name__)

DB_DOWN_TEXT = (
    ":warning: I can't reach my database right now, so nothing was changed. "
    "Please try again in a minute."
)


@dataclass(frozen=True)
class CommandContext:
    user_id: str
    channel_id: str | None
    args: str
    trigger_id: str
    respond: Respond
    client: WebClient

    @property
    def request_key(self) -> str:
        # A retried delivery carries the same trigger_id; two separate invocations don't.
        return f"command:{self.trigger_id}"

    def reply(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Answer privately to the person who ran the command."""
        self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


Handler = Callable[[CommandContext], None]


@dataclass(frozen=True)
class Subcommand:
    name: str
    handler: Handler
    usage: str
    summary: str


class CommandRouter:
    def __init__(self) -> None:
        self._subcommands: dict[str, Subcommand] = {}

    def add(self, name: str, handler: Handler, *, usage: str, summary: str) -> None:
        self._subcommands[name] = Subcommand(name, handler, usage, summary)

    def usage(self) -> str:
        lines = ["*deploybot*: book and coordinate risky deploys.", ""]
        lines += [f"• `{sub.usage}`: {sub.summary}" for sub in self._subcommands.values()]
        lines += ["• `/deploy help`: this message"]
        return "\n".join(lines)

    def handle(self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        text = (body.get("text") or "").strip()
        name, _, args = text.partition(" ")
        name = name.lower()
        subcommand = self._subcommands.get(name)
        if subcommand is None:
            prefix = "" if name in {"", "help"} else f"I don't know `/deploy {name}`.\n\n"
            ack(response_type="ephemeral", text=prefix + self.usage())
            return
        ack()
        context = CommandContext(
            user_id=body["user_id"],
            channel_id=body.get("channel_id"),
            args=args.strip(),
            trigger_id=body.get("trigger_id", ""),
            respond=respond,
            client=client,
        )
        run_reporting_database_outage(lambda: subcommand.handler(context), context.reply)

    def register(self, app: App) -> None:
        app.command("/deploy")(self.handle)


def run_reporting_database_outage(work: Callable[[], None], tell: Callable[[str], None]) -> None:
    """Run work that happens after the acknowledgement; if the database is down, say so
    instead of failing silently (the acknowledgement has already gone)."""
    try:
        work()
    except sa.exc.OperationalError:
        log.exception("database unavailable while handling a Slack request")
        tell(DB_DOWN_TEXT)
