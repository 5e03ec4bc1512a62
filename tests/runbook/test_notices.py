"""The runbook checklist's outbox records against real databases and the fake Slack:
an update recorded while its post still waits goes to the conversation the post went
to, whatever the deploy channel is configured to be by then (docs/adr/0019)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.booking.model import Booking
from bot.db import Database
from bot.migrations import upgrade
from bot.runbook.notices import RunbookNotices
from bot.runbook.service import RunbookView
from bot.slack.outbox import Outbox
from support.db import Database as ScratchDatabase
from support.fake_slack import DEFAULT_TOKEN, FakeSlack

AT = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def outbox(make_database, fake_slack: FakeSlack) -> Iterator[Outbox]:  # type: ignore[no-untyped-def]
    target: ScratchDatabase = make_database()
    upgrade(target.url)
    fake_slack.reset()
    database = Database(target.url)
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
    yield Outbox(database, client, now=lambda: AT, holder="one")
    database.dispose()


def es_booking() -> Booking:
    # Not stored: the notices only render it and key the checklist by its id.
    return Booking(id=7, short_id="ESMAP", app="site", kind="es", title="New mapping")


def test_a_checklist_update_waiting_for_its_post_goes_to_the_posts_channel(
    outbox: Outbox, fake_slack: FakeSlack
) -> None:
    booking = es_booking()
    fake_slack.fail_next("chat.postMessage", status=503, retry_after=None)
    with outbox.database.transaction() as session:
        RunbookNotices(outbox, "C0BEFORE").checklist_opened(session, RunbookView(booking))
    # DEPLOY_CHANNEL changed (a restart with new settings) before Slack took the post.
    with outbox.database.transaction() as session:
        RunbookNotices(outbox, "C0AFTER").checklist_changed(
            session, RunbookView(booking, done={1: ("U1", AT)})
        )
    outbox.deliver_due(AT + timedelta(minutes=1))

    [post] = [c for c in fake_slack.calls("chat.postMessage") if c.ok]
    [update] = [c for c in fake_slack.calls("chat.update") if c.ok]
    assert post.get("channel") == update.get("channel") == "C0BEFORE"
    assert update.get("ts") == post.response["ts"]
    assert "1 of" in (update.text or "")
    assert [c for c in fake_slack.calls() if c.get("channel") == "C0AFTER"] == []


def test_no_update_is_recorded_for_a_checklist_never_posted(outbox: Outbox) -> None:
    with outbox.database.transaction() as session:
        RunbookNotices(outbox, "C0DEPLOY").checklist_changed(
            session, RunbookView(es_booking(), done={1: ("U1", AT)})
        )
    assert outbox.pending() == 0
