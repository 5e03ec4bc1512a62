"""The ES mapping-change runbook end to end: start freezes master (enforced on GitHub),
the checklist goes in order, landing needs every step, STUCK THE LANDING!, the next-day
reminder; aborting unfreezes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from helpers import (
    DEPLOY_CHANNEL,
    announcement,
    book,
    booking,
    count,
    outbox_refuses,
    outbox_texts,
    reply_to,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.runbook.model import RunbookChecklist, RunbookStep
from bot.runbook.rules import STEPS
from bot.slack.outbox import OutboxMessage
from support.db import Database
from support.fake_github import DEFAULT_TOKEN, FakeGitHub
from support.fake_slack import FakeSlack, SlackCall
from support.inprocess import InProcessBot, MovableClock
from support.slack_requests import ALICE, BOB, SignedClient

REPO = "mozilla/foundation.mozilla.org"
CONTEXT = "deploybot/freeze"


@pytest.fixture
def github(fake_github: FakeGitHub) -> FakeGitHub:
    return fake_github


@pytest.fixture
def es_bot(start_bot: Callable[..., InProcessBot], github: FakeGitHub) -> InProcessBot:
    return start_bot(GITHUB_API_URL=github.url, GITHUB_TOKEN=DEFAULT_TOKEN)


def approved_es_change(
    slack: SignedClient, fake_slack: FakeSlack, engine: Engine, clock: MovableClock
) -> str:
    """An approved ES mapping change whose slot is due."""
    booked = book(
        slack, fake_slack, engine, when="in 15 minutes", extra='kind:es "New search mapping"'
    )
    reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
    slack.click(
        announcement(fake_slack, booked.short_id),
        "approval_approve",
        f"{booked.short_id}:0",
        user_id=BOB,
    )
    fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    clock.advance(minutes=15)  # the bot's clock brings the slot due
    return booked.short_id


def started_es_change(
    slack: SignedClient, fake_slack: FakeSlack, engine: Engine, clock: MovableClock
) -> str:
    short_id = approved_es_change(slack, fake_slack, engine, clock)
    assert "is deploying" in reply_to(fake_slack, slack.command(f"start {short_id}"))
    return short_id


def checklist(fake_slack: FakeSlack) -> SlackCall:
    return fake_slack.wait_for("chat.postMessage", lambda c: "runbook" in c.all_text())


def test_an_es_mapping_change_from_start_to_stuck_landing(
    es_bot: InProcessBot,
    github: FakeGitHub,
    fake_slack: FakeSlack,
    db_engine: Engine,
    bot_cli: Callable[..., subprocess.CompletedProcess[str]],
    db_backend: Database,
) -> None:
    own = github.add_pull(REPO, 123, title="New search mapping")
    other = github.add_pull(REPO, 200, title="Unrelated feature")
    with SignedClient.for_bot(es_bot, fake_slack) as slack:
        short_id = started_es_change(slack, fake_slack, db_engine, es_bot.clock)

        # Master is frozen for the booking, and the freeze is enforced on GitHub.
        fake_slack.wait_for(
            "chat.postMessage",
            lambda c: c.get("channel") == DEPLOY_CHANNEL and "hold off" in c.all_text().lower(),
        )
        freeze = httpx.get(f"{es_bot.base_url}/api/freeze").json()
        assert freeze["frozen"] is True and freeze["booking"] == short_id
        github.wait_for(f"POST /repos/{REPO}/statuses/{other['head']['sha']}*")
        assert github.latest_status(REPO, other["head"]["sha"], CONTEXT)["state"] == "failure"
        github.wait_for(f"POST /repos/{REPO}/statuses/{own['head']['sha']}*")
        assert github.latest_status(REPO, own["head"]["sha"], CONTEXT)["state"] == "success"

        # The checklist is in the announcement's thread, one step at a time.
        posted = checklist(fake_slack)
        assert posted.get("thread_ts") == booking(db_engine, short_id).announcement_ts
        refused = reply_to(fake_slack, slack.command(f"done {short_id}"))
        assert "every runbook step" in refused

        skipped = slack.click(posted, "runbook_step", f"{short_id}:3", user_id=BOB)
        assert "step 1" in reply_to(fake_slack, skipped) and "comes first" in reply_to(
            fake_slack, skipped
        )
        for step in range(1, len(STEPS) + 1):
            slack.click(
                posted, "runbook_step", f"{short_id}:{step}", user_id=BOB if step % 2 else ALICE
            )
            fake_slack.wait_for(
                "chat.update", lambda c, n=step: f"{n} of {len(STEPS)} steps" in (c.text or "")
            )
        again = slack.click(posted, "runbook_step", f"{short_id}:1", user_id=BOB)
        assert "already checked off" in reply_to(fake_slack, again)

        assert "landed" in reply_to(fake_slack, slack.command(f"done {short_id}"))
        fake_slack.wait_for("chat.postMessage", lambda c: "STUCK THE LANDING!" in c.all_text())
        assert httpx.get(f"{es_bot.base_url}/api/freeze").json()["frozen"] is False
        github.wait_for(
            f"POST /repos/{REPO}/statuses/{other['head']['sha']}*",
            lambda c: c.body.get("state") == "success",
        )

    # The next day, the clock reminds the team to merge the branch and drop the old index.
    fake_slack.reset()
    env = {
        "DATABASE_URL": db_backend.url,
        "SLACK_API_URL": fake_slack.base_url,
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": DEFAULT_TOKEN,
    }
    assert bot_cli("clock", "--once", **env).returncode == 0
    assert not [c for c in fake_slack.calls("chat.postMessage") if "Next-day" in c.all_text()]
    finished = booking(db_engine, short_id).finished_at
    assert finished is not None
    from bot.clock.runner import tick
    from bot.clock.tasks import build_tasks
    from bot.container import build_container
    from bot.settings import Settings

    container = build_container(
        Settings(
            database_url=db_backend.url,
            slack_api_url=fake_slack.base_url,  # type: ignore[arg-type]
            slack_bot_token="xoxb-test-token",
            deploy_channel=DEPLOY_CHANNEL,
        )
    )
    tasks = build_tasks(container)
    tick(tasks, finished + timedelta(days=1))
    tick(tasks, finished + timedelta(days=1, minutes=1))
    container.database.dispose()
    reminders = [c for c in fake_slack.calls("chat.postMessage") if "Next-day" in c.all_text()]
    assert len(reminders) == 1
    assert "merge the special branch into master and delete the old read index" in (
        reminders[0].all_text()
    )


def test_the_runbook_messages_stand_or_fall_with_their_changes(
    es_bot: InProcessBot, github: FakeGitHub, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    # The database refuses each message in turn: its change must not stand without it,
    # as both are recorded in one transaction (docs/adr/0019).
    github.add_pull(REPO, 123, title="New search mapping")
    total = len(STEPS)
    with SignedClient.for_bot(es_bot, fake_slack) as slack:
        short_id = approved_es_change(slack, fake_slack, db_engine, es_bot.clock)
        with outbox_refuses(db_engine, f"0 of {total} steps"):
            assert "is deploying" not in reply_to(fake_slack, slack.command(f"start {short_id}"))
            assert booking(db_engine, short_id).status == "approved"
            assert count(db_engine, RunbookChecklist) == 0
        assert "is deploying" in reply_to(fake_slack, slack.command(f"start {short_id}"))
        posted = checklist(fake_slack)

        with outbox_refuses(db_engine, f"1 of {total} steps"):
            refused = slack.click(posted, "runbook_step", f"{short_id}:1", user_id=BOB)
            assert "Something went wrong" in reply_to(fake_slack, refused)
            assert count(db_engine, RunbookStep) == 0
        for step in range(1, total + 1):
            slack.click(posted, "runbook_step", f"{short_id}:{step}", user_id=BOB)
            fake_slack.wait_for(
                "chat.update", lambda c, n=step: f"{n} of {total} steps" in (c.text or "")
            )

        with outbox_refuses(db_engine, "STUCK THE LANDING"):
            assert "landed" not in reply_to(fake_slack, slack.command(f"done {short_id}"))
            assert booking(db_engine, short_id).status == "deploying"
        assert "landed" in reply_to(fake_slack, slack.command(f"done {short_id}"))
        fake_slack.wait_for("chat.postMessage", lambda c: "STUCK THE LANDING!" in c.all_text())

    for step in range(total + 1):
        assert len(outbox_texts(db_engine, f"{step} of {total} steps")) == 1, step
    assert len(outbox_texts(db_engine, "STUCK THE LANDING")) == 1


def test_aborting_unfreezes_master_and_posts_the_rollback_checklist(
    es_bot: InProcessBot, github: FakeGitHub, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    with SignedClient.for_bot(es_bot, fake_slack) as slack:
        short_id = started_es_change(slack, fake_slack, db_engine, es_bot.clock)
        checklist(fake_slack)
        assert httpx.get(f"{es_bot.base_url}/api/freeze").json()["frozen"] is True
        # The abort notice is recorded with the failure: refused, the failure does not
        # stand either (docs/adr/0019).
        with outbox_refuses(db_engine, "was aborted"):
            assert "Rollback" not in reply_to(fake_slack, slack.command(f"failed {short_id}"))
            assert booking(db_engine, short_id).status == "deploying"
            assert httpx.get(f"{es_bot.base_url}/api/freeze").json()["frozen"] is True
        assert outbox_texts(db_engine, "was aborted") == []
        reply_to(fake_slack, slack.command(f"failed {short_id}"))
        fake_slack.wait_for("chat.postMessage", lambda c: "was aborted" in c.all_text())
        fake_slack.wait_for("chat.postMessage", lambda c: "Rollback checklist" in c.all_text())
        assert httpx.get(f"{es_bot.base_url}/api/freeze").json()["frozen"] is False
    assert len(outbox_texts(db_engine, "was aborted")) == 1


def test_other_kinds_do_not_freeze(
    es_bot: InProcessBot, github: FakeGitHub, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    with SignedClient.for_bot(es_bot, fake_slack) as slack:
        booked = book(slack, fake_slack, db_engine, when="in 15 minutes", extra="kind:migration")
        reply_to(fake_slack, slack.command(f"ready {booked.short_id}"))
        slack.click(
            announcement(fake_slack, booked.short_id),
            "approval_approve",
            f"{booked.short_id}:0",
            user_id=BOB,
        )
        fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
        es_bot.clock.advance(minutes=15)  # the bot's clock brings the slot due
        reply_to(fake_slack, slack.command(f"start {booked.short_id}"))
        assert httpx.get(f"{es_bot.base_url}/api/freeze").json()["frozen"] is False
        fake_slack.assert_no_call(
            "chat.postMessage", lambda c: "runbook" in c.all_text(), within=0.5
        )
        assert "landed" in reply_to(fake_slack, slack.command(f"done {booked.short_id}"))


def test_a_step_checked_off_before_slack_has_the_checklist_updates_it_once_posted(
    es_bot: InProcessBot, github: FakeGitHub, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    """The checklist's ts is unknown while its post waits in the outbox (Slack away):
    the step's update is recorded by the post's outbox key and follows it (ADR 0019)."""
    github.add_pull(REPO, 123, title="New search mapping")
    total = len(STEPS)
    with SignedClient.for_bot(es_bot, fake_slack) as slack:
        short_id = approved_es_change(slack, fake_slack, db_engine, es_bot.clock)
        for method in ("chat.postMessage", "chat.update"):
            fake_slack.fail_next(method, status=503, retry_after=None, times=100_000)
        assert "is deploying" in reply_to(fake_slack, slack.command(f"start {short_id}"))
        es_bot.wait_idle()
        with Session(db_engine) as session:
            waiting = session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.text.contains(f"0 of {total} steps"))
                .where(OutboxMessage.state == "pending")
            ).one()
            # The checklist as Slack would show it: someone clicks step 1 on it (Slack
            # took it and the bot has not heard back, or the button came back through a
            # retry); the bot has no ts for it yet.
            message = {
                "type": "message",
                "text": waiting.text,
                "blocks": json.loads(waiting.blocks),
            }
        assert booking(db_engine, short_id).status == "deploying"
        click = slack.click(
            message, "runbook_step", f"{short_id}:1", user_id=BOB, channel_id=DEPLOY_CHANNEL
        )
        assert click.status_code == 200
        es_bot.wait_idle()
        assert count(db_engine, RunbookStep) == 1
        with Session(db_engine) as session:
            assert session.get(RunbookChecklist, booking(db_engine, short_id).id).message_ts is None

        # Slack answers again: the clock's outbox pass posts the checklist, then updates it.
        fake_slack.clear_faults()
        es_bot.clock.advance(minutes=5)
        es_bot.tick()

    posts = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.ok and f"0 of {total} steps" in (c.text or "")
    ]
    updates = [c for c in fake_slack.calls("chat.update") if c.ok and "runbook" in c.all_text()]
    assert len(posts) == 1, [c.summary() for c in posts]
    assert [u.text for u in updates] == [f"Runbook for {short_id}: 1 of {total} steps done"]
    [update] = updates
    assert update.get("ts") == posts[0].response["ts"]
    assert update.get("channel") == DEPLOY_CHANNEL
    calls = fake_slack.calls()
    assert calls.index(posts[0]) < calls.index(update)
    shown = fake_slack.message(DEPLOY_CHANNEL, posts[0].response["ts"])
    assert shown is not None and ":white_check_mark: 1." in str(shown["blocks"])
