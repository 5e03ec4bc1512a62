"""A command whose time depends on the person's time zone when Slack cannot say what it
is (bot/slack/users.py): users.info answers an error, or the Web API refuses connections.

The person is told, nothing is stored, and the same command works once Slack answers
again. A zone read from Slack within the last hour stands in for a brief outage.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from helpers import DEPLOY_CHANNEL, PR, book, booking, count, reply_to
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.freeze.model import Freeze
from bot.plans.model import DeployPlan
from bot.slack.users import UserZones, is_approver, user_timezone
from support.fake_slack import DEFAULT_TOKEN, FakeSlack
from support.inprocess import InProcessBot, MovableClock
from support.slack_requests import ALICE, SignedClient
from support.tcp_proxy import TcpProxy

BERLIN = ZoneInfo("Europe/Berlin")
UNKNOWN = "couldn't read your time zone from Slack"


def slack_cannot_tell(fake_slack: FakeSlack) -> None:
    # An answer that is not ok: WebClient raises SlackApiError.
    fake_slack.fail_next("users.info", 200, error="fatal_error", times=1000)


def say(slack: SignedClient, fake_slack: FakeSlack, text: str) -> str:
    return reply_to(fake_slack, slack.command(text, user_id=ALICE))


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def berlin_tomorrow(hour: int, now: datetime) -> datetime:
    local = (now.astimezone(BERLIN) + timedelta(days=1)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    return local.astimezone(UTC)


def bookings(engine: Engine) -> list[Booking]:
    with Session(engine) as session:
        found = list(session.scalars(sa.select(Booking).order_by(Booking.id)))
        session.expunge_all()
        return found


# ---------------------------------------------------------------- through the app


def test_a_booking_is_refused_then_booked_when_slack_answers_again(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    fake_slack.set_user(ALICE, tz="Europe/Berlin")
    slack_cannot_tell(fake_slack)
    answer = say(slack, fake_slack, f"schedule {PR} tomorrow 14:00 for 45m")
    assert answer.startswith("Not booked") and UNKNOWN in answer, answer
    assert count(db_engine, Booking) == 0

    fake_slack.clear_faults()
    assert "Booked" in say(slack, fake_slack, f"schedule {PR} tomorrow 14:00 for 45m")
    [booked] = bookings(db_engine)
    assert utc(booked.starts_at) == berlin_tomorrow(14, bot.clock())


def test_a_time_that_does_not_depend_on_the_zone_is_booked_all_the_same(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    slack_cannot_tell(fake_slack)
    before = bot.clock()
    assert "Booked" in say(slack, fake_slack, f"schedule {PR} in 3 hours for 45m")
    [booked] = bookings(db_engine)
    assert timedelta(hours=3) <= utc(booked.starts_at) - before < timedelta(hours=3, minutes=5)


def test_a_plan_is_refused_then_booked_when_slack_answers_again(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    text = 'plan rename #101 #102 #103 tomorrow 14:00 for 45m every 2d "Rename Person.name"'
    slack_cannot_tell(fake_slack)
    answer = say(slack, fake_slack, text)
    assert answer.startswith("No plan booked") and UNKNOWN in answer, answer
    assert count(db_engine, DeployPlan) == 0 and count(db_engine, Booking) == 0

    fake_slack.clear_faults()
    assert "Plan `" in say(slack, fake_slack, text)
    assert count(db_engine, DeployPlan) == 1 and count(db_engine, Booking) == 3


def test_a_freeze_until_a_time_is_refused_then_frozen_when_slack_answers_again(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    slack_cannot_tell(fake_slack)
    answer = say(slack, fake_slack, "freeze reindexing search until tomorrow 9:00")
    assert answer.startswith("Not frozen") and UNKNOWN in answer, answer
    assert count(db_engine, Freeze) == 0

    fake_slack.clear_faults()
    answer = say(slack, fake_slack, "freeze reindexing search until tomorrow 9:00")
    assert "Frozen" in answer and "ends by itself" in answer, answer
    assert count(db_engine, Freeze) == 1


def test_a_freeze_without_a_time_needs_no_zone(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    slack_cannot_tell(fake_slack)
    # "until" that reads as no time at all is part of the reason, as with Slack up.
    answer = say(slack, fake_slack, "freeze until the cows come home")
    assert "Frozen" in answer and "could not read" in answer, answer
    assert count(db_engine, Freeze) == 1


def test_an_edit_of_the_time_is_refused_then_made_when_slack_answers_again(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    fake_slack.set_user(ALICE, tz="Europe/Berlin")
    booked = book(slack, fake_slack, db_engine, when="tomorrow 14:00", user_id=ALICE)
    # Longer than the zone read for that booking is trusted.
    bot.clock.advance(minutes=61)
    slack_cannot_tell(fake_slack)
    answer = say(slack, fake_slack, f"edit {booked.short_id} tomorrow 16:00")
    assert answer.startswith("Not changed") and UNKNOWN in answer, answer
    assert booking(db_engine, booked.short_id).starts_at == booked.starts_at
    # A change that has no time in it needs no zone.
    say(slack, fake_slack, f"edit {booked.short_id} for 1h")
    stored = booking(db_engine, booked.short_id)
    assert stored.starts_at == booked.starts_at
    assert stored.ends_at - stored.starts_at == timedelta(hours=1)

    fake_slack.clear_faults()
    say(slack, fake_slack, f"edit {booked.short_id} tomorrow 16:00")
    assert utc(booking(db_engine, booked.short_id).starts_at) == berlin_tomorrow(16, bot.clock())


def test_a_zone_read_within_the_hour_stands_in_for_slack(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    fake_slack.set_user(ALICE, tz="Europe/Berlin")
    book(slack, fake_slack, db_engine, when="tomorrow 14:00", user_id=ALICE)
    slack_cannot_tell(fake_slack)
    bot.clock.advance(minutes=59)
    assert "Booked" in say(slack, fake_slack, "schedule #124 tomorrow 15:00 for 45m")
    assert utc(bookings(db_engine)[1].starts_at) == berlin_tomorrow(15, bot.clock())
    # The failed read did not renew the hour: two minutes on, it is over.
    bot.clock.advance(minutes=2)
    answer = say(slack, fake_slack, "schedule #125 tomorrow 16:00 for 45m")
    assert answer.startswith("Not booked") and UNKNOWN in answer, answer
    assert count(db_engine, Booking) == 2


@pytest.fixture
def slack_proxy(fake_slack: FakeSlack) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", fake_slack.port) as proxy:
        yield proxy


def test_a_refused_connection_is_answered_and_nothing_is_booked(
    start_bot: Callable[..., InProcessBot],
    slack_proxy: TcpProxy,
    fake_slack: FakeSlack,
    db_engine: Engine,
) -> None:
    # The Web API through the proxy; response URLs (the replies) reach the fake directly.
    bot = start_bot(
        SLACK_API_URL=f"http://127.0.0.1:{slack_proxy.port}/api/",
        APPROVER_USERGROUP="S0APPROVERS",
    )
    fake_slack.set_usergroup("S0APPROVERS", [ALICE])
    with SignedClient.for_bot(bot, fake_slack) as signed:
        slack_proxy.down()
        for text, refusal in [
            (f"schedule {PR} tomorrow 14:00 for 45m", "Not booked"),
            ("plan rename #101 #102 tomorrow 14:00 for 45m", "No plan booked"),
            ("freeze reindexing until tomorrow 9:00", "Not frozen"),
        ]:
            answer = say(signed, fake_slack, text)
            assert answer.startswith(refusal) and UNKNOWN in answer, answer
        # The approver group cannot be read either: said so, not raised.
        override = say(
            signed, fake_slack, f'schedule {PR} tomorrow 14:00 --override-window "launch"'
        )
        assert "couldn't check the approver group" in override, override
        bot.wait_idle()
        assert count(db_engine, Booking) == 0 and count(db_engine, Freeze) == 0

        slack_proxy.up()
        assert "Booked" in say(signed, fake_slack, f"schedule {PR} tomorrow 14:00 for 45m")
        assert "Frozen" in say(signed, fake_slack, "freeze reindexing until tomorrow 9:00")
        fake_slack.wait_for(
            "chat.postMessage", lambda c: c.get("channel") == DEPLOY_CHANNEL, timeout=30
        )


# ------------------------------------------------------- user_timezone against the fake


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    fake_slack.reset()
    return WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_user_timezone_reads_the_zone_and_a_profile_without_one_is_utc(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.set_user(ALICE, tz="Europe/Berlin")
    assert user_timezone(client, ALICE) == BERLIN
    fake_slack.set_user(ALICE, without_tz=True)
    assert "tz" not in client.users_info(user=ALICE)["user"]
    assert user_timezone(client, ALICE) == ZoneInfo("UTC")


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(
            lambda fake: fake.fail_next("users.info", 200, error="fatal_error"), id="ok-false"
        ),
        pytest.param(lambda fake: fake.fail_next("users.info", 503, times=10), id="503"),
        pytest.param(
            lambda fake: fake.fail_next("users.info", 429, times=10, retry_after=0), id="429"
        ),
    ],
)
def test_user_timezone_is_none_on_an_error_answer(
    client: WebClient, fake_slack: FakeSlack, failure: Callable[[FakeSlack], None]
) -> None:
    fake_slack.set_user(ALICE, tz="Europe/Berlin")
    failure(fake_slack)
    assert user_timezone(client, ALICE) is None
    fake_slack.clear_faults()
    assert user_timezone(client, ALICE) == BERLIN


def test_user_timezone_is_none_when_the_connection_is_refused() -> None:
    refused = WebClient(token=DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{closed_port()}/api/")
    assert user_timezone(refused, ALICE) is None


def test_user_timezone_is_none_when_the_connection_is_cut(
    fake_slack: FakeSlack, slack_proxy: TcpProxy
) -> None:
    cut = WebClient(token=DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{slack_proxy.port}/api/")
    slack_proxy.down()  # accepted, then closed at once
    assert user_timezone(cut, ALICE) is None


def test_user_timezone_is_none_when_slack_is_too_slow(fake_slack: FakeSlack) -> None:
    fake_slack.reset()
    slow = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url, timeout=0.3)
    fake_slack.set_delay("users.info", 2)
    try:
        assert user_timezone(slow, ALICE) is None
    finally:
        fake_slack.set_delay("users.info", 0)


def test_is_approver_is_none_when_the_connection_is_refused() -> None:
    refused = WebClient(token=DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{closed_port()}/api/")
    assert is_approver(refused, "S0APPROVERS", ALICE) is None


def test_user_zones_forget_after_the_hour_and_beyond_their_size(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    clock = MovableClock()
    zones = UserZones(clock, keep=timedelta(hours=1), size=2)
    people = {"U0ONE00001": "Europe/Berlin", "U0TWO00002": "Asia/Tokyo", "U0THREE003": "UTC"}
    for user_id, tz in people.items():
        fake_slack.set_user(user_id, tz=tz)
        assert zones.zone(client, user_id) == ZoneInfo(tz)
    slack_cannot_tell(fake_slack)
    # The first one read was dropped for the third; the other two are remembered.
    assert zones.zone(client, "U0ONE00001") is None
    assert zones.zone(client, "U0TWO00002") == ZoneInfo("Asia/Tokyo")
    clock.advance(minutes=61)
    assert zones.zone(client, "U0THREE003") is None
