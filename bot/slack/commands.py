"""The `/deploy` slash command: acknowledge at once, then route the subcommand to the
domain package that registered it.

Slack wants an answer within 3 seconds. Nothing before `ack()` touches the database or
the Slack Web API; the subcommand runs after it and answers through the response URL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
        run_after_ack(lambda: subcommand.handler(context), context.reply)

    def register(self, app: App) -> None:
        app.command("/deploy")(self.handle)


# Bolt runs every listener, ack() included, on its own pool of five threads per app, and
# the request thread waits for that ack(). Work left on that pool after ack() therefore
# delays the acknowledgements of the requests queued behind it (see docs/performance.md),
# so listeners hand it to this pool instead. Sized like the database pool (5 + 10
# overflow) so the work rarely waits for a connection; created lazily, so each gunicorn
# worker gets its own after the fork.
AFTER_ACK_THREADS = 16
_after_ack_pool: ThreadPoolExecutor | None = None
_after_ack_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _after_ack_pool
    with _after_ack_lock:
        if _after_ack_pool is None:
            _after_ack_pool = ThreadPoolExecutor(AFTER_ACK_THREADS, thread_name_prefix="after-ack")
        return _after_ack_pool


def run_after_ack(work: Callable[[], None], tell: Callable[[str], None]) -> None:
    """Run the work that follows an ack() off Bolt's listener threads, reporting a database
    outage with `tell` (see run_reporting_database_outage) and logging anything else."""

    def job() -> None:
        try:
            run_reporting_database_outage(work, tell)
        except Exception:
            log.exception("error in work after acknowledging a Slack request")

    _pool().submit(job)


def run_reporting_database_outage(work: Callable[[], None], tell: Callable[[str], None]) -> None:
    """Run work that happens after the acknowledgement; if the database is down, say so
    instead of failing silently (the acknowledgement has already gone)."""
    try:
        work()
    except sa.exc.OperationalError:
        log.exception("database unavailable while handling a Slack request")
        tell(DB_DOWN_TEXT)
