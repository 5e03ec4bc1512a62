"""Migration plans over HTTP: ordered steps, all-or-nothing booking, order enforced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from helpers import (
    DEPLOY_CHANNEL,
    announcement,
    book,
    count,
    outbox_refuses,
    outbox_texts,
    reply_to,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.plans.model import DeployPlan, PlanStep
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, SignedClient


def steps_of(engine: Engine) -> list[Booking]:
    with Session(engine) as session:
        rows = session.scalars(
            sa.select(Booking)
            .join(PlanStep, PlanStep.booking_id == Booking.id)
            .order_by(PlanStep.step)
        ).all()
        session.expunge_all()
        return list(rows)


def test_a_rename_plan_books_three_ordered_steps(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    answer = reply_to(
        fake_slack,
        slack.command(
            'plan rename #101 #102 #103 tomorrow 14:00 for 45m every 2d "Rename Person.name"'
        ),
    )
    assert "Plan `" in answer
    steps = steps_of(db_engine)
    assert [s.pull_requests for s in steps] == [
        [f"mozilla/foundation.mozilla.org#{n}"] for n in (101, 102, 103)
    ]
    assert [s.starts_at - steps[0].starts_at for s in steps] == [
        timedelta(0),
        timedelta(days=2),
        timedelta(days=4),
    ]
    assert "1/3: add the new field" in steps[0].title
    assert "3/3: remove the old field" in steps[2].title
    assert all(s.kind == "migration" and s.status == "scheduled" for s in steps)
    fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and "Plan `" in c.all_text(),
    )

    listing = reply_to(fake_slack, slack.command("list"))
    assert "step 1/3 of plan" in listing and "step 3/3 of plan" in listing


def test_the_number_of_prs_must_match_the_plan(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    answer = reply_to(fake_slack, slack.command("plan remove #1 #2 #3 tomorrow 10:00"))
    assert "remove plan has 2 steps" in answer
    assert "Example: `/deploy plan rename" in answer
    unknown = reply_to(fake_slack, slack.command("plan rewrite #1 #2 tomorrow 10:00"))
    assert "Unknown plan `rewrite`" in unknown
    assert count(db_engine, Booking) == 0 and count(db_engine, DeployPlan) == 0


def test_a_plan_is_booked_whole_or_not_at_all(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    blocker = book(slack, fake_slack, db_engine, when="tomorrow 14:00", user_id=BOB)
    # Step 2 would land on the blocker (step 1 is today+1 at 13:00, step 2 one hour later).
    answer = reply_to(
        fake_slack, slack.command("plan remove #1 #2 tomorrow 13:00 for 30m every 1h")
    )
    assert "step 2 clashes with" in answer and blocker.short_id in answer
    assert count(db_engine, Booking) == 1
    assert count(db_engine, DeployPlan) == 0 and count(db_engine, PlanStep) == 0
    assert outbox_texts(db_engine, PLAN_NOTICE) == []


# Only the plan's channel notice (and its reply, which is not in the outbox) says this.
PLAN_NOTICE = "Each step is deployed separately"


def test_a_plan_and_its_channel_notice_are_recorded_together(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    command = "plan remove #1 #2 tomorrow 13:00 for 30m every 1h"
    # The notice cannot be recorded: the plan must not stand without it (docs/adr/0019).
    with outbox_refuses(db_engine, PLAN_NOTICE):
        answer = reply_to(fake_slack, slack.command(command))
        # On SQLite the refusal is an IntegrityError too: still not a taken slot.
        assert "Something went wrong" in answer and "took one of these slots" not in answer
        assert PLAN_NOTICE not in answer
        assert count(db_engine, DeployPlan) == 0 and count(db_engine, Booking) == 0
    assert outbox_texts(db_engine, PLAN_NOTICE) == []

    assert PLAN_NOTICE in reply_to(fake_slack, slack.command(command))
    fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and PLAN_NOTICE in c.all_text(),
    )
    [notice] = outbox_texts(db_engine, PLAN_NOTICE)
    assert all(step.short_id in notice for step in steps_of(db_engine))


def test_a_step_cannot_start_before_the_previous_one_landed(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    process = start_bot()
    with SignedClient.for_bot(process, fake_slack) as slack:
        reply_to(fake_slack, slack.command("plan remove #1 #2 in 15 minutes for 15m every 20m"))
        first, second = steps_of(db_engine)
        for step in (first, second):
            reply_to(fake_slack, slack.command(f"ready {step.short_id}"))
            slack.click(
                announcement(fake_slack, step.short_id),
                "approval_approve",
                f"{step.short_id}:0",
                user_id=BOB,
            )
        fake_slack.wait_for_count(
            "chat.postMessage",
            2,
            lambda c: c.get("channel") == ALICE and "is approved" in c.all_text(),
        )

        # Moving step 2 before step 1 ends is refused too.
        moved = reply_to(fake_slack, slack.command(f"edit {second.short_id} in 16 minutes"))
        assert "cannot start before step 1" in moved

        # The bot's clock, not a longer grace period, brings the steps due: step 1 (+15
        # minutes) is under way, step 2 (+35) within the default 15 minutes' grace.
        process.clock.advance(minutes=25)

        refused = reply_to(fake_slack, slack.command(f"start {second.short_id}"))
        assert "step 1" in refused and "has not landed" in refused
        reply_to(fake_slack, slack.command(f"start {first.short_id}"))
        reply_to(fake_slack, slack.command(f"done {first.short_id}"))
        assert "is deploying" in reply_to(fake_slack, slack.command(f"start {second.short_id}"))
        listing = reply_to(fake_slack, slack.command("list"))
        assert "step 2/2" in listing and "1 landed" in listing
