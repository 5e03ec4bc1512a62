"""Outgoing Slack messages kept in the bot's own database until Slack takes them (ADR 0019).

Channel notices, announcement posts and updates, and DMs are recorded here, in the
transaction of the change that causes them where the flow allows it, else in one of
their own right after it; they are then sent at once (`deliver`, called by whoever
recorded them, once that transaction has committed) and, when Slack did not take them,
again by the clock with backoff (`deliver_due`), hours later if need be.

- In order per conversation (a channel or a person's DM): only the oldest unsent row of
  a conversation may be claimed, so a row waits for the ones before it.
- Once across processes: a claim is a lease taken on that oldest row with `FOR UPDATE
  SKIP LOCKED` on PostgreSQL (on SQLite the database's one write lock serialises
  claims), as bot/slack/work_table.py does. A process killed after Slack took a message
  and before it was marked sent leaves it to be sent again when its lease runs out; that
  window is a few milliseconds wide.
- Collapsed: of several updates of one message (same `collapse_key`) still waiting,
  only the latest is sent; a post waiting behind a newer post of the same key (a
  booking announced again during an outage) is not sent at all.
- A message whose ts is needed later has a `key`; an update may name that key instead of
  a ts, and waits for the post (which comes first in the same conversation). Once a post
  is sent, the handlers registered for its key's prefix (`on_posted`) record its ts.
- Permanent refusals (channel_not_found, invalid_blocks, ...) are logged and marked
  failed; everything else is retried, Slack's Retry-After first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.clock.lease import holder_name
from bot.db import Base, Database, UTCDateTime, is_outermost, utcnow
from bot.slack.limits import fit_blocks, fit_text, shorten

log = logging.getLogger(__name__)

PENDING, SENT, FAILED, COLLAPSED = "pending", "sent", "failed", "collapsed"
POST, UPDATE = "post", "update"

# Retries after a transient failure: 15 s, 30 s, 1 min, 2 min, then every 5 minutes, so a
# message waits at most 5 minutes (and a clock tick) once Slack answers again.
FIRST_BACKOFF = timedelta(seconds=15)
MAX_BACKOFF = timedelta(minutes=5)
# A message Slack has not taken for this long is given up: what it said is stale.
GIVE_UP_AFTER = timedelta(days=2)
# Sent rows are kept this long (the ts of a message is on its own row by then: the
# booking's announcement_ts, a checklist's message_ts), refused ones longer, to be seen.
KEEP_SENT = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)
# Conversations one pass of the clock looks at; the rest wait for the next tick.
CONVERSATIONS_PER_PASS = 200

# Slack errors that say "later" rather than "never"; any other `ok: false` is permanent.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


class OutboxMessage(Base):
    __tablename__ = "slack_outbox"
    __table_args__ = (sa.Index("ix_slack_outbox_state_conversation", "state", "conversation"),)

    # Also the order of delivery within a conversation.
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(10))  # post | update
    # A post's name, for the updates that follow it and for `on_posted` handlers.
    key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    collapse_key: Mapped[str | None] = mapped_column(sa.String(200))
    # An update's message: its ts when known, else the key of the post it follows.
    target_ts: Mapped[str | None] = mapped_column(sa.String(50))
    target_key: Mapped[str | None] = mapped_column(sa.String(200))
    thread_ts: Mapped[str | None] = mapped_column(sa.String(50))
    text: Mapped[str] = mapped_column(sa.Text)
    blocks: Mapped[str | None] = mapped_column(sa.Text)  # JSON
    state: Mapped[str] = mapped_column(sa.String(10), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What Slack answered: the channel and ts of a sent post, or the last error.
    channel: Mapped[str | None] = mapped_column(sa.String(100))
    ts: Mapped[str | None] = mapped_column(sa.String(50))
    error: Mapped[str | None] = mapped_column(sa.String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Called in the transaction that marks a keyed post sent: (session, key, channel, ts).
PostedHandler = Callable[[Session, str, str, str], None]


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    conversation: str
    key: str | None
    collapse_key: str | None
    target_ts: str | None
    target_key: str | None
    thread_ts: str | None
    text: str
    blocks: str | None
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class _Refused:
    """Why a send did not go through, and when to try again (None: never)."""

    error: str
    retry_at: datetime | None
    rate_limited: bool = False


class Outbox:
    def __init__(
        self,
        database: Database,
        client: WebClient,
        *,
        now: Callable[[], datetime] = utcnow,
        lease: timedelta = timedelta(minutes=2),
        holder: str | None = None,
    ) -> None:
        self.database = database
        # Longer than any one send takes (the client's own retries included).
        self.lease = lease
        self.client = client
        self.now = now
        self.holder = holder or holder_name()
        self._postgres = database.engine.dialect.name == "postgresql"
        self._posted: dict[str, PostedHandler] = {}

    def on_posted(self, prefix: str, handler: PostedHandler) -> None:
        """Call `handler` when a post whose key starts with `prefix` has been sent."""
        self._posted[prefix] = handler

    # -- recording ----------------------------------------------------------------------

    def post(
        self,
        conversation: str | None,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        key: str | None = None,
        session: Session | None = None,
        send_now: bool = True,
    ) -> None:
        """Record a message to `conversation` (a channel, or a user id for a DM) and, when
        `session` is None, send it now. With a `session` it is recorded in that
        transaction; its owner calls `deliver` once it has committed. `send_now=False`
        leaves it to the clock's next outbox pass (the clock's own sent-once messages,
        whose sent mark must follow the recording at once, ADR 0007)."""
        if not conversation:
            return
        self._record(
            session,
            send_now,
            OutboxMessage(
                conversation=conversation,
                kind=POST,
                key=key,
                collapse_key=key,
                thread_ts=thread_ts,
                **self._content(text, blocks),
            ),
        )

    def update(
        self,
        conversation: str | None,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        ts: str | None = None,
        key: str | None = None,
        collapse_key: str | None = None,
        session: Session | None = None,
    ) -> None:
        """Record an update of the message `ts`, or of the latest post recorded under
        `key` before it (sent by then, as it comes first in the conversation). Of several
        updates of one `collapse_key` still waiting, only the latest is sent."""
        if not conversation or not (ts or key):
            return
        self._record(
            session,
            True,
            OutboxMessage(
                conversation=conversation,
                kind=UPDATE,
                target_ts=ts,
                target_key=None if ts else key,
                collapse_key=collapse_key or key or f"ts:{conversation}:{ts}",
                **self._content(text, blocks),
            ),
        )

    def posted_to(self, key: str, *, session: Session) -> str | None:
        """The conversation of the latest post recorded under `key` (sent or still
        waiting), as `session`'s transaction sees it (a post it recorded itself
        included), or None if there is none. An update by key goes there: the channel
        configured now may not be the one the post went to."""
        return session.scalar(
            sa.select(OutboxMessage.conversation)
            .where(OutboxMessage.key == key)
            .where(OutboxMessage.kind == POST)
            .where(OutboxMessage.state.in_((PENDING, SENT)))
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )

    def _content(self, text: str, blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
        # Stored already within Slack's limits: what waits here is what will be sent.
        fitted = fit_blocks(blocks)
        now = self.now()
        return {
            "text": fit_text(text) or "",
            "blocks": None if fitted is None else json.dumps(fitted),
            "created_at": now,
            "next_attempt_at": now,
            "state": PENDING,
            "attempts": 0,
        }

    def _record(self, session: Session | None, send_now: bool, row: OutboxMessage) -> None:
        if session is not None:
            session.add(row)
            if send_now:
                self._deliver_after_commit(session, row.conversation)
            return
        with self.database.transaction() as own:
            own.add(row)
            own.flush()
            # Claimed in the recording's own transaction: one commit fewer on the
            # normal path (ADR 0019's figures). Usually this very row; an older one of
            # the conversation if it is waiting and due.
            claimed = self._claim_in(own, row.conversation, self.now()) if send_now else None
        if send_now:
            self._deliver_safely(row.conversation, claimed)

    def _deliver_after_commit(self, session: Session, conversation: str) -> None:
        """Send what `session` records once its transaction has committed (never before:
        Slack must not hear of a change that is then rolled back).

        Only the outermost commit counts: SQLAlchemy also dispatches `after_commit` when a
        savepoint is released, and delivering then, before the real commit, found nothing
        another connection could see (or, on SQLite with an older row of the conversation
        waiting, waited on this very transaction's write lock), and the real commit then
        sent nothing: the message waited for the clock. So the listeners are not `once`:
        they stay on the session (one pair per session) and check `is_outermost`. A
        savepoint rolled back inside the transaction leaves what was recorded outside it
        to be sent."""
        waiting: set[str] | None = session.info.get(_AFTER_COMMIT)
        if waiting is None:
            waiting = session.info[_AFTER_COMMIT] = set()
        waiting.add(conversation)
        if session.info.get(_LISTENING):
            return
        session.info[_LISTENING] = True

        def committed(_session: Session) -> None:
            if is_outermost(session):
                self.deliver(sorted(session.info.pop(_AFTER_COMMIT, ())))

        def rolled_back(_session: Session) -> None:
            if is_outermost(session):
                session.info.pop(_AFTER_COMMIT, None)

        sa.event.listen(session, "after_commit", committed)
        # after_rollback, not after_soft_rollback: the latter runs for every rollback
        # of any SessionTransaction (a savepoint's, a failed flush's), after it closed,
        # when is_outermost cannot tell which it was.
        sa.event.listen(session, "after_rollback", rolled_back)

    # -- delivering ---------------------------------------------------------------------

    def deliver(self, conversations: Iterable[str]) -> int:
        """Send what is due in `conversations` now (right after recording); never
        raises: what Slack does not take waits for the clock."""
        sent = 0
        for conversation in dict.fromkeys(conversations):
            done, rate_limited = self._deliver_safely(conversation)
            sent += done
            if rate_limited:
                break
        return sent

    def _deliver_safely(self, conversation: str, first: _Claimed | None = None) -> tuple[int, bool]:
        """(how many were sent, whether Slack rate-limited us)."""
        try:
            return self._deliver_conversation(conversation, self.now(), first), False
        except _RateLimited:
            return 0, True
        except Exception:
            log.exception("could not deliver the outbox of %s; the clock retries", conversation)
            return 0, False

    def deliver_due(self, now: datetime | None = None) -> int:
        """The clock's pass: every conversation whose oldest waiting message is due."""
        now = now or self.now()
        with self.database.transaction() as session:
            conversations = list(
                session.scalars(
                    sa.select(OutboxMessage.conversation)
                    .where(OutboxMessage.state == PENDING)
                    .group_by(OutboxMessage.conversation)
                    .order_by(sa.func.min(OutboxMessage.id))
                    .limit(CONVERSATIONS_PER_PASS)
                )
            )
        sent = 0
        for conversation in conversations:
            try:
                sent += self._deliver_conversation(conversation, now)
            except _RateLimited:
                # Slack's rate limit is the app's, not the channel's: the rest waits too.
                break
        return sent

    def failed(self, limit: int = 20, since: datetime | None = None) -> list[OutboxMessage]:
        """The latest messages Slack refused for good (for logs and people)."""
        query = sa.select(OutboxMessage).where(OutboxMessage.state == FAILED)
        if since is not None:
            query = query.where(OutboxMessage.created_at >= since)
        with self.database.transaction() as session:
            rows = list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))
            session.expunge_all()
            return rows

    def refusals(self) -> list[str]:
        """The App Home's lines about messages Slack refused in the last day."""
        return [
            f"`{row.error}` from Slack for a message to <#{row.conversation}>: "
            f"{shorten(row.text, 200)}"
            for row in self.failed(limit=5, since=self.now() - timedelta(days=1))
        ]

    def prune(self, now: datetime) -> int:
        """Delete what was sent or collapsed a week ago and what failed a month ago."""
        with self.database.transaction() as session:
            result = session.execute(
                sa.delete(OutboxMessage).where(
                    sa.or_(
                        sa.and_(
                            OutboxMessage.state.in_((SENT, COLLAPSED)),
                            OutboxMessage.created_at < now - KEEP_SENT,
                        ),
                        sa.and_(
                            OutboxMessage.state == FAILED,
                            OutboxMessage.created_at < now - KEEP_FAILED,
                        ),
                    )
                )
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def pending(self) -> int:
        with self.database.transaction() as session:
            return int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.state == PENDING)
                )
                or 0
            )

    def _deliver_conversation(
        self, conversation: str, now: datetime, first: _Claimed | None = None
    ) -> int:
        """Send `conversation`'s due messages in order, starting with `first` when the
        caller has claimed it already."""
        sent = 0
        claimed = first
        while True:
            # Each claim asks the time afresh: a row recorded while this loop sent the
            # one before it is due by then, and this loop is the one that sends it.
            row = claimed or self._claim_head(conversation, max(now, self.now()))
            claimed = None
            if row is None:
                break
            if self._collapsed(row):
                continue
            target = self._target(row)
            if row.kind == UPDATE and target is None:
                self._finish(row, FAILED, error="the message to update was never posted")
                continue
            refused, answer = self._send(row, target, now)
            if refused is None:
                self._finish(row, SENT, answer=answer)
                sent += 1
            elif refused.retry_at is None or now - row.created_at > GIVE_UP_AFTER:
                log.error(
                    "Slack refused outbox message %s to %s for good (%s): %.80s",
                    row.id,
                    conversation,
                    refused.error,
                    row.text,
                )
                self._finish(row, FAILED, error=refused.error)
            else:
                log.warning(
                    "Slack did not take outbox message %s to %s (%s); retrying at %s",
                    row.id,
                    conversation,
                    refused.error,
                    refused.retry_at.isoformat(),
                )
                self._release(row, refused)
                if refused.rate_limited:
                    raise _RateLimited
                break
        return sent

    def _claim_head(self, conversation: str, now: datetime) -> _Claimed | None:
        """Claim the oldest waiting row of `conversation` if it is due and free."""
        with self.database.transaction() as session:
            return self._claim_in(session, conversation, now)

    def _claim_in(self, session: Session, conversation: str, now: datetime) -> _Claimed | None:
        head = (
            sa.select(sa.func.min(OutboxMessage.id))
            .where(OutboxMessage.conversation == conversation)
            .where(OutboxMessage.state == PENDING)
            .scalar_subquery()
        )
        free = sa.and_(
            OutboxMessage.id == head,
            OutboxMessage.state == PENDING,
            OutboxMessage.next_attempt_at <= now,
            sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        query = sa.select(OutboxMessage.id).where(free)
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        found = session.scalar(query)
        if found is None:
            return None
        claimed = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == found)
            .where(OutboxMessage.state == PENDING)
            .where(sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
            .values(
                claimed_by=self.holder,
                claimed_until=now + self.lease,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(*(getattr(OutboxMessage, name) for name in _Claimed.__dataclass_fields__))
        ).one_or_none()
        return None if claimed is None else _Claimed(**claimed._mapping)

    def _collapsed(self, row: _Claimed) -> bool:
        """Mark `row` collapsed if a newer row makes it stale: any newer row of its
        collapse key for an update, a newer post of its key for a post."""
        if row.collapse_key is None:
            return False
        newer = (
            sa.select(OutboxMessage.id)
            .where(OutboxMessage.collapse_key == row.collapse_key)
            .where(OutboxMessage.id > row.id)
            .where(OutboxMessage.state == PENDING)
        )
        if row.kind == POST:
            newer = newer.where(OutboxMessage.kind == POST)
        with self.database.transaction() as session:
            if session.scalar(newer.limit(1)) is None:
                return False
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(state=COLLAPSED, claimed_until=None)
            )
        return True

    def _target(self, row: _Claimed) -> str | None:
        if row.kind != UPDATE:
            return None
        if row.target_ts:
            return row.target_ts
        with self.database.transaction() as session:
            found = session.scalar(
                sa.select(OutboxMessage.ts)
                .where(OutboxMessage.key == row.target_key)
                .where(OutboxMessage.kind == POST)
                .where(OutboxMessage.id < row.id)
                .where(OutboxMessage.state == SENT)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
        return None if found is None else str(found)

    def _send(
        self, row: _Claimed, target: str | None, now: datetime
    ) -> tuple[_Refused | None, dict[str, Any]]:
        blocks = None if row.blocks is None else json.loads(row.blocks)
        try:
            if row.kind == UPDATE:
                response = self.client.chat_update(
                    channel=row.conversation, ts=target or "", text=row.text, blocks=blocks
                )
            else:
                response = self.client.chat_postMessage(
                    channel=row.conversation, text=row.text, blocks=blocks, thread_ts=row.thread_ts
                )
        except SlackApiError as exc:
            return self._refusal(exc, row, now), {}
        except Exception as exc:
            # Connection refused or reset, a timeout: Slack (or the way to it) is down.
            return _Refused(type(exc).__name__, now + backoff(row.attempts)), {}
        return None, {"channel": response.get("channel"), "ts": response.get("ts")}

    def _refusal(self, exc: SlackApiError, row: _Claimed, now: datetime) -> _Refused:
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = str(response.get("error") or f"http {status}")
        if status == 429 or error in ("ratelimited", "rate_limited"):
            headers = getattr(response, "headers", {}) or {}
            after = _retry_after(headers)
            return _Refused(error, now + max(after, backoff(row.attempts)), rate_limited=True)
        if status >= 500 or error in TRANSIENT_ERRORS:
            return _Refused(error, now + backoff(row.attempts))
        return _Refused(error, None)

    def _finish(
        self,
        row: _Claimed,
        state: str,
        *,
        answer: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        answer = answer or {}
        with self.database.transaction() as session:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    state=state,
                    claimed_until=None,
                    error=None if error is None else error[:200],
                    channel=answer.get("channel"),
                    ts=answer.get("ts"),
                    sent_at=self.now() if state == SENT else None,
                )
            )
            if state == SENT and row.kind == POST and row.key and answer.get("ts"):
                for prefix, handler in self._posted.items():
                    if row.key.startswith(prefix):
                        handler(
                            session,
                            row.key,
                            str(answer.get("channel") or row.conversation),
                            str(answer["ts"]),
                        )

    def _release(self, row: _Claimed, refused: _Refused) -> None:
        with self.database.transaction() as session:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    claimed_until=None,
                    error=refused.error[:200],
                    next_attempt_at=refused.retry_at,
                )
            )


# The session.info entry of the conversations a transaction recorded messages for.
_AFTER_COMMIT = "outbox_after_commit"
# Set once the session has the outbox's commit and rollback listeners.
_LISTENING = "outbox_listening"


class _RateLimited(Exception):
    """Slack said 429: stop this pass; the row says when to come back."""


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    return min(FIRST_BACKOFF * (1 << min(max(attempts - 1, 0), 10)), MAX_BACKOFF)


def _retry_after(headers: Any) -> timedelta:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if hasattr(headers, "get") else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return timedelta(seconds=max(int(value), 1))
            except ValueError:
                break
    return timedelta(seconds=1)
