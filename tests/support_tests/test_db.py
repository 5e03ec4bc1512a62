"""Database helpers: per-session databases on both backends, and truncate_all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from support.db import Database, PostgresServer, postgres_required, truncate_all


def _make_schema(engine: Engine) -> None:
    serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    autoinc = "" if engine.dialect.name == "postgresql" else " AUTOINCREMENT"
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('abc123')"))
        conn.execute(text(f"CREATE TABLE bookings (id {serial} PRIMARY KEY{autoinc}, app TEXT)"))
        conn.execute(
            text(
                f"CREATE TABLE approvals (id {serial} PRIMARY KEY{autoinc}, "
                "booking_id INTEGER NOT NULL REFERENCES bookings(id))"
            )
        )
        conn.execute(text("INSERT INTO bookings (app) VALUES ('a'), ('b')"))
        conn.execute(text("INSERT INTO approvals (booking_id) VALUES (1), (2)"))


def test_truncate_all_keeps_alembic_version(make_database: Callable[[], Database]) -> None:
    database = make_database()
    assert isinstance(database, Database)
    engine = database.engine()
    try:
        _make_schema(engine)
        truncate_all(database.url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM bookings")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM approvals")).scalar() == 0
            assert (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "abc123"
            )
        with engine.begin() as conn:
            # Identities restart, as after a fresh migrate.
            conn.execute(text("INSERT INTO bookings (app) VALUES ('c')"))
            assert conn.execute(text("SELECT id FROM bookings")).scalar() == 1
    finally:
        engine.dispose()


def test_truncate_all_on_empty_database(make_database: Callable[[], Database]) -> None:
    database = make_database()
    truncate_all(database.url)


def test_session_database(db_backend: Database, db_engine: Engine) -> None:
    assert db_backend.backend in ("sqlite", "postgresql")
    assert str(db_engine.url.render_as_string(hide_password=False)) == db_backend.url
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    if db_backend.backend == "postgresql":
        assert db_backend.url.startswith("postgresql+psycopg://")
        assert db_backend.heroku_url.startswith("postgres://")
        assert db_backend.heroku_url.split("://")[1] == db_backend.url.split("://")[1]


@pytest.mark.postgres
def test_created_databases_are_dropped(pg_server: PostgresServer) -> None:
    database = pg_server.create_database(prefix="deploybot_droptest")
    # An open connection (like a killed bot's) must not block the drop.
    holder = create_engine(database.url, poolclass=NullPool).connect()
    try:
        pg_server.drop_database(database.name)
    finally:
        holder.invalidate()
        holder.close()
    with pg_server.connect_admin() as conn:
        rows = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database.name,))
        assert rows.fetchone() is None
    assert database.name not in pg_server.created


def test_unreachable_postgres_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from support.db import PostgresUnavailable

    server = PostgresServer(port=1)  # nothing listens on port 1
    with pytest.raises(PostgresUnavailable, match="cannot connect"):
        server.check()
    monkeypatch.setenv("CI", "true")
    assert postgres_required()
    monkeypatch.setenv("CI", "false")
    assert not postgres_required()


def test_inspect_sees_no_leftovers(make_database: Callable[[], Database]) -> None:
    database = make_database()
    engine = database.engine()
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
