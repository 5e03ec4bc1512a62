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

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db import Base, Database, UTCDateTime, utcnow


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


def reply_owed(session: Session, key: str) -> str | None:
    """The result noted for `key` if its reply never went out, else None (answered, or
    nothing to answer)."""
    row = session.get(ProcessedRequest, key)
    if row is None or row.result is None or row.answered_at is not None:
        return None
    return row.result


def mark_answered(database: Database, key: str) -> None:
    """The reply to the request `key` has gone out: a repeated run says nothing more.

    Its own short transaction, after the send: a process killed between the two sends
    the reply once more on the repeated run (the only way a person hears twice)."""
    with database.transaction() as session:
        session.execute(
            sa.update(ProcessedRequest)
            .where(ProcessedRequest.key == key)
            .where(ProcessedRequest.answered_at.is_(None))
            .values(answered_at=utcnow())
        )
