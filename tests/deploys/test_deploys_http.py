"""The deploy lifecycle over HTTP: start, land, fail, roll back, override, edit, history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from helpers import (
    ANNOUNCEMENT_TEXT,
    DEPLOY_CHANNEL,
    announcement,
    announcement_texts,
    audit,
    book,
    booking,
    outbox_refuses,
    outbox_texts,
    reply_to,
)
from sqlalchemy.engine import Engine

from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import ALICE, BOB, CAROL, SignedClient


@pytest.fixture
def override_slack(
    start_bot: Callable[..., InProcessBot], fake_slack: FakeSlack
) -> Iterator[tuple[InProcessBot, SignedClient]]:
    """A bot of its own where the emergency override is allowed, and a client for it."""
    overridable = start_bot(ALLOW_EMERGENCY_OVERRIDE="true")
    with SignedClient.for_bot(overridable, fake_slack) as signed:
        yield overridable, signed


def command(slack: SignedClient, fake_slack: FakeSlack, text: str, user_id: str = ALICE) -> str:
    return reply_to(fake_slack, slack.command(text, user_id=user_id))


def approved(
    slack: SignedClient,
    fake_slack: FakeSlack,
    engine: Engine,
    when: str = "in 15 minutes",
    extra: str = "",
) -> str:
    booked = book(slack, fake_slack, engine, when=when, extra=extra)
    command(slack, fake_slack, f"ready {booked.short_id}")
    posted = announcement(fake_slack, booked.short_id)
    slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
    fake_slack.wait_for(
        "chat.postMessage",
        lambda c: (
            c.get("channel") == ALICE
            and booked.short_id in c.all_text()
            and "is approved" in c.all_text()
        ),
    )
    return booked.short_id


def test_the_whole_happy_path_and_its_history(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine, when="in 15 minutes")
    refused = command(slack, fake_slack, f"start {booked.short_id}")
    assert "not approved" in refused
    command(slack, fake_slack, f"ready {booked.short_id}")
    posted = announcement(fake_slack, booked.short_id)
    slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())

    # Its start window opens when the bot's time reaches it, as the real time would.
    bot.clock.advance(minutes=15)
    assert "only <@U0ALICE001>" in command(slack, fake_slack, f"start {booked.short_id}", BOB)
    assert "is deploying" in command(slack, fake_slack, f"start {booked.short_id}")
    fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and "started" in c.all_text(),
    )
    fake_slack.wait_for("chat.update", lambda c: "Deploying" in c.all_text())
    assert booking(db_engine, booked.short_id).status == "deploying"

    assert "landed" in command(slack, fake_slack, f"done {booked.short_id}")
    fake_slack.wait_for("chat.update", lambda c: "Landed" in c.all_text())
    stored = booking(db_engine, booked.short_id)
    assert stored.status == "landed"
    assert stored.started_at is not None and stored.finished_at is not None

    history = command(slack, fake_slack, f"history {booked.short_id}", user_id=CAROL)
    order = [
        "booked it",
        "announced it",
        "approved",
        "completed the approvals",
        "started the deploy",
        "marked it landed",
    ]
    positions = [history.index(label) for label in order]
    assert positions == sorted(positions)


def test_moves_the_lifecycle_does_not_allow_say_what_is_allowed(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine, when="in 15 minutes")
    answer = command(slack, fake_slack, f"done {booked.short_id}")
    assert "It is scheduled" in answer and "`/deploy ready`" in answer
    assert booking(db_engine, booked.short_id).status == "scheduled"


def test_a_deploy_cannot_start_before_its_slot(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    short_id = approved(slack, fake_slack, db_engine, when="tomorrow 15:00")
    assert "you may start up to 15 minutes early" in command(slack, fake_slack, f"start {short_id}")
    assert booking(db_engine, short_id).status == "approved"


def test_failure_posts_the_rollback_checklist_in_the_announcement_thread(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    short_id = approved(
        slack, fake_slack, db_engine, extra='rollback:"migrate people back to 0041"'
    )
    bot.clock.advance(minutes=15)
    command(slack, fake_slack, f"start {short_id}")
    reply = command(slack, fake_slack, f"failed {short_id}")
    assert "heroku pg:backups:restore DATABASE_URL --app foundation-site" in reply
    thread = fake_slack.wait_for("chat.postMessage", lambda c: "Rollback checklist" in c.all_text())
    stored = booking(db_engine, short_id)
    assert thread.get("thread_ts") == stored.announcement_ts
    text = thread.all_text()
    assert "migrate people back to 0041" in text
    assert "Data written since the backup" in text and "Redeploy master" in text
    assert stored.status == "failed"

    assert "rolled back" in command(slack, fake_slack, f"rolledback {short_id}", user_id=BOB)
    assert booking(db_engine, short_id).status == "rolled_back"


def test_emergency_override_is_off_by_default(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine, when="in 12 minutes")
    answer = command(slack, fake_slack, f'start {booked.short_id} --override "site down"')
    assert "override is turned off" in answer
    assert booking(db_engine, booked.short_id).status == "scheduled"


def test_emergency_override_is_loud_and_audited(
    override_slack: tuple[InProcessBot, SignedClient], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    overridable, client = override_slack
    booked = book(client, fake_slack, db_engine, when="in 15 minutes")
    overridable.clock.advance(minutes=15)
    assert "needs a reason" in command(client, fake_slack, f"start {booked.short_id} --override")
    assert booking(db_engine, booked.short_id).status == "scheduled"

    command(client, fake_slack, f'start {booked.short_id} --override "site is down"')
    loud = fake_slack.wait_for("chat.postMessage", lambda c: "EMERGENCY OVERRIDE" in c.all_text())
    assert loud.get("channel") == DEPLOY_CHANNEL and "site is down" in loud.all_text()
    stored = booking(db_engine, booked.short_id)
    assert (stored.status, stored.override_reason) == ("deploying", "site is down")
    [entry] = [e for e in audit(db_engine, booked.short_id) if e.action == "booking.override_start"]
    assert (entry.actor_id, entry.reason) == (ALICE, "site is down")


def test_one_deploy_of_an_app_at_a_time(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    first = approved(slack, fake_slack, db_engine, when="in 15 minutes")
    second = approved(slack, fake_slack, db_engine, when="in 70 minutes")
    bot.clock.advance(minutes=15)
    assert "is deploying" in command(slack, fake_slack, f"start {first}")
    # The second's start window is open (and the first, still deploying, past its slot).
    bot.clock.advance(minutes=45)
    assert f"`{first}` of the same app is still deploying" in command(
        slack, fake_slack, f"start {second}"
    )
    command(slack, fake_slack, f"done {first}")
    assert "is deploying" in command(slack, fake_slack, f"start {second}")


def test_a_start_whose_notice_cannot_be_recorded_is_not_called_a_concurrent_start(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    short_id = approved(slack, fake_slack, db_engine, when="in 15 minutes")
    bot.clock.advance(minutes=15)
    # The started notice is recorded with the start (docs/adr/0019). On SQLite its
    # refusal is an IntegrityError, which only the one-deploying index's may be read as.
    with outbox_refuses(db_engine, "Hold on to your hats"):
        answer = command(slack, fake_slack, f"start {short_id}")
        assert "Something went wrong" in answer and "same moment" not in answer, answer
        assert booking(db_engine, short_id).status == "approved"
    assert "is deploying" in command(slack, fake_slack, f"start {short_id}")


def test_moving_an_approved_booking_voids_its_approvals(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    short_id = approved(slack, fake_slack, db_engine, when="tomorrow 10:00")
    other = book(slack, fake_slack, db_engine, when="tomorrow 16:00", user_id=CAROL)

    assert "only <@U0ALICE001>" in command(
        slack, fake_slack, f"edit {short_id} tomorrow 11:00", BOB
    )
    assert "overlaps" in command(slack, fake_slack, f"edit {short_id} tomorrow 16:15")
    assert booking(db_engine, short_id).status == "approved"

    answer = command(slack, fake_slack, f"edit {short_id} tomorrow 12:00 for 1h")
    assert "approvals are void" in answer
    stored = booking(db_engine, short_id)
    assert (stored.status, stored.approval_round) == ("scheduled", 1)
    assert (stored.ends_at - stored.starts_at).total_seconds() == 3600
    fake_slack.wait_for("chat.update", lambda c: "Approvals voided" in c.all_text())
    assert booking(db_engine, other.short_id).status == "scheduled"

    # Only the duration changed: approvals survive, nothing is voided.
    short_id2 = approved(slack, fake_slack, db_engine, when="tomorrow 18:00")
    assert "void" not in command(slack, fake_slack, f"edit {short_id2} for 30m")
    assert booking(db_engine, short_id2).status == "approved"


def test_an_edit_and_its_channel_notice_are_recorded_together(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    # The notice cannot be recorded: the edit must not stand without it (docs/adr/0019).
    with outbox_refuses(db_engine, "changed"):
        answer = command(slack, fake_slack, f"edit {booked.short_id} for 1h")
        # On SQLite the refusal is an IntegrityError too: still not a slot conflict.
        assert "Something went wrong" in answer and "overlaps" not in answer, answer
        assert booking(db_engine, booked.short_id).ends_at == booked.ends_at
        assert "booking.edited" not in [e.action for e in audit(db_engine, booked.short_id)]
    assert outbox_texts(db_engine, "changed") == []

    assert "changed" in command(slack, fake_slack, f"edit {booked.short_id} for 1h")
    stored = booking(db_engine, booked.short_id)
    assert (stored.ends_at - stored.starts_at).total_seconds() == 3600
    fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and "changed" in c.all_text(),
    )
    [notice] = outbox_texts(db_engine, "changed")
    assert booked.short_id in notice


def test_a_start_and_a_landing_stand_only_with_their_announcement_updates(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    short_id = approved(slack, fake_slack, db_engine)
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    recorded = len(announcement_texts(db_engine, short_id))  # the post and the approval
    bot.clock.advance(minutes=15)

    # The announcement's update is recorded in the move's own transaction (docs/adr/0019):
    # when the database refuses it, the move must not stand either.
    with outbox_refuses(db_engine, ANNOUNCEMENT_TEXT):
        assert "is deploying" not in command(slack, fake_slack, f"start {short_id}")
        assert booking(db_engine, short_id).status == "approved"
    assert len(announcement_texts(db_engine, short_id)) == recorded

    assert "is deploying" in command(slack, fake_slack, f"start {short_id}")
    fake_slack.wait_for("chat.update", lambda c: "Deploying" in c.all_text())
    assert len(announcement_texts(db_engine, short_id)) == recorded + 1

    with outbox_refuses(db_engine, ANNOUNCEMENT_TEXT):
        assert "landed" not in command(slack, fake_slack, f"done {short_id}")
        assert booking(db_engine, short_id).status == "deploying"
    assert len(announcement_texts(db_engine, short_id)) == recorded + 1

    assert "landed" in command(slack, fake_slack, f"done {short_id}")
    fake_slack.wait_for("chat.update", lambda c: "Landed" in c.all_text())
    assert booking(db_engine, short_id).status == "landed"
    assert len(announcement_texts(db_engine, short_id)) == recorded + 2


def test_an_edit_voids_the_approvals_only_with_the_announcement_update(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    short_id = approved(slack, fake_slack, db_engine, when="tomorrow 10:00")
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    recorded = len(announcement_texts(db_engine, short_id))

    # The announcement says its approvals are void in the edit's own transaction
    # (docs/adr/0019): refused, the edit does not stand.
    with outbox_refuses(db_engine, ANNOUNCEMENT_TEXT):
        answer = command(slack, fake_slack, f"edit {short_id} tomorrow 12:00")
        assert "approvals are void" not in answer
        stored = booking(db_engine, short_id)
        assert (stored.status, stored.approval_round) == ("approved", 0)
    assert len(announcement_texts(db_engine, short_id)) == recorded

    assert "approvals are void" in command(slack, fake_slack, f"edit {short_id} tomorrow 12:00")
    fake_slack.wait_for("chat.update", lambda c: "Approvals voided" in c.all_text())
    stored = booking(db_engine, short_id)
    assert (stored.status, stored.approval_round) == ("scheduled", 1)
    assert len(announcement_texts(db_engine, short_id)) == recorded + 1


def test_an_edit_that_keeps_the_approvals_updates_the_announcement_too(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    # A longer slot keeps the approvals (only a new time or new PRs void them), but the
    # announcement shows the slot: it must not go on showing the old end.
    short_id = approved(slack, fake_slack, db_engine, when="tomorrow 10:00")
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    recorded = len(announcement_texts(db_engine, short_id))

    answer = command(slack, fake_slack, f"edit {short_id} for 95m")
    assert "approvals are void" not in answer
    stored = booking(db_engine, short_id)
    assert stored.status == "approved"
    assert stored.ends_at - stored.starts_at == timedelta(minutes=95)
    assert len(announcement_texts(db_engine, short_id)) == recorded + 1
    update = fake_slack.wait_for(
        "chat.update", lambda c: short_id in c.all_text() and "for 1h35m" in c.all_text()
    )
    assert "Approved" in update.all_text()


def test_edit_needs_something_to_change(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    answer = command(slack, fake_slack, f"edit {booked.short_id}")
    assert "Say what to change" in answer and "Example: `/deploy edit" in answer
