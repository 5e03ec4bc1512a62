"""Helpers shared by the fault tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bot.booking.model import Booking
from support.fake_slack import FakeSlack, SlackCall
from support.server import schema_at_head
from support.slack_requests import ALICE, Sent, SignedClient

# Slack gives an app 3 seconds to acknowledge a command, click or submission.
ACK_DEADLINE = 3.0
PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"


def row_counts(engine: Engine) -> dict[str, int]:
    """How many rows every table of the bot holds (alembic_version aside)."""
    with engine.connect() as conn:
        return {
            name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in _tables(engine.url.render_as_string(hide_password=False))
        }


_reflected: dict[str, list[tuple[str, Table]]] = {}


def _tables(url: str) -> list[tuple[str, Table]]:
    """The bot's tables in the database at ``url``, reflected once per database: the
    property tests count rows before and after each of hundreds of requests, and
    reflecting the schema each time cost more than the requests. Only a schema at the
    newest migration is kept (it no longer changes); anything else is read again."""
    if url in _reflected:
        return _reflected[url]
    metadata = MetaData()
    engine = create_engine(url, poolclass=NullPool)
    try:
        metadata.reflect(bind=engine)
    finally:
        engine.dispose()
    tables = [(n, t) for n, t in metadata.tables.items() if n != "alembic_version"]
    if schema_at_head(url):
        _reflected[url] = tables
    return tables


def assert_acknowledged(sent: Sent) -> None:
    """Answered inside Slack's 3 seconds, and not with a server error."""
    assert sent.status_code == 200, (sent.status_code, sent.text[:300])
    assert sent.elapsed < ACK_DEADLINE, f"acknowledged after {sent.elapsed:.2f}s"


def modal_values(days_ahead: int = 2, title: str = "New search mapping") -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=days_ahead)
    return {
        "pull_requests": PR,
        "kind": "other",
        "starts_at": int(start.timestamp()),
        "duration": "1h",
        "title": title,
        "rollback_plan": "Deploy master back",
    }


def open_schedule_modal(
    slack: SignedClient, fake_slack: FakeSlack, user_id: str = ALICE
) -> SlackCall:
    sent = slack.command("schedule", user_id=user_id)
    assert_acknowledged(sent)
    return fake_slack.wait_for(
        "views.open", lambda c: c.get("trigger_id") == sent.request.payload["trigger_id"]
    )


def dm_to(fake_slack: FakeSlack, user_id: str, text: str, timeout: float = 15.0) -> SlackCall:
    return fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == user_id and text in c.all_text(),
        timeout=timeout,
    )


# What each booking of `due_bookings` owes at "now" (its slot 10 minutes away, booked two
# hours ago): the reminders the clock sends.
REMINDER_PHRASES = ("in about an hour", "in 15 minutes", "has not announced it")


def due_bookings(engine: Engine, now: datetime, count: int, prefix: str = "K") -> list[str]:
    """Store `count` scheduled bookings, each of its own app, starting 10 minutes after
    `now` and booked two hours before it; their short ids (`prefix` and a number)."""
    starts = now.replace(microsecond=0) + timedelta(minutes=10)
    ids = [f"{prefix}{i:03d}" for i in range(count)]
    with Session(engine) as session:
        for i, short_id in enumerate(ids):
            session.add(
                Booking(
                    short_id=short_id,
                    app=f"{prefix.lower()}-site-{i}",
                    kind="other",
                    title=f"Change {i}",
                    pull_requests=["o/r#1"],
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=30),
                    status="scheduled",
                    requester_id=ALICE,
                    rollback_plan="",
                    notes="",
                    created_at=now - timedelta(hours=2),
                )
            )
        session.commit()
    return ids


def reminder_of(call: SlackCall) -> tuple[str, str]:
    """(booking short id, which reminder) of a reminder message about a `due_bookings` one."""
    text = call.all_text()
    [short_id] = [w.strip("`") for w in text.split() if w.startswith("`K")]
    [phrase] = [p for p in REMINDER_PHRASES if p in text]
    return short_id, phrase
