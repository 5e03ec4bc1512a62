"""The work behind Slack's acknowledgements, kept in the bot's own database (ADR 0018).

A web worker records a request here before it acknowledges it (bot/slack/handoff.py); a
work process claims it, does it and deletes it (bot/slack/work_processes.py). What is
recorded survives the crash of every process: a claim is a lease (`claimed_until`) that
its work process renews while it works, so the work of a process that died is claimed
again by another once the lease has run out.

Claiming takes free rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so that work
processes (on one dyno or several) never wait for each other's rows; SQLite has no such
clause and serialises writers anyway, so there one process claims at a time.

The work is done at least once and, through the idempotency keys of the work itself
(ADR 0003), has its effect once: a process killed after the work's own transaction but
before its row was deleted leaves it to be claimed again, and the second run finds the
key taken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Database, UTCDateTime, utcnow

# A row claimed this many times without being finished (its work process died each
# time: a request that kills whoever does it) is left alone, so it cannot take every
# work process down in turn.
MAX_ATTEMPTS = 3


class SlackWork(Base):
    __tablename__ = "slack_work"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A hash of the raw body: Slack's retry of a request it has not seen acknowledged is
    # the same body, and is recorded once.
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    body: Mapped[str] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)


@dataclass(frozen=True)
class NewWork:
    """A request's work, to be recorded."""

    body: str
    content_type: str

    @cached_property
    def key(self) -> str:
        return work_key(self.body)


@dataclass(frozen=True)
class Recorded:
    """What `record_many` did: each key's row id, and which rows it added (the others
    were there already: Slack's retries of requests recorded before)."""

    ids: dict[str, int]
    new: frozenset[str]


@dataclass(frozen=True)
class Work:
    id: int
    body: str
    content_type: str


def work_key(raw_body: str) -> str:
    return hashlib.sha256(raw_body.encode()).hexdigest()


class WorkTable:
    """The queries on slack_work, for both sides."""

    def __init__(self, database: Database, *, lease: timedelta) -> None:
        self._database = database
        self.lease = lease
        self._postgres = database.engine.dialect.name == "postgresql"
        insert = postgresql.insert if self._postgres else sqlite.insert
        # Built once: it runs for every acknowledgement.
        self._record = (
            insert(SlackWork)
            .on_conflict_do_nothing(index_elements=[SlackWork.key])
            .returning(SlackWork.key, SlackWork.id)
        )

    # -- the web worker's side ----------------------------------------------------------

    def record(self, raw_body: str, content_type: str) -> int:
        """Record one request's work; return its id (that of the first recording, for a
        retried request)."""
        work = NewWork(raw_body, content_type)
        return self.record_many([work]).ids[work.key]

    def record_many(
        self, works: Sequence[NewWork], *, connection: sa.Connection | None = None
    ) -> Recorded:
        """Record the work of several requests (the acknowledgements of one web worker
        that arrived together, bot/slack/handoff.py); return the row id of each key. A
        request already recorded (Slack's retry: the same body) keeps its row, and is
        not among the `new` keys.
        `connection`, if given, is one from `connect()` that the caller keeps.

        One INSERT of every row, committed on its own (autocommit): a statement is
        atomic, and BEGIN and COMMIT were two round trips and much of the CPU of each
        acknowledgement. Core, not the ORM, for the same reason (docs/adr/0022)."""
        if connection is None:
            with self.connect() as connection:
                return self.record_many(works, connection=connection)
        now = utcnow()
        unique = {work.key: work for work in works}

        def add(keys: Collection[str]) -> dict[str, int]:
            rows = [
                {
                    "key": key,
                    "body": unique[key].body,
                    "content_type": unique[key].content_type,
                    "created_at": now,
                    "attempts": 0,
                }
                for key in keys
            ]
            return {r.key: r.id for r in connection.execute(self._record, rows)} if rows else {}

        new = add(unique)
        existing = self._ids(connection, [key for key in unique if key not in new])
        # A retry whose first row was finished and deleted between the two statements is
        # recorded again (the work's idempotency key still keeps its effect once).
        new |= add([key for key in unique if key not in new and key not in existing])
        ids = existing | new
        if len(ids) < len(unique):
            raise RuntimeError(f"{len(unique) - len(ids)} Slack request(s) were not recorded")
        return Recorded(ids, frozenset(new))

    def connect(self) -> sa.Connection:
        """A connection of the caller's own, for `record_many`: every statement on it
        commits by itself."""
        return self._database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    @staticmethod
    def _ids(connection: sa.Connection, keys: list[str]) -> dict[str, int]:
        if not keys:
            return {}
        query = sa.select(SlackWork.key, SlackWork.id).where(SlackWork.key.in_(keys))
        return {r.key: r.id for r in connection.execute(query)}

    def probe(self) -> None:
        """Raise unless the table takes a write now: an UPDATE that matches no row still
        waits for what blocks writes (a table lock on PostgreSQL, the write lock on
        SQLite), where a read would not."""
        with self._database.transaction() as session:
            session.execute(
                sa.update(SlackWork).where(SlackWork.id == 0).values(attempts=SlackWork.attempts)
            )

    def withdraw(self, work_id: int) -> bool:
        """Delete a row nobody has claimed yet (its request was answered "try again" after
        all); return whether it was deleted."""
        with self._database.transaction() as session:
            result = session.execute(
                sa.delete(SlackWork)
                .where(SlackWork.id == work_id)
                .where(SlackWork.claimed_by.is_(None))
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # -- the work processes' side -------------------------------------------------------

    def _claimable(self, now: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(
            sa.or_(SlackWork.claimed_until.is_(None), SlackWork.claimed_until < now),
            SlackWork.attempts < MAX_ATTEMPTS,
        )

    def claim(self, work_id: int, holder: str) -> Work | None:
        """Claim one row by id (the web worker named it on the channel), if it is free."""
        now = utcnow()
        with self._database.transaction() as session:
            row = session.execute(
                sa.update(SlackWork)
                .where(SlackWork.id == work_id)
                .where(self._claimable(now))
                .values(
                    claimed_by=holder,
                    claimed_until=now + self.lease,
                    attempts=SlackWork.attempts + 1,
                )
                .returning(SlackWork.id, SlackWork.body, SlackWork.content_type)
            ).one_or_none()
        return Work(row.id, row.body, row.content_type) if row is not None else None

    def claim_free(
        self,
        holder: str,
        limit: int,
        *,
        older_than: timedelta,
        doing: Collection[int] = (),
    ) -> list[Work]:
        """Claim up to `limit` free rows recorded more than `older_than` ago, oldest
        first: work nobody was told about (its message was lost with a process) or whose
        work process died. Younger rows are left to the process their web worker told.
        `doing` are rows the caller is still working on: never claimed again by it, even
        if their claims ran out (a renewal that waited for SQLite's write lock longer than
        the lease), since a second run beside the first could answer the person twice."""
        if limit <= 0:
            return []
        now = utcnow()
        orphaned = sa.and_(
            self._claimable(now),
            SlackWork.created_at < now - older_than,
            SlackWork.id.not_in(list(doing)),
        )
        free = sa.select(SlackWork.id).where(orphaned).order_by(SlackWork.id).limit(limit)
        if self._postgres:
            free = free.with_for_update(skip_locked=True)
        with self._database.transaction() as session:
            # A read first: an idle process asks every second, and on SQLite even an
            # UPDATE that matches nothing takes the database's one write lock.
            if session.scalar(sa.select(SlackWork.id).where(orphaned).limit(1)) is None:
                return []
            rows = session.execute(
                sa.update(SlackWork)
                .where(SlackWork.id.in_(free.scalar_subquery()))
                .values(
                    claimed_by=holder,
                    claimed_until=now + self.lease,
                    attempts=SlackWork.attempts + 1,
                )
                .returning(SlackWork.id, SlackWork.body, SlackWork.content_type)
            ).all()
        return sorted((Work(r.id, r.body, r.content_type) for r in rows), key=lambda w: w.id)

    def renew(self, holder: str, work_ids: list[int]) -> None:
        """Extend this process's claims on the work it is doing."""
        if not work_ids:
            return
        with self._database.transaction() as session:
            session.execute(
                sa.update(SlackWork)
                .where(SlackWork.id.in_(work_ids))
                .where(SlackWork.claimed_by == holder)
                .values(claimed_until=utcnow() + self.lease)
            )

    def finish(self, work_id: int) -> None:
        with self._database.transaction() as session:
            session.execute(sa.delete(SlackWork).where(SlackWork.id == work_id))

    def pending(self) -> int:
        with self._database.transaction() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(SlackWork)) or 0)
