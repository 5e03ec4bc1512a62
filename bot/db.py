"""The database: declarative base, the UTC datetime type, and the one place sessions are made.

Every request or job runs in one short transaction opened with `Database.transaction()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Constraint names are part of the schema that migrations refer to, so they are derived
# from one convention instead of being left to each database's defaults.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC on every database.

    PostgreSQL keeps the offset (timestamptz); SQLite has no such type, so the value is
    stored as naive UTC text and given back its UTC zone when read. Naive datetimes are
    refused on the way in: they are almost always a bug about whose clock they came from.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_outermost(session: Session) -> bool:
    """For an `after_commit` or `after_rollback` listener: whether the event is the
    outermost transaction's, not a savepoint's.

    SQLAlchemy dispatches both events for a SAVEPOINT too (`session.begin_nested()`
    released or rolled back, `SessionTransaction.commit` and `.rollback`), while that
    savepoint is still the session's nested transaction; by the outermost commit or
    rollback every savepoint has been closed. A hook that acts "once the change is
    durable" (the outbox's sends, the gate's statuses) acting on a savepoint's release
    would act before the real commit, on state no other connection can see yet.
    Not for `after_soft_rollback` or `after_transaction_end`: those run after the
    transaction closed, when the savepoint is no longer the nested one.
    """
    return not session.in_nested_transaction()


def lock_for_writing(session: Session) -> None:
    """Take SQLite's write lock now, before this transaction reads what it will write
    from; on PostgreSQL, nothing (lock the rows themselves, FOR UPDATE).

    Python's sqlite3 begins a transaction only at the first INSERT, UPDATE or DELETE:
    the SELECTs before it each read the database as it is then, and another writer may
    commit between them and the write. `BEGIN IMMEDIATE` makes every read after it
    part of a transaction no other writer can change."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _begin_immediate(connection)


def _begin_immediate(connection: sa.Connection) -> None:
    """Begin SQLite's transaction IMMEDIATE (taking the write lock, waiting for it as
    busy_timeout says) unless one has begun. Through SQLAlchemy, so that a database
    still locked after that wait is its OperationalError."""
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# Connections each process keeps open to PostgreSQL: one per thread that does Slack work
# (bot.slack.app.LISTENER_THREADS), so a busy process reuses its connections instead of
# opening and closing one per transaction. Opening one costs PostgreSQL a new backend
# process (milliseconds of CPU); with SQLAlchemy's default of 5, every transaction beyond
# the fifth at once did that. The overflow is for a burst beyond those threads (the
# clock's jobs, a nested transaction), opened and closed as needed.
POOL_SIZE = 10
POOL_OVERFLOW = 5


def refused_by(error: sa.exc.IntegrityError, *, postgres_name: str, sqlite_message: str) -> bool:
    """Whether one rule of the database refused the write behind `error`: on
    PostgreSQL the constraint or unique index the server names, on SQLite (whose driver
    names neither) the message a trigger aborts with or a unique index's "UNIQUE
    constraint failed: table.column". A service that answers a refusal as a conflict
    ("that slot is taken") asks this first: any other integrity error is unexpected."""
    original = error.orig
    diag = getattr(original, "diag", None)
    if diag is not None:
        # psycopg: the server names the constraint (or unique index) that refused it.
        return getattr(diag, "constraint_name", None) == postgres_name
    return str(original) == sqlite_message


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine with the per-database settings the bot relies on."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 5}, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets the web process read while the clock writes; foreign keys are
            # off by default in SQLite.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        @sa.event.listens_for(engine, "savepoint")
        def _begin_before_savepoint(connection: sa.Connection, _name: str) -> None:
            # Python's sqlite3 begins a transaction only before an INSERT, UPDATE or
            # DELETE. A SAVEPOINT that comes first in a unit of work (claiming its
            # idempotency key, bot/idempotency.py) therefore began SQLite's transaction
            # itself, and releasing it, the outermost savepoint, COMMITTED: the key was
            # kept apart from the work it guards. A work process killed between the two
            # commits left the key taken and the work undone, and the request's repeat
            # after the crash took it as done (issue 15: an acknowledged command never
            # done). So the unit of work's transaction begins first. IMMEDIATE, because
            # a savepoint here always guards a write: the write lock is taken now,
            # waiting for it as busy_timeout says, rather than failing part-way through.
            # A database still locked after that wait is an OperationalError, which the
            # Slack surfaces answer with "try again".
            _begin_immediate(connection)

        return engine
    # Fail fast rather than hang when PostgreSQL is down: Slack gives us 3 seconds.
    return sa.create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 3, "options": "-c statement_timeout=5000"},
        **kwargs,
    )


class Database:
    """Owns the engine and hands out short transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        with self._sessions.begin() as session:
            yield session

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory, for packages that listen to its events (bot/gate)."""
        return self._sessions

    def is_reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()
