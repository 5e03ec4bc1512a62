"""/deploy schedule, list and cancel, driven over HTTP exactly as Slack sends them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from helpers import ANNOUNCEMENT_TEXT, announcement, announcement_texts, outbox_refuses
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, SignedClient, slash_command

LA = ZoneInfo("America/Los_Angeles")
PR = "https://github.com/mozilla/foundation.mozilla.org/pull/123"


def tomorrow_at(hour: int, tz: ZoneInfo = LA) -> datetime:
    local = datetime.now(tz) + timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def bookings(engine: Engine) -> list[Booking]:
    """Rows read through the bot's own model, so times come back as aware UTC."""
    with Session(engine) as session:
        return list(session.scalars(sa.select(Booking).order_by(Booking.id)))


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def reply_to(fake_slack: FakeSlack, sent) -> str:  # type: ignore[no-untyped-def]
    assert sent.status_code == 200, sent.text
    return fake_slack.wait_for_response(sent.response_url_id).all_text()


def book(slack: SignedClient, fake_slack: FakeSlack, text: str, user_id: str = ALICE) -> str:
    return reply_to(fake_slack, slack.command(f"schedule {text}", user_id=user_id))


def test_one_line_booking_is_stored_confirmed_and_announced(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    fake_slack.set_user(ALICE, tz="America/Los_Angeles")
    sent = slack.command(f'schedule {PR} tomorrow 14:00 for 45m "Rename Person.name"')
    assert sent.elapsed < 3

    reply = reply_to(fake_slack, sent)
    [row] = bookings(db_engine)
    assert "Booked" in reply and row.short_id in reply
    assert row.starts_at == tomorrow_at(14)
    assert row.ends_at - row.starts_at == timedelta(minutes=45)
    assert row.app == "foundation-site"
    assert row.title == "Rename Person.name"
    assert row.status == "scheduled"
    assert row.requester_id == ALICE

    notice = fake_slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "C0DEPLOY")
    text = notice.all_text()
    assert row.short_id in text
    # Times are Slack date tokens, so each reader sees their own time zone.
    assert f"<!date^{int(tomorrow_at(14).timestamp())}^" in text

    with db_engine.connect() as connection:
        [entry] = connection.execute(sa.text("SELECT * FROM audit_log")).all()
    assert (entry.actor_id, entry.action, entry.entity_id) == (
        ALICE,
        "booking.created",
        row.short_id,
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"{PR} yesterday 14:00 for 45m", "in the past"),
        (f"{PR} tomorrow 14:00 for 45m kind:database", "Unknown kind"),
        ("https://github.com/org/repo/issues/4 tomorrow 14:00", "not a pull request"),
        (f"{PR} tomorrow 14:00 for 30h", "longer than the allowed"),
        (f"{PR} tomorrow 14:00 for 1m", "at least"),
        (f"{PR} next blursday", "could not read"),
    ],
)
def test_bad_input_is_refused_with_an_example_and_nothing_is_stored(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine, text: str, says: str
) -> None:
    reply = book(slack, fake_slack, text)
    assert says in reply
    assert "Example: `/deploy schedule" in reply
    assert count(db_engine, "booking") == 0
    assert count(db_engine, "audit_log") == 0
    fake_slack.assert_no_call("chat.postMessage", within=0.3)


def test_start_inside_the_minimum_lead_time_is_refused(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    reply = book(slack, fake_slack, f"{PR} in 5 minutes for 30m")
    assert "ahead" in reply
    assert count(db_engine, "booking") == 0


def test_overlap_names_the_conflict_and_the_next_free_slot(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    fake_slack.set_user(ALICE, tz="America/Los_Angeles")
    fake_slack.set_user(BOB, tz="America/Los_Angeles")
    book(slack, fake_slack, f'{PR} tomorrow 14:00 for 1h "First"')
    [first] = bookings(db_engine)

    reply = book(slack, fake_slack, f'{PR} tomorrow 14:30 for 45m "Second"', user_id=BOB)

    assert "Not booked" in reply
    assert first.short_id in reply
    next_free = tomorrow_at(15)  # the first booking ends at 15:00
    assert f"next free slot of that length starts <!date^{int(next_free.timestamp())}^" in reply
    assert len(bookings(db_engine)) == 1

    # Another app is free at the same time, and back-to-back slots do not clash.
    assert "Booked" in book(slack, fake_slack, f"{PR} tomorrow 14:30 for 45m app:other-site")
    assert "Booked" in book(slack, fake_slack, f"{PR} tomorrow 15:00 for 45m", user_id=BOB)
    assert len(bookings(db_engine)) == 3


def test_a_slack_retry_never_creates_a_second_booking(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    request = slash_command(
        f"schedule {PR} tomorrow 10:00 for 30m",
        response_url=fake_slack.response_url("retried"),
    )
    first = slack.send(request)
    retry = slack.send(request, retry_num=1, retry_reason="http_timeout")
    assert (first.status_code, retry.status_code) == (200, 200)

    fake_slack.wait_for_response("retried", lambda c: "Booked" in c.all_text())
    fake_slack.assert_no_call(
        "response_url", lambda c: c.target == "retried" and "Not booked" in c.all_text()
    )
    assert len(fake_slack.calls("response_url")) == 1
    assert len(bookings(db_engine)) == 1
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_a_refused_request_keeps_nothing_so_its_retry_is_done_afresh(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    # The idempotency key is claimed (in a savepoint) first thing in the booking's
    # transaction and must go with its rollback. On SQLite it once did not: the savepoint
    # began the transaction, so releasing it committed the key on its own, and a command
    # whose process died before the booking committed was never done (issue 15).
    book(slack, fake_slack, f'{PR} tomorrow 14:00 for 1h "First"')
    [first] = bookings(db_engine)
    request = slash_command(
        f"schedule {PR} tomorrow 14:30 for 45m", response_url=fake_slack.response_url("refused")
    )
    slack.send(request)
    fake_slack.wait_for_response("refused", lambda c: "Not booked" in c.all_text())
    assert count(db_engine, "processed_request") == 1  # the first booking's alone

    reply_to(fake_slack, slack.command(f"cancel {first.short_id}"))
    slack.send(request, retry_num=1, retry_reason="http_timeout")
    fake_slack.wait_for_response("refused", lambda c: "Booked" in c.all_text())
    assert [b.status for b in bookings(db_engine)] == ["cancelled", "scheduled"]


def test_two_overlapping_bookings_at_the_same_moment_exactly_one_wins(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    start = threading.Barrier(2)

    def race(user_id: str):  # type: ignore[no-untyped-def]
        start.wait()
        return slack.command(f"schedule {PR} tomorrow 11:00 for 1h", user_id=user_id)

    with ThreadPoolExecutor(2) as pool:
        sent = list(pool.map(race, [ALICE, BOB]))
    replies = [reply_to(fake_slack, s) for s in sent]

    assert sorted("Not booked" in r for r in replies) == [False, True]
    assert len(bookings(db_engine)) == 1


def test_the_database_itself_refuses_overlapping_active_bookings(
    db_engine: Engine, bot: BotProcess
) -> None:
    # Bypasses the bot's Python check entirely: the constraint (PostgreSQL) or trigger
    # (SQLite) is what stops the second row.
    insert = sa.text(
        "INSERT INTO booking (short_id, app, kind, title, pull_requests, starts_at, ends_at,"
        " status, requester_id, rollback_plan, notes, created_at, updated_at) VALUES "
        "(:sid, 'site', 'other', 't', '[]', :start, :end, :status, 'U1', '', '', :now, :now)"
    )
    base = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    if db_engine.dialect.name == "sqlite":
        base = base.replace(tzinfo=None)  # stored as naive UTC text

    def row(sid: str, offset_minutes: int, status: str = "scheduled") -> dict[str, object]:
        start = base + timedelta(minutes=offset_minutes)
        return {
            "sid": sid,
            "start": start,
            "end": start + timedelta(hours=1),
            "status": status,
            "now": base,
        }

    with db_engine.begin() as connection:
        connection.execute(insert, row("AAAAA", 0))
        connection.execute(insert, row("CCCCC", 60))  # back to back is fine
        connection.execute(insert, row("DDDDD", 30, status="cancelled"))  # inactive is fine
    with pytest.raises(sa.exc.IntegrityError), db_engine.begin() as connection:
        connection.execute(insert, row("BBBBB", 30))
    # Re-activating the cancelled, overlapping booking is refused the same way.
    with pytest.raises(sa.exc.IntegrityError), db_engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE booking SET status = 'approved' WHERE short_id = 'DDDDD'")
        )
    assert count(db_engine, "booking") == 3


def test_list_shows_upcoming_bookings_soonest_first(
    slack: SignedClient, fake_slack: FakeSlack
) -> None:
    book(slack, fake_slack, f'{PR} tomorrow 16:00 for 30m "Later"')
    book(slack, fake_slack, f'{PR} tomorrow 9:00 for 30m "Sooner"')
    reply = reply_to(fake_slack, slack.command("list"))
    assert reply.index("Sooner") < reply.index("Later")


def test_list_with_nothing_booked(slack: SignedClient, fake_slack: FakeSlack) -> None:
    assert "No deploys are booked" in reply_to(fake_slack, slack.command("list"))


def test_only_the_requester_can_cancel(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    book(slack, fake_slack, f"{PR} tomorrow 13:00 for 30m")
    [row] = bookings(db_engine)

    refused = reply_to(fake_slack, slack.command(f"cancel {row.short_id}", user_id=BOB))
    assert "can't cancel" in refused
    assert bookings(db_engine)[0].status == "scheduled"

    done = reply_to(fake_slack, slack.command(f"cancel {row.short_id.lower()}"))
    assert f"Cancelled `{row.short_id}`" in done
    assert bookings(db_engine)[0].status == "cancelled"
    fake_slack.wait_for(
        "chat.postMessage", lambda c: "cancelled" in c.all_text() and c.get("channel") == "C0DEPLOY"
    )
    again = reply_to(fake_slack, slack.command(f"cancel {row.short_id}"))
    assert "already cancelled" in again
    # The freed slot can be booked again.
    assert "Booked" in book(slack, fake_slack, f"{PR} tomorrow 13:00 for 30m", user_id=BOB)


def test_an_announced_booking_is_cancelled_only_with_its_announcement_update(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    book(slack, fake_slack, f"{PR} tomorrow 13:00 for 30m")
    [row] = bookings(db_engine)
    reply_to(fake_slack, slack.command(f"ready {row.short_id}"))
    posted = announcement(fake_slack, row.short_id)

    # The announcement loses its buttons in the cancellation's own transaction
    # (docs/adr/0019): refused, the booking is not cancelled.
    with outbox_refuses(db_engine, ANNOUNCEMENT_TEXT):
        answer = reply_to(fake_slack, slack.command(f"cancel {row.short_id}"))
        assert "Cancelled" not in answer
        assert bookings(db_engine)[0].status == "awaiting_approval"
    assert len(announcement_texts(db_engine, row.short_id)) == 1  # the post

    assert "Cancelled" in reply_to(fake_slack, slack.command(f"cancel {row.short_id}"))
    update = fake_slack.wait_for("chat.update", lambda c: "Cancelled" in c.all_text())
    assert update.get("ts") == posted.response["ts"]
    assert not any(b["type"] == "actions" for b in update.blocks)
    assert bookings(db_engine)[0].status == "cancelled"
    assert len(announcement_texts(db_engine, row.short_id)) == 2


def test_cancel_unknown_or_missing_id(slack: SignedClient, fake_slack: FakeSlack) -> None:
    assert "no booking `ZZZZZ`" in reply_to(fake_slack, slack.command("cancel ZZZZZ"))
    assert "Say which booking" in reply_to(fake_slack, slack.command("cancel"))


@pytest.mark.parametrize("text", ["", "help", "frobnicate"])
def test_help_and_unknown_subcommands_show_usage(slack: SignedClient, text: str) -> None:
    sent = slack.command(text)
    assert sent.status_code == 200
    body = sent.json()
    assert "/deploy schedule" in body["text"] and "/deploy cancel ID" in body["text"]
    if text == "frobnicate":
        assert "I don't know `/deploy frobnicate`" in body["text"]


def test_forged_and_replayed_requests_change_nothing(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    import time

    command = f"schedule {PR} tomorrow 12:00 for 30m"
    forged = slack.command(command, send_options={"forge_signature": True})
    replayed = slack.command(command, send_options={"timestamp": int(time.time()) - 6 * 60})
    unsigned = slack.command(command, send_options={"omit_signature": True})
    assert [s.status_code for s in (forged, replayed, unsigned)] == [401, 401, 401]
    fake_slack.assert_no_call("response_url", within=0.5)
    assert count(db_engine, "booking") == 0


def test_schedule_without_arguments_opens_the_modal_and_books_from_it(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    sent = slack.command("schedule", channel_id="C0TEAM")
    opened = fake_slack.wait_for("views.open")
    assert opened.get("trigger_id") == sent.request.payload["trigger_id"]

    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    submitted = slack.submit_view(
        opened,
        {
            "pull_requests": f"{PR}\n#124",
            "kind": "es_mapping",
            "starts_at": int(start.timestamp()),
            "duration": "1h",
            "title": "New search mapping",
            "rollback_plan": "Deploy master back, reindex the old index",
        },
    )
    assert submitted.status_code == 200
    assert submitted.text in ("", "{}") or "errors" not in submitted.json()

    dm = fake_slack.wait_for("chat.postMessage", lambda c: c.get("channel") == ALICE)
    [row] = bookings(db_engine)
    assert row.short_id in dm.all_text()
    assert row.kind == "es_mapping"
    assert row.origin_channel_id == "C0TEAM"
    assert row.pull_requests == [
        "mozilla/foundation.mozilla.org#123",
        "mozilla/foundation.mozilla.org#124",
    ]
    assert row.starts_at == start
    fake_slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "C0DEPLOY")


def test_modal_errors_are_shown_next_to_the_fields_and_nothing_is_stored(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    slack.command("schedule")
    opened = fake_slack.wait_for("views.open")
    past = datetime.now(UTC) - timedelta(hours=1)
    submitted = slack.submit_view(
        opened,
        {
            "pull_requests": "not-a-pr",
            "starts_at": int(past.timestamp()),
            "duration": "forever",
            "title": "x",
            "rollback_plan": "y",
        },
    )
    body = submitted.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"pull_requests", "duration"}
    assert "github.com" in body["errors"]["pull_requests"]
    assert count(db_engine, "booking") == 0
