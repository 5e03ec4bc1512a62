"""Database backends for the tests: an SQLite file, or a throwaway PostgreSQL database.

Heroku runs the bot on PostgreSQL while developers often use SQLite, and the two differ in
exactly the places a scheduling bot cares about (locking, time zones, constraint
enforcement), so integration tests run on both. Each test session gets its own uniquely
named PostgreSQL database, so parallel sessions (other developers, CI shards) never share
state, and every database the harness creates is dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

PG_HOST = os.environ.get("TEST_PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PGPORT", "5432"))
PG_USERS = ("postgres", "root")
PG_MAINTENANCE_DB = "test"
KEEP_TABLES = frozenset({"alembic_version"})


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server the tests can use."""


def postgres_required() -> bool:
    """In CI a missing PostgreSQL is a broken pipeline, not a reason to skip."""
    return os.environ.get("CI", "").lower() == "true"


@dataclass(frozen=True)
class Database:
    """A database the bot can use. ``url`` is the SQLAlchemy URL to give as DATABASE_URL."""

    backend: str  # "sqlite" or "postgresql"
    url: str
    name: str

    @property
    def heroku_url(self) -> str:
        """The same database as Heroku spells it (``postgres://``), which the bot accepts."""
        if self.backend != "postgresql":
            return self.url
        return "postgres://" + self.url.split("://", 1)[1]

    def engine(self) -> Engine:
        return make_engine(self.url)


def make_engine(url: str) -> Engine:
    """An engine for test assertions. NullPool: an idle pooled connection would keep
    SQLite locked against the bot and block DROP DATABASE on PostgreSQL."""
    if url.startswith("sqlite"):
        # Wait for the bot's write lock rather than failing with "database is locked".
        return create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
    return create_engine(url, poolclass=NullPool)


def sqlite_database(directory: Path | str | None = None, name: str = "deploybot") -> Database:
    """A fresh SQLite file (not created until first used)."""
    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="deploybot-db-"))
    path = folder / f"{name}-{secrets.token_hex(4)}.sqlite3"
    return Database(backend="sqlite", url=f"sqlite:///{path}", name=str(path))


@dataclass
class PostgresServer:
    """The local PostgreSQL server, and the databases this test session created on it."""

    host: str = PG_HOST
    port: int = PG_PORT
    maintenance_db: str = PG_MAINTENANCE_DB
    user: str | None = None
    created: list[str] = field(default_factory=list)

    def connect_admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection to the maintenance database (CREATE/DROP DATABASE)."""
        users = (self.user,) if self.user else PG_USERS
        errors = []
        for user in users:
            try:
                conn = psycopg.connect(
                    host=self.host,
                    port=self.port,
                    user=user,
                    dbname=self.maintenance_db,
                    autocommit=True,
                    connect_timeout=3,
                )
            except psycopg.OperationalError as exc:
                errors.append(f"{user}: {str(exc).strip()}")
                continue
            self.user = user
            return conn
        raise PostgresUnavailable(
            f"cannot connect to PostgreSQL at {self.host}:{self.port}/{self.maintenance_db} "
            f"as any of {list(users)}: " + "; ".join(errors)
        )

    def check(self) -> None:
        """Raise PostgresUnavailable unless the server accepts us."""
        with self.connect_admin() as conn:
            conn.execute("SELECT 1")

    def url_for(self, name: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{name}"

    def create_database(self, prefix: str = "deploybot_test") -> Database:
        """Create an empty, uniquely named database (dropped by ``drop_all``)."""
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        with self.connect_admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return Database(backend="postgresql", url=self.url_for(name), name=name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, first disconnecting anyone still using it (e.g. a killed bot)."""
        with self.connect_admin() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            self.drop_database(name)


def table_names(conn: Connection) -> list[str]:
    """The tables of the live schema but ``alembic_version``: one catalogue query, not a
    reflection of every column and constraint (which cost most of a reset)."""
    if conn.dialect.name == "postgresql":
        query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    names = [row[0] for row in conn.exec_driver_sql(query)]
    return sorted(name for name in names if name not in KEEP_TABLES)


def used_tables(conn: Connection, tables: list[str]) -> list[str]:
    """Of ``tables`` (PostgreSQL), those holding rows or whose id sequence has been used
    since the last reset: TRUNCATE costs PostgreSQL a new file per table whether or not it
    held anything, and most tests touch only a few tables."""
    if not tables:
        return []
    preparer = conn.dialect.identifier_preparer
    # Names from the catalogue, quoted: no outside input reaches the SQL.
    non_empty = " UNION ALL ".join(
        f"SELECT '{t}' FROM (SELECT 1 FROM {preparer.quote(t)} LIMIT 1) AS x"  # noqa: S608
        for t in tables
    )
    used = {row[0] for row in conn.exec_driver_sql(non_empty)}
    # A sequence's last_value is NULL until it is first used after a RESTART.
    sequences = conn.exec_driver_sql(
        "SELECT t.relname FROM pg_sequences AS s"
        " JOIN pg_class AS c ON c.relname = s.sequencename AND c.relkind = 'S'"
        " JOIN pg_depend AS d ON d.objid = c.oid AND d.deptype IN ('a', 'i')"
        " JOIN pg_class AS t ON t.oid = d.refobjid"
        " WHERE s.schemaname = current_schema() AND s.last_value IS NOT NULL"
    )
    used.update(row[0] for row in sequences)
    return [t for t in tables if t in used]


def truncate_all(url: str, *, engine: Engine | None = None) -> None:
    """Empty every table except ``alembic_version``, so the schema stays migrated.

    Reads the live schema rather than importing the bot's models: the harness must
    not depend on the code under test, and it should also clear tables a migration
    created that the models forgot.
    """
    own_engine = engine is None
    eng = engine or make_engine(url)
    try:
        with eng.connect() as conn:
            preparer = conn.dialect.identifier_preparer
            if conn.dialect.name == "postgresql":
                tables = used_tables(conn, table_names(conn))
                if tables:
                    names = ", ".join(preparer.quote(t) for t in tables)
                    conn.exec_driver_sql(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE")
                conn.commit()
                return
            # Foreign keys off so the delete order cannot matter. The pragma is ignored
            # inside a transaction, so it is committed on its own first. (The connection is
            # not pooled, so the setting dies with it.)
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
            tables = table_names(conn)
            for table in tables:
                # Names from the catalogue, quoted: no outside input reaches the SQL.
                conn.exec_driver_sql(f"DELETE FROM {preparer.quote(table)}")  # noqa: S608
            has_sequences = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
            ).first()
            if has_sequences:
                # The SQLite counterpart of RESTART IDENTITY for AUTOINCREMENT keys.
                conn.exec_driver_sql("DELETE FROM sqlite_sequence")
            conn.commit()
    finally:
        if own_engine:
            eng.dispose()


@contextmanager
def captured_sql(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL `engine` sends inside the block, each with its parameters, for EXPLAIN."""
    statements: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
