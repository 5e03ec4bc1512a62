"""Deploy windows over HTTP, driven as Slack sends them: managing the windows, booking
refusals with the suggested slot, the approver's override, the start refusal, scheduled
and blackout freezes at boundaries moved by the bot's clock, `/deploy list` and the
calendar feed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from helpers import (
    ANNOUNCEMENT_TEXT,
    DEPLOY_CHANNEL,
    PR,
    announcement,
    announcement_texts,
    outbox_refuses,
    outbox_texts,
    reply_to,
)
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.audit.model import SYSTEM_ACTOR, AuditEntry
from bot.booking.model import Booking
from bot.freeze.model import Freeze
from bot.windows.model import DeployWindow, WindowOverride
from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.slack_requests import ALICE, BOB, CAROL, SignedClient, app_home_opened

APPROVERS = "S0APPROVERS"
TOKEN = "calendar-token-0123456789abcdef"


@pytest.fixture
def wbot(start_bot: Callable[..., InProcessBot], fake_slack: FakeSlack) -> InProcessBot:
    """A bot of its own (its clock is moved), where ALICE and BOB approve and CAROL does
    not, and everyone reads times in UTC."""
    fake_slack.set_usergroup(APPROVERS, [ALICE, BOB])
    for user in (ALICE, BOB, CAROL):
        fake_slack.set_user(user, tz="UTC")
    return start_bot(
        APPROVER_USERGROUP=APPROVERS,
        CALENDAR_TOKEN=TOKEN,
        WORK_PROCESSES="0",
    )


@pytest.fixture
def slack(wbot: InProcessBot, fake_slack: FakeSlack) -> Iterator[SignedClient]:
    with SignedClient.for_bot(wbot, fake_slack) as client:
        yield client


def say(slack: SignedClient, fake_slack: FakeSlack, text: str, user_id: str = ALICE) -> str:
    return reply_to(fake_slack, slack.command(text, user_id=user_id))


def day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d")


def minute(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def token(value: datetime) -> str:
    return f"<!date^{int(value.timestamp())}^"


def rows(engine: Engine, model: type) -> list:  # type: ignore[type-arg]
    with Session(engine) as session:
        found = list(session.scalars(sa.select(model).order_by(model.id)))
        session.expunge_all()
        return found


def audit_actions(engine: Engine, entity_type: str) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.entity_type == entity_type)
                .order_by(AuditEntry.id)
            )
        )


def channel_text(fake_slack: FakeSlack, words: str) -> str:
    return fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and words in c.all_text(),
    ).all_text()


# ------------------------------------------------------------------ managing windows


def test_approvers_add_list_and_remove_windows_and_each_change_is_audited(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    added = say(
        slack,
        fake_slack,
        'window add blackout "0 15 * * 5" for 66h Europe/Berlin "Weekend: Friday 15:00 to '
        'Monday 09:00"',
    )
    assert "Added blackout window" in added
    [row] = rows(db_engine, DeployWindow)
    assert (row.kind, row.cron, row.duration_minutes, row.zone, row.created_by) == (
        "blackout",
        "0 15 * * 5",
        66 * 60,
        "Europe/Berlin",
        ALICE,
    )
    assert "added a deploy window" in channel_text(fake_slack, "Weekend")

    listed = say(slack, fake_slack, "windows", user_id=CAROL)
    assert f"`{row.id}` blackout" in listed and "Weekend" in listed
    assert "/deploy window add" in listed  # the examples

    removed = say(slack, fake_slack, f"window remove {row.id}", user_id=BOB)
    assert f"Removed window `{row.id}`" in removed
    assert rows(db_engine, DeployWindow) == []
    assert audit_actions(db_engine, "window")[-2:] == ["window.added", "window.removed"]


def test_window_changes_and_overrides_stand_only_with_their_channel_notices(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    # Each notice is refused by the database in turn: its change must not stand without
    # it, as both are recorded in one transaction (docs/adr/0019).
    add = 'window add blackout 2026-12-20 to 2027-01-03 UTC "Holidays"'
    with outbox_refuses(db_engine, "added a deploy window"):
        assert "Added" not in say(slack, fake_slack, add)
        assert rows(db_engine, DeployWindow) == []
    assert "Added" in say(slack, fake_slack, add)
    [row] = rows(db_engine, DeployWindow)
    assert "Holidays" in channel_text(fake_slack, "added a deploy window")

    with outbox_refuses(db_engine, "removed the blackout window"):
        assert "Removed" not in say(slack, fake_slack, f"window remove {row.id}", BOB)
        assert len(rows(db_engine, DeployWindow)) == 1
    assert "Removed" in say(slack, fake_slack, f"window remove {row.id}", BOB)
    assert "Holidays" in channel_text(fake_slack, "removed the blackout window")

    booked = say(slack, fake_slack, f'schedule {PR} in 30 minutes for 45m "Rename"')
    override = f'window override {booked.split("`")[1]} "security fix"'
    with outbox_refuses(db_engine, "overrode the deploy windows"):
        assert "overrode" not in say(slack, fake_slack, override, BOB)
        assert rows(db_engine, WindowOverride) == []
    assert "overrode" in say(slack, fake_slack, override, BOB)
    assert "security fix" in channel_text(fake_slack, "overrode the deploy windows")

    for notice in ("added a deploy", "removed the blackout", "overrode the deploy"):
        assert len(outbox_texts(db_engine, notice)) == 1, notice


def test_someone_who_is_not_an_approver_changes_nothing(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    reply = say(
        slack, fake_slack, 'window add blackout 2026-12-20 to 2027-01-03 UTC "Holidays"', CAROL
    )
    assert "Only approvers" in reply
    assert rows(db_engine, DeployWindow) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('window add blackout "0 15 * *" for 66h Europe/Berlin "Weekend"', "five-field cron"),
        ('window add blackout "0 15 * * 5" for 66h Berlin "Weekend"', "not an IANA time zone"),
        ("window add blackout 2026-12-20 to 2027-01-03 UTC", "description in quotes"),
    ],
)
def test_a_bad_window_is_refused_with_examples_and_nothing_is_stored(
    wbot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    text: str,
    says: str,
) -> None:
    reply = say(slack, fake_slack, text)
    assert reply.startswith("Not added") and says in reply
    assert "/deploy window add blackout" in reply  # an example of the right form
    assert rows(db_engine, DeployWindow) == []
    assert "window.added" not in audit_actions(db_engine, "window")


# ------------------------------------------------------------------ booking


def test_a_booking_in_a_blackout_is_refused_with_the_rule_and_the_next_slot(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    tomorrow = wbot.clock() + timedelta(days=1)
    say(slack, fake_slack, f'window add blackout {day(tomorrow)} to {day(tomorrow)} UTC "Launch"')

    refused = say(slack, fake_slack, f'schedule {PR} {day(tomorrow)} 14:00 for 45m "Rename"')
    assert "Not booked" in refused
    assert "blackout “Launch”" in refused
    day_after = datetime.fromisoformat(day(tomorrow)).replace(tzinfo=UTC) + timedelta(days=1)
    assert token(day_after) in refused  # the next slot: right after the blackout
    assert "--override-window" in refused
    assert rows(db_engine, Booking) == []

    # The suggested slot is bookable.
    booked = say(slack, fake_slack, f'schedule {PR} {minute(day_after)} for 45m "Rename"')
    assert "Booked" in booked


def test_the_next_slot_also_steps_over_other_bookings(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    tomorrow = wbot.clock() + timedelta(days=1)
    after = datetime.fromisoformat(day(tomorrow)).replace(tzinfo=UTC) + timedelta(days=1)
    assert "Booked" in say(slack, fake_slack, f'schedule {PR} {minute(after)} for 1h "First"')
    say(slack, fake_slack, f'window add blackout {day(tomorrow)} to {day(tomorrow)} UTC "Launch"')

    refused = say(slack, fake_slack, f'schedule {PR} {day(tomorrow)} 14:00 for 45m "Second"')
    assert token(after + timedelta(hours=1)) in refused


def test_an_approver_books_over_the_windows_with_a_reason_announced_and_audited(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    tomorrow = wbot.clock() + timedelta(days=1)
    say(slack, fake_slack, f'window add blackout {day(tomorrow)} to {day(tomorrow)} UTC "Launch"')
    text = (
        f'schedule {PR} {day(tomorrow)} 14:00 for 45m "Rename" '
        '--override-window "the launch needs this field"'
    )

    assert "only an approver" in say(slack, fake_slack, text, user_id=CAROL)
    assert rows(db_engine, Booking) == []

    booked = say(slack, fake_slack, text, user_id=BOB)
    assert "Booked" in booked
    [booking] = rows(db_engine, Booking)
    assert booking.title == "Rename"  # the flag is not part of the title
    [override] = rows(db_engine, WindowOverride)
    assert (override.booking_id, override.overridden_by, override.reason) == (
        booking.id,
        BOB,
        "the launch needs this field",
    )
    notice = channel_text(fake_slack, "overrode the deploy windows")
    assert booking.short_id in notice and "the launch needs this field" in notice
    with Session(db_engine) as session:
        reasons = list(
            session.scalars(
                sa.select(AuditEntry.reason)
                .where(AuditEntry.action == "booking.window_override")
                .where(AuditEntry.entity_id == booking.short_id)
            )
        )
    assert reasons == ["the launch needs this field"]

    # The approvers see it on the announcement.
    say(slack, fake_slack, f"ready {booking.short_id}", user_id=BOB)
    posted = announcement(fake_slack, booking.short_id).all_text()
    assert "Outside the deploy windows" in posted and "the launch needs this field" in posted


def test_a_booking_from_the_modal_in_a_blackout_is_refused_in_a_direct_message(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    tomorrow = wbot.clock() + timedelta(days=1)
    say(slack, fake_slack, f'window add blackout {day(tomorrow)} to {day(tomorrow)} UTC "Launch"')
    slack.command("schedule")
    opened = fake_slack.wait_for("views.open")
    start = datetime.fromisoformat(f"{day(tomorrow)} 14:00").replace(tzinfo=UTC)
    slack.submit_view(
        opened,
        {
            "pull_requests": PR,
            "kind": "migration",
            "starts_at": int(start.timestamp()),
            "duration": "45m",
            "title": "Rename",
            "rollback_plan": "migrate back to 0041",
        },
    )
    dm = fake_slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == ALICE and "Not booked" in c.all_text()
    )
    assert "Launch" in dm.all_text() and "next slot" in dm.all_text()
    assert rows(db_engine, Booking) == []


def test_a_plan_step_in_a_blackout_is_refused(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    tomorrow = wbot.clock() + timedelta(days=1)
    say(slack, fake_slack, f'window add blackout {day(tomorrow)} to {day(tomorrow)} UTC "Launch"')
    reply = say(
        slack, fake_slack, f'plan remove #123 #124 {day(tomorrow)} 14:00 for 45m "Drop email"'
    )
    assert "Step 1" in reply and "Launch" in reply
    assert rows(db_engine, Booking) == []


def test_the_setting_seeds_the_windows_of_a_new_install_once(
    start_bot: Callable[..., InProcessBot], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    seeded = start_bot(
        DEPLOY_WINDOWS='blackout "0 15 * * 5" for 66h Europe/Berlin "Weekend"; '
        'blackout 2026-12-20 to 2027-01-03 Europe/Berlin "Holidays" --freeze'
    )
    with SignedClient.for_bot(seeded, fake_slack) as client:
        listed = reply_to(fake_slack, client.command("windows"))
        assert "Weekend" in listed and "Holidays" in listed
        [weekend, holidays] = rows(db_engine, DeployWindow)
        assert holidays.freeze_branch and weekend.created_by == SYSTEM_ACTOR
        reply_to(fake_slack, client.command(f"window remove {weekend.id}"))
    # Started again (a new release, a restart): what was removed stays removed.
    seeded.restart()
    with SignedClient.for_bot(seeded, fake_slack) as client:
        listed = reply_to(fake_slack, client.command("windows"))
    assert "Holidays" in listed
    assert [row.description for row in rows(db_engine, DeployWindow)] == ["Holidays"]


def test_moving_a_booking_into_a_blackout_is_refused(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    later = wbot.clock() + timedelta(days=3)
    booked = say(slack, fake_slack, f'schedule {PR} {minute(later)} for 45m "Rename"')
    short_id = booked.split("`")[1]
    tomorrow = wbot.clock() + timedelta(days=1)
    say(slack, fake_slack, f'window add blackout {day(tomorrow)} to {day(tomorrow)} UTC "Launch"')

    reply = say(slack, fake_slack, f"edit {short_id} {day(tomorrow)} 14:00")
    assert "Can't change it" in reply and "Launch" in reply
    [booking] = rows(db_engine, Booking)
    assert booking.starts_at.strftime("%Y-%m-%d %H:%M") == minute(later)


# ------------------------------------------------------------------ starting


def test_starting_outside_the_windows_is_refused_unless_an_approver_overrides(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = say(slack, fake_slack, f'schedule {PR} in 30 minutes for 45m "Rename"')
    short_id = booked.split("`")[1]
    say(slack, fake_slack, f"ready {short_id}")
    slack.click(
        announcement(fake_slack, short_id), "approval_approve", f"{short_id}:0", user_id=BOB
    )
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    # The bot's time reaches the slot's start window: only the blackout stands in the way.
    now = wbot.clock.advance(minutes=30)
    say(
        slack,
        fake_slack,
        f"window add blackout {minute(now - timedelta(hours=1))} to "
        f'{minute(now + timedelta(hours=5))} UTC "Incident review"',
    )

    refused = say(slack, fake_slack, f"start {short_id}")
    assert "Can't start it" in refused and "Incident review" in refused
    reopens = datetime.fromisoformat(minute(now + timedelta(hours=5))).replace(tzinfo=UTC)
    assert f"next allow it {token(reopens)}" in refused
    assert f'/deploy window override {short_id} "' in refused
    assert rows(db_engine, Booking)[0].status == "approved"

    assert "Only approvers" in say(
        slack, fake_slack, f'window override {short_id} "hotfix"', user_id=CAROL
    )
    overridden = say(
        slack, fake_slack, f'window override {short_id} "security fix, cannot wait"', BOB
    )
    assert "overrode the deploy windows" in overridden
    # The announcement shows the override to the approvers.
    updated = fake_slack.wait_for("chat.update", lambda c: "overridden by" in c.all_text())
    assert "security fix, cannot wait" in updated.all_text()
    assert "is deploying" in say(slack, fake_slack, f"start {short_id}")


def test_an_override_stands_only_with_the_announcement_update_that_shows_it(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = say(slack, fake_slack, f'schedule {PR} in 30 minutes for 45m "Rename"')
    short_id = booked.split("`")[1]
    say(slack, fake_slack, f"ready {short_id}")
    announcement(fake_slack, short_id)
    override = f'window override {short_id} "security fix"'

    # Recorded in the override's own transaction (docs/adr/0019): refused, no override.
    with outbox_refuses(db_engine, ANNOUNCEMENT_TEXT):
        assert "overrode" not in say(slack, fake_slack, override, BOB)
        assert rows(db_engine, WindowOverride) == []
    assert len(announcement_texts(db_engine, short_id)) == 1  # the post

    assert "overrode" in say(slack, fake_slack, override, BOB)
    updated = fake_slack.wait_for("chat.update", lambda c: "overridden by" in c.all_text())
    assert "security fix" in updated.all_text()
    assert len(rows(db_engine, WindowOverride)) == 1
    assert len(announcement_texts(db_engine, short_id)) == 2


# ------------------------------------------------------------------ freezes at boundaries


def test_a_blackout_that_opted_in_freezes_the_branch_for_its_duration(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    start = (wbot.clock() + timedelta(hours=2)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=3)
    say(
        slack,
        fake_slack,
        f'window add blackout {minute(start)} to {minute(end)} UTC "Campaign" --freeze',
    )
    wbot.tick()
    assert rows(db_engine, Freeze) == []

    wbot.clock.advance(hours=2, minutes=1)
    wbot.tick()
    [freeze] = rows(db_engine, Freeze)
    assert freeze.active and freeze.frozen_by == SYSTEM_ACTOR and "Campaign" in freeze.reason
    channel_text(fake_slack, "froze")
    assert token(end) in say(slack, fake_slack, "status", user_id=CAROL)
    wbot.tick()  # a second tick in the blackout freezes nothing more
    assert len(rows(db_engine, Freeze)) == 1

    wbot.clock.advance(hours=3)
    wbot.tick()
    [freeze] = rows(db_engine, Freeze)
    assert not freeze.active
    channel_text(fake_slack, "unfroze")


def test_an_approver_who_lifts_a_blackout_freeze_early_is_not_overruled(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    start = (wbot.clock() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    say(
        slack,
        fake_slack,
        f"window add blackout {minute(start)} to {minute(start + timedelta(hours=3))} UTC "
        '"Campaign" --freeze',
    )
    wbot.clock.advance(minutes=31)
    wbot.tick()
    assert "Unfrozen" in say(slack, fake_slack, "unfreeze", user_id=BOB)
    wbot.clock.advance(minutes=5)
    wbot.tick()
    assert [f.active for f in rows(db_engine, Freeze)] == [False]


def test_a_freeze_until_a_time_ends_by_itself(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    reply = say(slack, fake_slack, "freeze reindexing search until tomorrow 9:00")
    assert "Frozen" in reply and "ends by itself" in reply
    [freeze] = rows(db_engine, Freeze)
    assert freeze.reason == "reindexing search"

    wbot.tick()
    assert rows(db_engine, Freeze)[0].active
    assert "ends by itself" in say(slack, fake_slack, "status", user_id=CAROL)
    wbot.clock.advance(days=2)
    wbot.tick()
    assert not rows(db_engine, Freeze)[0].active
    channel_text(fake_slack, "unfroze")

    # "until" that is not a time is part of the reason: frozen as asked, with no end.
    other = say(slack, fake_slack, "freeze until the cows come home")
    assert "Frozen" in other and "could not read" in other and "until mon 9:00" in other
    [_, freeze] = rows(db_engine, Freeze)
    assert freeze.active and freeze.reason == "until the cows come home"
    wbot.clock.advance(days=30)
    wbot.tick()
    assert rows(db_engine, Freeze)[1].active


# ------------------------------------------------------------------ list, home, calendar


def test_list_and_calendar_show_the_windows(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    now = wbot.clock()
    say(
        slack,
        fake_slack,
        f"window add blackout {minute(now - timedelta(hours=1))} to "
        f'{minute(now + timedelta(hours=5))} UTC "Incident review"',
    )
    listed = say(slack, fake_slack, "list", user_id=CAROL)
    assert "No tricky deploys now" in listed and "Incident review" in listed

    feed = wbot.get("/calendar.ics", params={"token": TOKEN})
    assert feed.status_code == 200
    events = list(Calendar.from_ical(feed.content).events)
    [blackout] = [e for e in events if "blackout" in str(e["SUMMARY"]).lower()]
    assert "Incident review" in str(blackout["SUMMARY"])
    assert blackout.decoded("DTSTART") == datetime.fromisoformat(
        minute(now - timedelta(hours=1))
    ).replace(tzinfo=UTC)


def test_the_app_home_shows_where_the_windows_stand(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    now = wbot.clock()
    say(
        slack,
        fake_slack,
        f"window add blackout {minute(now + timedelta(hours=2))} to "
        f'{minute(now + timedelta(hours=5))} UTC "Incident review"',
    )
    assert slack.send(app_home_opened(CAROL)).status_code == 200
    published = fake_slack.wait_for("views.publish", lambda c: c.get("user_id") == CAROL)
    text = published.all_text()
    assert "Deploy windows" in text and "Tricky deploys are allowed now" in text
    assert "Incident review" in text  # the next window


def test_no_windows_means_nothing_extra_in_the_list(
    wbot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack
) -> None:
    assert "window" not in say(slack, fake_slack, "list").lower()


@pytest.mark.parametrize(
    ("text", "says", "example"),
    [
        ("window", "Say what to do", "/deploy window add blackout"),
        ("window remove", "by its number", "/deploy window remove 3"),
        ("window remove 999", "There is no window `999`", "/deploy window remove 3"),
        ("window override", "Say which booking and why", "/deploy window override B7K2Q"),
        ('window override ZZZZZ "hotfix"', "There is no booking `ZZZZZ`", "/deploy list"),
        ("schedule #1 tomorrow 14:00 --override-window", "needs a reason", "--override-window"),
    ],
)
def test_bad_window_commands_say_what_is_wrong_with_an_example(
    wbot: InProcessBot,
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    text: str,
    says: str,
    example: str,
) -> None:
    reply = say(slack, fake_slack, text)
    assert says in reply and example in reply
    assert rows(db_engine, WindowOverride) == [] and rows(db_engine, Booking) == []
