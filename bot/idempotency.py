"""Remembering which inbound requests were already handled.

Slack may deliver the same request twice (retries carry `X-Slack-Retry-Num`; people
double-click). Each handler derives a key from the request (the slash command's
trigger_id, a view's id, a webhook's delivery id) and claims it inside the same
transaction as the work it guards: if the key is already taken, the work was done.

A Slack request's work may also be done again after a crash (docs/adr/0018): its work
process killed after the work committed but before the reply reached the person. So the
work notes what it did (`note_result`, in the same transaction) and the Slack surface
marks the key once its reply has gone out (`mark_answered`); a repeated run that finds
the key taken and its reply still owed (`reply_owed`) answers from what was noted.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db import Base, Database, UTCDateTime, utcnow

log = logging.getLogger(__name__)

# How long a live run has, from its work's commit, to mark its reply sent before a run
# of the same request beside it takes the reply as owed (see reply_owed).
REPLY_GRACE = timedelta(seconds=2)


class ProcessedRequest(Base):
    __tablename__ = "processed_request"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # What the work did (a booking's short id...), for a repeated run to answer from.
    # Empty on the keys of work that has nothing to answer, and on the previous release's.
    result: Mapped[str | None] = mapped_column(sa.String(200))
    # When the reply to the person went out; empty while it is owed.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlreadyProcessed(Exception):
    pass


def claim(session: Session, key: str) -> None:
    """Claim `key` in the caller's transaction; raise AlreadyProcessed if it is taken.

    Uses a savepoint so that losing the claim leaves the outer transaction usable (on
    PostgreSQL a failed statement otherwise poisons it).
    """
    try:
        with session.begin_nested():
            session.add(ProcessedRequest(key=key))
    except sa.exc.IntegrityError:
        raise AlreadyProcessed(key) from None


def note_result(session: Session, key: str, result: str) -> None:
    """Note, in the transaction that claimed `key`, what its work did: a reply to the
    person is owed from now on, until mark_answered."""
    session.execute(
        sa.update(ProcessedRequest).where(ProcessedRequest.key == key).values(result=result)
    )


def reply_owed(database: Database, key: str) -> str | None:
    """The result noted for `key` if its reply is owed, else None (answered, or nothing
    to answer).

    A run that finds a key taken may be running beside the first run rather than after
    it (Slack's retry of a request whose acknowledgement was late, where the work is not
    recorded first; a form submitted twice): the first run's reply is then on its way.
    So a reply is owed only once REPLY_GRACE has passed since the work committed without
    the reply being marked sent; until then this waits (at most REPLY_GRACE, and only on
    a repeated request)."""
    owed = _owed(database, key)
    if owed is None:
        return None
    result, processed_at = owed
    wait = (processed_at + REPLY_GRACE - utcnow()).total_seconds()
    if wait > 0:
        time.sleep(wait)
        again = _owed(database, key)
        return again[0] if again is not None else None
    return result


def _owed(database: Database, key: str) -> tuple[str, datetime] | None:
    with database.transaction() as session:
        row = session.get(ProcessedRequest, key)
        if row is None or row.result is None or row.answered_at is not None:
            return None
        return row.result, row.processed_at


def mark_answered(database: Database, key: str) -> None:
    """The reply to the request `key` has gone out: a repeated run says nothing more.

    Its own short transaction, after the send: a process killed between the two sends
    the reply once more on the repeated run (the only way a person hears twice). A
    database that fails this write is logged, not raised: the person has their answer,
    and must not be told after it that something went wrong."""
    try:
        with database.transaction() as session:
            session.execute(
                sa.update(ProcessedRequest)
                .where(ProcessedRequest.key == key)
                .where(ProcessedRequest.answered_at.is_(None))
                .values(answered_at=utcnow())
            )
    except sa.exc.SQLAlchemyError:
        log.exception("could not mark the reply to %s sent; a repeated run may send it again", key)
