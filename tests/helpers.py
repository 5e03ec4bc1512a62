"""Small helpers shared by the integration tests (on top of tests/support)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.audit.model import AuditEntry
from bot.booking.model import Booking
from bot.db import Base, Database
from bot.slack.outbox import OutboxMessage
from support.fake_slack import FakeSlack, SlackCall
from support.slack_requests import ALICE, BOB, Sent, SignedClient

# The still clock of the `outbox_to_fake_slack` fixture (tests/conftest.py).
OUTBOX_NOW = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)

PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"
DEPLOY_CHANNEL = "C0DEPLOY"
# In the text of an approval announcement (its post and every update) of a booking of the
# default app, "Migration `B7K2Q` on foundation-site, <date>: approved", and of no other
# message the bot sends about it: for `outbox_refuses`.
ANNOUNCEMENT_TEXT = "on foundation-site"


def reply_to(fake_slack: FakeSlack, sent: Sent) -> str:
    """What the bot answered privately (through the response URL) to a command/click."""
    assert sent.status_code == 200, sent.text
    assert sent.response_url_id is not None
    return fake_slack.wait_for_response(sent.response_url_id).all_text()


def book(
    slack: SignedClient,
    fake_slack: FakeSlack,
    engine: Engine,
    when: str = "tomorrow 14:00",
    user_id: str = ALICE,
    extra: str = "",
) -> Booking:
    """Book through the real command and return the stored booking."""
    text = reply_to(
        fake_slack, slack.command(f"schedule {PR} {when} for 45m {extra}", user_id=user_id)
    )
    assert "Booked" in text, text
    short_id = text.split("`")[1]
    # The channel notice is posted right after the reply; wait for it so a test's later
    # look at the fake (or its reset) is not raced by it.
    fake_slack.wait_for(
        "chat.postMessage",
        lambda c: (
            c.get("channel") == DEPLOY_CHANNEL
            and "Deploy booked" in c.all_text()
            and short_id in c.all_text()
        ),
    )
    return booking(engine, short_id)


def booking(engine: Engine, short_id: str) -> Booking:
    with Session(engine) as session:
        found = session.scalars(sa.select(Booking).where(Booking.short_id == short_id)).one()
        session.expunge(found)
        return found


def count(engine: Engine, model: type) -> int:
    """How many rows the table of ``model`` holds."""
    with Session(engine) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def audit(engine: Engine, short_id: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(
            session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.entity_id == short_id)
                .order_by(AuditEntry.id)
            )
        )


def announcement(fake_slack: FakeSlack, short_id: str) -> SlackCall:
    return fake_slack.wait_for(
        "chat.postMessage",
        lambda c: (
            c.get("channel") == DEPLOY_CHANNEL
            and "approval needed" in c.all_text()
            and short_id in c.all_text()
        ),
    )


def approve(slack: SignedClient, fake_slack: FakeSlack, short_id: str, user_id: str = BOB) -> None:
    """Mark a booking ready and approve it from its announcement, as `user_id`; returns
    once the announcement says it is approved."""
    reply_to(fake_slack, slack.command(f"ready {short_id}"))
    slack.click(
        announcement(fake_slack, short_id), "approval_approve", f"{short_id}:0", user_id=user_id
    )
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())


def announcement_texts(engine: Engine, short_id: str) -> list[str]:
    """The texts of the outbox rows of `short_id`'s announcement: its posts and updates."""
    return outbox_texts(engine, f"`{short_id}` {ANNOUNCEMENT_TEXT}")


def outbox_texts(engine: Engine, containing: str) -> list[str]:
    """The texts of the outbox rows (any state) that contain `containing`."""
    with Session(engine) as session:
        return [
            text
            for text in session.scalars(sa.select(OutboxMessage.text).order_by(OutboxMessage.id))
            if containing in text
        ]


@contextmanager
def outbox_refuses(engine: Engine, containing: str) -> Iterator[None]:
    """While inside, the database itself refuses to record an outbox row whose text
    contains `containing` (a trigger, on either backend). It shows whether a message is
    recorded in its change's transaction (docs/adr/0019): if it is, the refused insert
    rolls the change back with it; if it is recorded afterwards, the change stands and
    the message is lost, which is what such a test must catch. SQLite's refusal is an
    IntegrityError, PostgreSQL's another database error; neither may be answered as a
    conflict (bot/booking/constraints.py
    tells the booking table's own rules from other integrity errors)."""
    # Put into the DDL as a literal: keep it to characters that need no quoting.
    assert re.fullmatch(r"[\w .,-]+", containing), containing
    pattern = f"%{containing}%"
    if engine.dialect.name == "sqlite":
        create = [
            "CREATE TRIGGER test_outbox_refuses BEFORE INSERT ON slack_outbox "
            f"WHEN NEW.text LIKE '{pattern}' "
            "BEGIN SELECT RAISE(ABORT, 'the test refuses this outbox row'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS test_outbox_refuses"]
    else:
        create = [
            "CREATE FUNCTION test_outbox_refuses() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.text LIKE '{pattern}' THEN "
            "RAISE EXCEPTION 'the test refuses this outbox row'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER test_outbox_refuses BEFORE INSERT ON slack_outbox "
            "FOR EACH ROW EXECUTE FUNCTION test_outbox_refuses()",
        ]
        drop = [
            "DROP TRIGGER IF EXISTS test_outbox_refuses ON slack_outbox",
            "DROP FUNCTION IF EXISTS test_outbox_refuses()",
        ]
    with engine.begin() as connection:
        for statement in create:
            connection.execute(sa.text(statement))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.execute(sa.text(statement))


def refusal(database: Database, *rows: Base) -> sa.exc.IntegrityError:
    """The IntegrityError the database raises on adding `rows`, one flush each, in one
    transaction (rolled back): for telling a table's own rules from other refusals."""
    with pytest.raises(sa.exc.IntegrityError) as refused, database.transaction() as session:
        for row in rows:
            session.add(row)
            session.flush()
    return refused.value
