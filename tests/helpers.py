"""Small helpers shared by the integration tests (on top of tests/support)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.audit.model import AuditEntry
from bot.booking.model import Booking
from support.fake_slack import FakeSlack, SlackCall
from support.slack_requests import ALICE, BOB, Sent, SignedClient

PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"
DEPLOY_CHANNEL = "C0DEPLOY"


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
