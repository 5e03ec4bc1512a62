"""Sending a scheduled message exactly once, whatever the clock does (ADR 0007).

The database decides what is due; this module makes sure each due message goes out once:
not twice when two clock processes run by mistake, and not lost when a clock dies between
deciding and sending. Every message has a key (e.g. `booking:42:remind-1h:<start>`).

1. Claim: insert a row for the key. The primary key lets only one clock win.
2. Send.
3. Mark sent. A claim that was never marked sent (the clock died, or Slack failed) is
   taken over by the next tick once its lease has run out, and sent then.

A crash after Slack accepted the message but before step 3 committed would send it again
on recovery; that window is a few milliseconds wide and the alternative (mark first, send
after) loses messages instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Database, UTCDateTime

log = logging.getLogger(__name__)

# How long a claim protects a message that is being sent. Longer than any send takes.
CLAIM_LEASE = timedelta(minutes=5)
# A message sent more than this after it fell due is marked late.
LATE_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 5


class SentNotification(Base):
    __tablename__ = "sent_notification"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    late: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    # Set when the message was no longer worth sending (e.g. the deploy got approved).
    skipped: Mapped[bool] = mapped_column(default=False)


@dataclass(frozen=True)
class Due:
    """One message that is due: its key, when it fell due, and how to send it."""

    key: str
    due_at: datetime
    send: Callable[[bool], None]  # called with `late`


def already_handled(database: Database, keys: Iterable[str]) -> set[str]:
    """Keys that are sent, skipped or given up on (a cheap filter before claiming)."""
    keys = list(keys)
    if not keys:
        return set()
    with database.transaction() as session:
        rows = session.scalars(
            sa.select(SentNotification.key)
            .where(SentNotification.key.in_(keys))
            .where(
                sa.or_(
                    SentNotification.sent_at.is_not(None),
                    SentNotification.skipped.is_(True),
                    SentNotification.attempts >= MAX_ATTEMPTS,
                )
            )
        )
        return set(rows)


def _claim(database: Database, item: Due, now: datetime) -> bool:
    late = now - item.due_at > LATE_AFTER
    try:
        with database.transaction() as session:
            session.add(
                SentNotification(
                    key=item.key, due_at=item.due_at, claimed_at=now, late=late, attempts=1
                )
            )
        return True
    except sa.exc.IntegrityError:
        pass
    # Someone claimed it before. Take it over only if that claim has lapsed unsent.
    with database.transaction() as session:
        result = session.execute(
            sa.update(SentNotification)
            .where(SentNotification.key == item.key)
            .where(SentNotification.sent_at.is_(None))
            .where(SentNotification.skipped.is_(False))
            .where(SentNotification.attempts < MAX_ATTEMPTS)
            .where(
                sa.or_(
                    SentNotification.claimed_at.is_(None),
                    SentNotification.claimed_at < now - CLAIM_LEASE,
                )
            )
            .values(claimed_at=now, late=late, attempts=SentNotification.attempts + 1)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def deliver(database: Database, due: Iterable[Due], now: datetime) -> int:
    """Send each due message that nobody else has sent or is sending; return how many
    this call sent."""
    due = list(due)
    done = already_handled(database, (item.key for item in due))
    sent = 0
    for item in due:
        if item.key in done or not _claim(database, item, now):
            continue
        late = now - item.due_at > LATE_AFTER
        try:
            item.send(late)
        except Exception:
            log.exception("sending %s failed; the next tick retries it", item.key)
            with database.transaction() as session:
                # Release the claim so the next tick does not wait for the lease.
                session.execute(
                    sa.update(SentNotification)
                    .where(SentNotification.key == item.key)
                    .values(claimed_at=None)
                )
            continue
        with database.transaction() as session:
            session.execute(
                sa.update(SentNotification)
                .where(SentNotification.key == item.key)
                .values(sent_at=now)
            )
        sent += 1
    return sent


def skip(database: Database, key: str, due_at: datetime) -> None:
    """Record that a due message is no longer worth sending, so it is never sent."""
    try:
        with database.transaction() as session:
            session.add(SentNotification(key=key, due_at=due_at, skipped=True))
    except sa.exc.IntegrityError:
        pass
