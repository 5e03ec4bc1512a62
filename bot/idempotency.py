"""Remembering which inbound requests were already handled.

Slack may deliver the same request twice (retries carry `X-Slack-Retry-Num`; people
double-click). Each handler derives a key from the request (the slash command's
trigger_id, a view's id, a webhook's delivery id) and claims it inside the same
transaction as the work it guards: if the key is already taken, the work was done.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db import Base, UTCDateTime, utcnow


class ProcessedRequest(Base):
    __tablename__ = "processed_request"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


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
