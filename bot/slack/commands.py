"""The `/deploy` slash command: acknowledge at once, then route the subcommand to the
domain package that registered it.

Slack wants an answer within 3 seconds. The acknowledgement runs on the request thread
and touches neither the database nor the Slack Web API; the subcommand runs afterwards as
a Bolt lazy listener and answers through the response URL (docs/adr/0012).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.slack.listeners import Listeners
from bot.slack.replies import reply_privately

log = logging.getLogger(__name__)

DB_DOWN_TEXT = (
    ":warning: My database isn't answering right now (it is down or too busy), so I "
    "couldn't do that. Please try again in a minute."
)
ERROR_TEXT = (
    ":warning: Something went wrong on my side and I couldn't finish that. Please try "
    "again in a minute; if it keeps happening, tell whoever runs deploybot."
)

# What a database that is down, restarting, unreachable or too slow looks like from here:
# refused or timed-out connections, statements cancelled by statement_timeout or lock
# waits (OperationalError), connections that died under us (InterfaceError, or any DBAPI
# error flagged as a disconnect), and a pool with no free connection (TimeoutError).
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
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

    def reply(self, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
        """Answer privately to the person who ran the command; return whether Slack took
        the answer (see reply_privately)."""
        return reply_privately(self.respond, text, blocks)


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

    def _parse(self, body: dict[str, Any]) -> tuple[str, str, Subcommand | None]:
        # PostgreSQL cannot store or even compare text holding NUL; nobody means one.
        text = str(body.get("text") or "").replace("\x00", "").strip()
        name, _, args = text.partition(" ")
        name = name.lower()
        return name, args, self._subcommands.get(name)

    def acknowledge(self, ack: Ack, body: dict[str, Any]) -> None:
        """Runs on the request thread: answers help and unknown subcommands at once, and
        acknowledges the rest without touching the database or Slack."""
        name, _, subcommand = self._parse(body)
        if subcommand is None:
            prefix = "" if name in {"", "help"} else f"I don't know `/deploy {name}`.\n\n"
            ack(response_type="ephemeral", text=prefix + self.usage())
            return
        ack()

    def handle(self, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """The subcommand's work, after the acknowledgement has gone."""
        _, args, subcommand = self._parse(body)
        if subcommand is None:
            return
        context = CommandContext(
            user_id=body["user_id"],
            channel_id=body.get("channel_id"),
            args=args.strip(),
            trigger_id=body.get("trigger_id", ""),
            respond=respond,
            client=client,
        )
        run_reporting_database_outage(lambda: subcommand.handler(context), context.reply)

    def register(self, listeners: Listeners) -> None:
        listeners.command("/deploy", ack=self.acknowledge, work=self.handle)


def acknowledge(ack: Ack) -> None:
    """The acknowledgement of a listener whose whole work runs lazily (docs/adr/0012)."""
    ack()


def is_database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def run_reporting_database_outage(work: Callable[[], None], tell: Callable[[str], object]) -> None:
    """Run work that happens after the acknowledgement, and never fail silently (the
    acknowledgement has already gone): a database that is down or too slow gets the
    "try again" answer, anything else a short apology. Both are logged."""
    try:
        work()
    except Exception as exc:
        if is_database_unavailable(exc):
            log.exception("database unavailable while handling a Slack request")
            _tell_safely(tell, DB_DOWN_TEXT)
        else:
            log.exception("unexpected error while handling a Slack request")
            _tell_safely(tell, ERROR_TEXT)


def _tell_safely(tell: Callable[[str], object], text: str) -> None:
    try:
        tell(text)
    except Exception:
        log.exception("could not tell the user what went wrong")
