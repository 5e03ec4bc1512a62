"""Helpers shared by the fault tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, func, select
from sqlalchemy.engine import Engine

from support.fake_slack import FakeSlack, SlackCall
from support.slack_requests import ALICE, Sent, SignedClient

# Slack gives an app 3 seconds to acknowledge a command, click or submission.
ACK_DEADLINE = 3.0
PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"


def row_counts(engine: Engine) -> dict[str, int]:
    """How many rows every table of the bot holds (alembic_version aside)."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    with engine.connect() as conn:
        return {
            name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in metadata.tables.items()
            if name != "alembic_version"
        }


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
