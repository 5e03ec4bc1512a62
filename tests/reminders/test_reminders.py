"""Reminders and expiry, run by the real clock code with a controlled clock."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from helpers import (
    ANNOUNCEMENT_TEXT,
    DEPLOY_CHANNEL,
    announcement,
    announcement_texts,
    book,
    booking,
    outbox_refuses,
    reply_to,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.clock.runner import ClockTask, tick
from bot.clock.tasks import build_tasks
from bot.container import build_container
from bot.settings import Settings
from support.db import Database as ScratchDatabase
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, SignedClient

BOT_TOKEN = "xoxb-test-token"


@pytest.fixture
def clock_tasks(
    bot: BotProcess, db_backend: ScratchDatabase, fake_slack: FakeSlack
) -> Iterator[list[ClockTask]]:
    """The clock's real tasks, in this process, on the test database and fake Slack."""
    settings = Settings(
        database_url=db_backend.url,
        slack_api_url=fake_slack.base_url,  # type: ignore[arg-type]
        slack_bot_token=BOT_TOKEN,
        deploy_channel=DEPLOY_CHANNEL,
    )
    container = build_container(settings)
    yield build_tasks(container)
    container.database.dispose()


def dms(fake_slack: FakeSlack, user_id: str, text: str) -> list:  # type: ignore[type-arg]
    return [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.get("channel") == user_id and text in c.all_text()
    ]


def channel(fake_slack: FakeSlack, text: str) -> list:  # type: ignore[type-arg]
    return [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.get("channel") == DEPLOY_CHANNEL and text in c.all_text()
    ]


def test_each_reminder_falls_due_once(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine, clock_tasks: list[ClockTask]
) -> None:
    booked = book(slack, fake_slack, db_engine, when="tomorrow 14:00")
    start = booked.starts_at
    fake_slack.reset()

    tick(clock_tasks, start - timedelta(minutes=61))
    assert fake_slack.calls("chat.postMessage") == []

    for _ in range(2):  # a second tick a few seconds later sends nothing new
        tick(clock_tasks, start - timedelta(minutes=60))
    [hour] = dms(fake_slack, ALICE, "in about an hour")
    assert "not announced yet" in hour.all_text() and "sent late" not in hour.all_text()

    tick(clock_tasks, start - timedelta(minutes=30))
    tick(clock_tasks, start - timedelta(minutes=29))
    [warning] = channel(fake_slack, "has not announced it for approval")
    assert booked.short_id in warning.all_text()

    tick(clock_tasks, start - timedelta(minutes=15))
    assert len(dms(fake_slack, ALICE, "in 15 minutes")) == 1

    tick(clock_tasks, start)
    tick(clock_tasks, start + timedelta(minutes=5))
    assert len(channel(fake_slack, "has started and it is not approved")) == 1
    assert len(fake_slack.calls("chat.postMessage")) == 4


def test_an_approved_deploy_gets_no_unapproved_warnings(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine, clock_tasks: list[ClockTask]
) -> None:
    booked = book(slack, fake_slack, db_engine, when="tomorrow 14:00")
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    slack.click(
        announcement(fake_slack, booked.short_id),
        "approval_approve",
        f"{booked.short_id}:0",
        user_id=BOB,
    )
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    fake_slack.reset()

    for minutes in (60, 30, 15, 0):
        tick(clock_tasks, booked.starts_at - timedelta(minutes=minutes))
    assert channel(fake_slack, "approval") == []
    assert channel(fake_slack, "not approved") == []
    assert len(dms(fake_slack, ALICE, "It is approved")) == 2


def test_reminders_missed_while_the_clock_was_down_are_sent_late_once(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine, clock_tasks: list[ClockTask]
) -> None:
    booked = book(slack, fake_slack, db_engine, when="tomorrow 14:00")
    fake_slack.reset()
    back_up = booked.starts_at - timedelta(minutes=10)
    tick(clock_tasks, back_up)
    tick(clock_tasks, back_up + timedelta(seconds=30))
    sent = fake_slack.calls("chat.postMessage")
    assert len(sent) == 3  # the hour and quarter reminders, and the unapproved warning
    assert all("sent late" in call.all_text() for call in sent)


def test_two_clocks_running_by_mistake_send_each_reminder_once(
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    clock_tasks: list[ClockTask],
    db_backend: ScratchDatabase,
    request: pytest.FixtureRequest,
) -> None:
    for when in ("10:00", "12:00", "14:40", "15:30"):
        book(slack, fake_slack, db_engine, when=f"tomorrow {when}")
    with Session(db_engine) as session:
        starts = sorted(b.starts_at for b in session.query(Booking))
    fake_slack.reset()
    second = build_container(
        Settings(
            database_url=db_backend.url,
            slack_api_url=fake_slack.base_url,  # type: ignore[arg-type]
            slack_bot_token=BOT_TOKEN,
            deploy_channel=DEPLOY_CHANNEL,
        )
    )
    request.addfinalizer(second.database.dispose)  # not left to the garbage collector
    second_clock = build_tasks(second)
    now = starts[-1] - timedelta(minutes=14)  # every reminder of every booking is due
    barrier = threading.Barrier(2)

    def run(tasks: list[ClockTask]) -> None:
        barrier.wait()
        tick(tasks, now)

    threads = [threading.Thread(target=run, args=(t,)) for t in (clock_tasks, second_clock)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    posted = [(c.get("channel"), c.all_text()) for c in fake_slack.calls("chat.postMessage")]
    assert len(posted) == len(set(posted))
    # At 15:16 the 10:00 and 12:00 slots are over (nothing owed), the 14:40 one is under
    # way unapproved, and all three reminders of the 15:30 one are due.
    assert len(channel(fake_slack, "has started and it is not approved")) == 1
    assert len(dms(fake_slack, ALICE, "in 15 minutes")) == 1
    assert len(dms(fake_slack, ALICE, "in about an hour")) == 1
    assert len(channel(fake_slack, "has not announced it")) == 1
    assert len(posted) == 4


def test_bookings_left_untouched_expire_once(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine, clock_tasks: list[ClockTask]
) -> None:
    booked = book(slack, fake_slack, db_engine, when="tomorrow 14:00")
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    posted = announcement(fake_slack, booked.short_id)
    later = booked.ends_at + timedelta(hours=12)
    tick(clock_tasks, later - timedelta(minutes=1))
    assert booking(db_engine, booked.short_id).status == "awaiting_approval"

    tick(clock_tasks, later)
    tick(clock_tasks, later + timedelta(minutes=1))
    assert booking(db_engine, booked.short_id).status == "expired"
    assert len(channel(fake_slack, "expired")) == 1
    final = fake_slack.message(DEPLOY_CHANNEL, posted.response["ts"])
    assert final is not None and "Expired" in str(final["blocks"])
    # Expired bookings no longer hold their slot.
    assert "Booked" in reply_to(
        fake_slack, slack.command(f"schedule #9 {booked.starts_at.isoformat()} for 30m")
    )


def test_a_booking_expires_only_with_its_announcement_update(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine, clock_tasks: list[ClockTask]
) -> None:
    booked = book(slack, fake_slack, db_engine, when="tomorrow 14:00")
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    posted = announcement(fake_slack, booked.short_id)
    later = booked.ends_at + timedelta(hours=12)

    # The update is recorded in the expiry's own transaction (docs/adr/0019): refused,
    # the booking does not expire on this tick.
    with outbox_refuses(db_engine, ANNOUNCEMENT_TEXT):
        tick(clock_tasks, later)
        assert booking(db_engine, booked.short_id).status == "awaiting_approval"
    assert len(announcement_texts(db_engine, booked.short_id)) == 1  # the post

    tick(clock_tasks, later + timedelta(minutes=1))
    assert booking(db_engine, booked.short_id).status == "expired"
    assert len(announcement_texts(db_engine, booked.short_id)) == 2
    final = fake_slack.message(DEPLOY_CHANNEL, posted.response["ts"])
    assert final is not None and "Expired" in str(final["blocks"])


def _expirable(db_engine: Engine) -> str:
    long_ago = datetime.now(UTC) - timedelta(days=2)
    with Session(db_engine) as session:
        session.add(
            Booking(
                short_id="OLD22",
                app="foundation-site",
                kind="other",
                title="Forgotten",
                pull_requests=["o/r#1"],
                starts_at=long_ago,
                ends_at=long_ago + timedelta(hours=1),
                status="scheduled",
                requester_id=ALICE,
                rollback_plan="",
                notes="",
                created_at=long_ago - timedelta(days=1),
            )
        )
        session.commit()
    return "OLD22"


def test_the_web_process_never_runs_the_clock_but_the_clock_process_does(
    bot: BotProcess,
    fake_slack: FakeSlack,
    db_engine: Engine,
    bot_cli: Callable[..., subprocess.CompletedProcess[str]],
    db_backend: ScratchDatabase,
) -> None:
    short_id = _expirable(db_engine)
    # The web process has been up all along; give a scheduler in it every chance to tick.
    fake_slack.assert_no_call("chat.postMessage", within=1.5)
    assert booking(db_engine, short_id).status == "scheduled"

    result = bot_cli(
        "clock", "--once", DATABASE_URL=db_backend.url, SLACK_API_URL=fake_slack.base_url
    )
    assert result.returncode == 0, result.stderr
    assert booking(db_engine, short_id).status == "expired"
    [notice] = channel(fake_slack, "expired")
    assert short_id in notice.all_text()
