"""The runbook checklist's outbox records against real databases and the fake Slack:
an update recorded while its post still waits goes to the conversation the post went
to, whatever the deploy channel is configured to be by then (docs/adr/0019)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import OUTBOX_NOW

from bot.booking.model import Booking
from bot.runbook.notices import RunbookNotices
from bot.runbook.service import RunbookView
from bot.slack.outbox import Outbox
from support.fake_slack import FakeSlack

AT = OUTBOX_NOW


@pytest.fixture
def outbox(outbox_to_fake_slack: Outbox) -> Outbox:
    return outbox_to_fake_slack


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


def test_the_checklist_and_an_abort_go_to_the_announcements_thread_in_its_own_channel(
    outbox: Outbox, fake_slack: FakeSlack
) -> None:
    booking = es_booking()
    booking.status = "deploying"
    announced = "1764597600.000100"
    fake_slack.seed_message("C0BEFORE", announced, "the announcement")
    booking.announcement_channel, booking.announcement_ts = "C0BEFORE", announced
    # The deploy channel is another by now: the thread is still the announcement's.
    notices = RunbookNotices(outbox, "C0AFTER")
    with outbox.database.transaction() as session:
        notices.checklist_opened(session, RunbookView(booking))
        notices.aborted(session, booking)

    sent = [c for c in fake_slack.calls("chat.postMessage") if c.ok]
    assert [(c.get("channel"), c.get("thread_ts")) for c in sent] == [
        ("C0BEFORE", announced),
        ("C0BEFORE", announced),
    ]
