"""The Home tab over HTTP: what each person sees when they open it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from helpers import announcement, book, reply_to
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.plans.model import DeployPlan, PlanStep
from support.fake_slack import FakeSlack, SlackCall
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, CAROL, DAVE, SignedClient, app_home_opened

GROUP = "S0APPROVERS"
FREEZE = "Freeze"
MINE = "Your upcoming deploys"
TO_APPROVE = "Waiting for your approval"
WEEK = "Booked for the next 7 days"
REFUSED = "Messages Slack refused"


def in_days(days: int, at: str = "10:00") -> str:
    return f"{(date.today() + timedelta(days=days)).isoformat()} {at}"


def sections(call: SlackCall) -> dict[str, str]:
    """The published Home tab as {header: all mrkdwn text under it}."""
    view = call.get("view")
    assert isinstance(view, dict) and view["type"] == "home"
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for block in view["blocks"]:
        if block["type"] == "header":
            current = found.setdefault(block["text"]["text"], [])
        elif block["type"] == "section":
            current.append(block["text"]["text"])
        elif block["type"] == "context":
            current += [e["text"] for e in block["elements"]]
    return {name: "\n".join(texts) for name, texts in found.items()}


def open_home(slack: SignedClient, fake_slack: FakeSlack, user_id: str) -> dict[str, str]:
    """Open `user_id`'s Home tab and return what the bot published for it."""

    def theirs(c: SlackCall) -> bool:
        return bool(c.get("user_id") == user_id)

    before = len([c for c in fake_slack.calls("views.publish") if theirs(c)])
    sent = slack.send(app_home_opened(user_id))
    assert sent.status_code == 200, sent.text
    published = fake_slack.wait_for_count("views.publish", before + 1, theirs)
    assert published[-1].ok, published[-1].response
    return sections(published[-1])


def ids_in(text: str) -> list[str]:
    """Booking ids in the order they are listed."""
    return re.findall(r"\*`([0-9A-Z]{5})`\*", text)


@pytest.fixture
def grouped(start_bot: Callable[..., BotProcess], fake_slack: FakeSlack) -> Iterator[SignedClient]:
    """A bot needing two approvals from the group of Bob and Carol (Dave is outside it)."""
    fake_slack.set_usergroup(GROUP, [BOB, CAROL])
    process = start_bot(REQUIRED_APPROVALS="2", APPROVER_USERGROUP=GROUP)
    with SignedClient.for_bot(process, fake_slack) as signed:
        yield signed


def test_each_person_sees_their_own_home(
    grouped: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    slack = grouped
    soon = book(slack, fake_slack, db_engine, when="tomorrow 14:00")
    later = book(slack, fake_slack, db_engine, when=in_days(3))
    far = book(slack, fake_slack, db_engine, when=in_days(10))
    bobs = book(slack, fake_slack, db_engine, when=in_days(2), user_id=BOB)
    # Alice announces `later`; Bob approves it (one of two), so it waits for Carol only.
    reply_to(fake_slack, slack.command(f"ready {later.short_id}"))
    posted = announcement(fake_slack, later.short_id)
    slack.click(posted, "approval_approve", f"{later.short_id}:0", user_id=BOB)
    fake_slack.wait_for("chat.update", lambda c: "1 of 2" in c.all_text())

    alice = open_home(slack, fake_slack, ALICE)
    assert ids_in(alice[MINE]) == [soon.short_id, later.short_id, far.short_id]
    assert "awaiting approval (1 of 2)" in alice[MINE]
    # Alice is not in the approver group either.
    assert ids_in(alice[TO_APPROVE]) == []
    assert f"Only members of <!subteam^{GROUP}>" in alice[TO_APPROVE]
    assert ids_in(alice[WEEK]) == [soon.short_id, bobs.short_id, later.short_id]
    assert f"<@{BOB}>" in alice[WEEK]
    assert f"<!date^{int(soon.starts_at.timestamp())}^" in alice[WEEK]
    assert "Nothing is frozen" in alice[FREEZE]

    bob = open_home(slack, fake_slack, BOB)
    assert ids_in(bob[MINE]) == [bobs.short_id]
    # Bob already approved `later` in this round: nothing more waits for him.
    assert ids_in(bob[TO_APPROVE]) == []
    assert "Nothing is waiting for your approval" in bob[TO_APPROVE]

    carol = open_home(slack, fake_slack, CAROL)
    assert ids_in(carol[TO_APPROVE]) == [later.short_id]
    assert "1 of 2" in carol[TO_APPROVE]
    assert "You have nothing booked" in carol[MINE]

    dave = open_home(slack, fake_slack, DAVE)
    assert ids_in(dave[TO_APPROVE]) == []
    assert f"Only members of <!subteam^{GROUP}>" in dave[TO_APPROVE]
    assert ids_in(dave[WEEK]) == [soon.short_id, bobs.short_id, later.short_id]


def test_approvals_of_an_earlier_round_do_not_hide_a_deploy(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    assert ids_in(open_home(slack, fake_slack, BOB)[TO_APPROVE]) == [booked.short_id]
    posted = announcement(fake_slack, booked.short_id)
    slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    assert ids_in(open_home(slack, fake_slack, BOB)[TO_APPROVE]) == []
    assert "approved" in open_home(slack, fake_slack, ALICE)[MINE]

    # Editing the time voids Bob's approval; announced again, it waits for him anew.
    assert "void" in reply_to(fake_slack, slack.command(f"edit {booked.short_id} tomorrow 16:00"))
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    bob = open_home(slack, fake_slack, BOB)
    assert ids_in(bob[TO_APPROVE]) == [booked.short_id]
    assert "0 of 1" in bob[TO_APPROVE]


def test_cancelled_bookings_leave_the_home_tab(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    kept = book(slack, fake_slack, db_engine)
    gone = book(slack, fake_slack, db_engine, when=in_days(2))
    reply_to(fake_slack, slack.command(f"cancel {gone.short_id}"))
    home = open_home(slack, fake_slack, ALICE)
    assert ids_in(home[MINE]) == [kept.short_id]
    assert ids_in(home[WEEK]) == [kept.short_id]


def test_plan_steps_are_marked(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    first = book(slack, fake_slack, db_engine)
    second = book(slack, fake_slack, db_engine, when=in_days(2))
    # Plans have no command of their own yet, so the plan rows are written directly.
    with Session(db_engine) as session:
        plan = DeployPlan(
            short_id="PLAN2",
            kind="remove",
            title="Remove Person.age",
            app="foundation-site",
            requester_id=ALICE,
        )
        session.add(plan)
        session.flush()
        session.add_all(
            [
                PlanStep(plan_id=plan.id, step=1, booking_id=first.id),
                PlanStep(plan_id=plan.id, step=2, booking_id=second.id),
            ]
        )
        session.commit()
    week = open_home(slack, fake_slack, BOB)[WEEK]
    assert "Step 1 of 2" in week and "Step 2 of 2" in week


def test_a_retried_event_is_published_once(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    book(slack, fake_slack, db_engine)
    event = app_home_opened(ALICE)
    assert slack.send(event).status_code == 200
    fake_slack.wait_for("views.publish")
    assert slack.send(event, retry_num=1, retry_reason="http_timeout").status_code == 200
    assert slack.send(event, retry_num=2, retry_reason="http_timeout").status_code == 200
    fake_slack.assert_no_call(
        "views.publish", lambda c: len(fake_slack.calls("views.publish")) > 1, within=0.7
    )
    assert len(fake_slack.calls("views.publish")) == 1
    # A new visit is a new event and is drawn again.
    open_home(slack, fake_slack, ALICE)
    assert len(fake_slack.calls("views.publish")) == 2


def test_the_messages_tab_is_left_alone(slack: SignedClient, fake_slack: FakeSlack) -> None:
    event: dict[str, Any] = dict(app_home_opened(ALICE).payload["event"])
    event["tab"] = "messages"
    assert slack.event(event).status_code == 200
    fake_slack.assert_no_call("views.publish", within=0.5)


def test_an_unreadable_approver_group_is_said(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    # No members configured for the group: Slack answers no_such_subteam.
    process = start_bot(APPROVER_USERGROUP="S0MISSING")
    with SignedClient.for_bot(process, fake_slack) as slack:
        booked = book(slack, fake_slack, db_engine)
        reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
        home = open_home(slack, fake_slack, BOB)
        assert "couldn't check the approver group" in home[TO_APPROVE]
        assert ids_in(home[WEEK]) == [booked.short_id]


def test_history_is_not_upcoming(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    with Session(db_engine) as session:
        row = session.get(Booking, booked.id)
        assert row is not None
        row.status = "landed"
        session.commit()
    home = open_home(slack, fake_slack, ALICE)
    assert ids_in(home[MINE]) == [] and ids_in(home[WEEK]) == []


def test_a_notice_slack_refused_for_good_is_shown_until_a_day_has_passed(
    bot: Any, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    assert REFUSED not in open_home(slack, fake_slack, ALICE)
    fake_slack.fail_next("chat.postMessage", status=200, error="not_in_channel")
    gone = book(slack, fake_slack, db_engine)
    home = open_home(slack, fake_slack, BOB)
    assert "`not_in_channel`" in home[REFUSED] and gone.short_id in home[REFUSED]
    bot.clock.advance(days=1, minutes=1)
    assert REFUSED not in open_home(slack, fake_slack, BOB)
