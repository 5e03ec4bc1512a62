"""/deploy freeze, unfreeze and status, the Unfreeze reminder, /api/freeze and
`deploybot freeze-status`, driven over HTTP exactly as Slack sends them.

GitHub enforcement is off here (the default bot has no GITHUB_TOKEN); see
test_freeze_github.py for the commit statuses.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from helpers import DEPLOY_CHANNEL, reply_to
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.audit.model import AuditEntry
from bot.freeze.model import Freeze
from support.fake_slack import FakeSlack
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, CAROL, DAVE, SignedClient

APPROVERS = "S0APPROVERS"


def freezes(engine: Engine) -> list[Freeze]:
    with Session(engine) as session:
        rows = list(session.scalars(sa.select(Freeze).order_by(Freeze.id)))
        session.expunge_all()
        return rows


def freeze_audit(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        rows = list(
            session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.entity_type == "freeze")
                .order_by(AuditEntry.id)
            )
        )
        session.expunge_all()
        return rows


def backdate(engine: Engine, freeze_id: int, hours: float) -> datetime:
    """Pretend the freeze started `hours` ago (the clock reads times from the database)."""
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)
    stored = when.replace(tzinfo=None) if engine.dialect.name == "sqlite" else when
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE branch_freeze SET frozen_at = :when WHERE id = :id"),
            {"when": stored, "id": freeze_id},
        )
    return when


def date_token(value: datetime) -> str:
    return f"<!date^{int(value.timestamp())}^"


def test_freeze_is_stored_announced_and_audited(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    sent = slack.command("freeze ES mapping change for search")
    assert sent.elapsed < 3
    reply = reply_to(fake_slack, sent)
    assert "Frozen" in reply

    [row] = freezes(db_engine)
    assert (row.branch, row.frozen_by, row.reason) == (
        "master",
        ALICE,
        "ES mapping change for search",
    )
    assert row.active and row.booking_short_id is None and row.exempt_pulls == []

    notice = fake_slack.wait_for("chat.postMessage", lambda c: c.get("channel") == DEPLOY_CHANNEL)
    text = notice.all_text()
    assert "master is frozen" in text
    assert f"<@{ALICE}>" in text
    assert "ES mapping change for search" in text
    assert date_token(row.frozen_at) in text
    assert "Hold off merging to master and deploying" in text

    [entry] = freeze_audit(db_engine)
    assert (entry.actor_id, entry.action, entry.entity_id) == (ALICE, "freeze.started", str(row.id))


def test_freezing_a_frozen_branch_says_who_when_and_why(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    reply_to(fake_slack, slack.command("freeze reindexing"))
    [row] = freezes(db_engine)

    again = reply_to(fake_slack, slack.command("freeze something else", user_id=BOB))
    assert "Already frozen" in again
    assert f"<@{ALICE}>" in again
    assert date_token(row.frozen_at) in again
    assert "reindexing" in again
    assert len(freezes(db_engine)) == 1
    assert len(freeze_audit(db_engine)) == 1


def test_status_before_during_and_after(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    assert "`master` is not frozen" in reply_to(fake_slack, slack.command("status"))
    reply_to(fake_slack, slack.command("freeze"))
    status = reply_to(fake_slack, slack.command("status", user_id=BOB))
    assert "frozen by" in status and "no reason given" in status and f"<@{ALICE}>" in status
    assert "GitHub enforcement is off" in status
    reply_to(fake_slack, slack.command("unfreeze"))
    after = reply_to(fake_slack, slack.command("status"))
    assert "not frozen" in after and "last unfrozen by" in after


def test_whoever_froze_it_can_unfreeze_and_the_channel_hears_how_long_it_lasted(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    reply_to(fake_slack, slack.command("freeze stage 1 deploy"))
    [row] = freezes(db_engine)
    started = backdate(db_engine, row.id, hours=2)

    reply = reply_to(fake_slack, slack.command("unfreeze"))
    assert "Unfrozen `master`" in reply
    [row] = freezes(db_engine)
    assert not row.active and row.unfrozen_by == ALICE
    notice = fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and ":sunny:" in c.all_text(),
    )
    assert "after 2h" in notice.all_text()
    assert date_token(started) in notice.all_text()
    assert [e.action for e in freeze_audit(db_engine)] == ["freeze.started", "freeze.ended"]

    # Nothing left to unfreeze; a new freeze is possible and history is kept.
    assert "not frozen" in reply_to(fake_slack, slack.command("unfreeze"))
    reply_to(fake_slack, slack.command("freeze again", user_id=BOB))
    assert [f.active for f in freezes(db_engine)] == [False, True]


def test_without_an_approver_group_anyone_may_unfreeze(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    reply_to(fake_slack, slack.command("freeze"))
    assert "Unfrozen" in reply_to(fake_slack, slack.command("unfreeze", user_id=DAVE))
    assert freezes(db_engine)[0].unfrozen_by == DAVE


def test_with_an_approver_group_only_members_and_the_freezer_may_unfreeze(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    fake_slack.set_usergroup(APPROVERS, [CAROL])
    bot = start_bot(APPROVER_USERGROUP=APPROVERS)
    with SignedClient.for_bot(bot, fake_slack) as slack:
        reply_to(fake_slack, slack.command("freeze reindex", user_id=BOB))

        refused = reply_to(fake_slack, slack.command("unfreeze", user_id=DAVE))
        assert "can't unfreeze" in refused
        assert f"<@{BOB}>" in refused and APPROVERS in refused
        assert freezes(db_engine)[0].active
        # Told privately: no channel notice about an unfreeze.
        fake_slack.assert_no_call(
            "chat.postMessage", lambda c: ":sunny:" in c.all_text(), within=0.3
        )

        assert "Unfrozen" in reply_to(fake_slack, slack.command("unfreeze", user_id=CAROL))
        reply_to(fake_slack, slack.command("freeze again", user_id=BOB))
        # The person who froze it needs no group membership.
        assert "Unfrozen" in reply_to(fake_slack, slack.command("unfreeze", user_id=BOB))


def test_a_slack_retry_of_freeze_changes_nothing_twice(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    from support.slack_requests import slash_command

    request = slash_command("freeze retried", response_url=fake_slack.response_url("retried"))
    slack.send(request)
    slack.send(request, retry_num=1, retry_reason="http_timeout")
    fake_slack.wait_for_response("retried", lambda c: "Frozen" in c.all_text())
    fake_slack.assert_no_call(
        "response_url", lambda c: "Already frozen" in c.all_text(), within=0.5
    )
    assert len(freezes(db_engine)) == 1
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_overlong_reasons_are_refused_with_an_example(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    reply = reply_to(fake_slack, slack.command("freeze " + "x" * 600))
    assert "under 500 characters" in reply and "/deploy freeze" in reply
    assert freezes(db_engine) == []


def test_freezes_and_unfreezes_racing_leave_one_consistent_state(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    users = [ALICE, BOB, CAROL, DAVE] * 3
    commands = [("freeze" if i % 2 == 0 else "unfreeze", u) for i, u in enumerate(users)]
    start = threading.Barrier(len(commands))

    def race(command: tuple[str, str]) -> str:
        start.wait()
        return reply_to(fake_slack, slack.command(command[0], user_id=command[1]))

    with ThreadPoolExecutor(len(commands)) as pool:
        replies = list(pool.map(race, commands))

    rows = freezes(db_engine)
    froze = sum("Frozen." in r for r in replies)
    unfroze = sum("Unfrozen" in r for r in replies)
    # Every success is a row (or an ending of one), and nothing else changed anything.
    assert froze == len(rows) >= 1
    assert unfroze == sum(not r.active for r in rows)
    assert sum(r.active for r in rows) == froze - unfroze <= 1
    actions = [e.action for e in freeze_audit(db_engine)]
    assert actions.count("freeze.started") == froze
    assert actions.count("freeze.ended") == unfroze
    # Every other answer is one of the two refusals, never an error.
    assert all(
        any(s in r for s in ("Frozen.", "Unfrozen", "Already frozen", "not frozen"))
        for r in replies
    )


def test_the_database_refuses_a_second_active_freeze_of_a_branch(
    db_engine: Engine, bot: BotProcess
) -> None:
    # Bypasses the bot's own check: the partial unique index is what stops the row.
    insert = sa.text(
        "INSERT INTO branch_freeze (branch, reason, frozen_at, frozen_by, exempt_pulls,"
        " unfrozen_at, unfrozen_by, sweep_pending)"
        " VALUES (:branch, '', :at, 'U1', '[]', :until, :by, false)"
    )
    at = datetime(2030, 1, 1, tzinfo=UTC)
    if db_engine.dialect.name == "sqlite":
        at = at.replace(tzinfo=None)
    ended = {"at": at, "until": at, "by": "U2"}
    active = {"at": at, "until": None, "by": None}
    with db_engine.begin() as connection:
        connection.execute(insert, {"branch": "master", **ended})
        connection.execute(insert, {"branch": "master", **ended})  # history is fine
        connection.execute(insert, {"branch": "master", **active})
        connection.execute(insert, {"branch": "develop", **active})  # another branch
    with pytest.raises(sa.exc.IntegrityError), db_engine.begin() as connection:
        connection.execute(insert, {"branch": "master", **active})
    # Re-activating an old freeze is refused the same way.
    with pytest.raises(sa.exc.IntegrityError), db_engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE branch_freeze SET unfrozen_at = NULL, unfrozen_by = NULL "
                "WHERE id = (SELECT min(id) FROM branch_freeze)"
            )
        )


def test_reminders_go_to_whoever_froze_it_once_per_interval_with_a_button(
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    bot_cli: Callable[..., subprocess.CompletedProcess[str]],
    bot: BotProcess,
) -> None:
    reply_to(fake_slack, slack.command("freeze ES reindex"))
    [row] = freezes(db_engine)

    def clock() -> None:
        # The clock's tasks with the bot's settings, in this process (what `deploybot
        # clock --once` runs; tick() raises where that would exit non-zero).
        bot.tick()

    clock()  # not due yet
    backdate(db_engine, row.id, hours=4.5)
    clock()
    clock()  # a second tick (or a second clock) sends nothing more
    dms = fake_slack.calls("chat.postMessage")
    reminders = [c for c in dms if c.get("channel") == ALICE]
    assert len(reminders) == 1
    assert "still frozen" in reminders[0].all_text() and "ES reindex" in reminders[0].all_text()

    backdate(db_engine, row.id, hours=8.5)
    clock()
    reminders = [c for c in fake_slack.calls("chat.postMessage") if c.get("channel") == ALICE]
    assert len(reminders) == 2

    # Someone else pressing it: fine without an approver group, but let us check the
    # button works for the owner.
    clicked = slack.click(reminders[-1], "freeze_unfreeze", user_id=ALICE)
    assert clicked.status_code == 200
    answer = fake_slack.wait_for_response(clicked.response_url_id)
    assert "Unfrozen" in answer.all_text()
    assert not freezes(db_engine)[0].active
    fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and ":sunny:" in c.all_text(),
    )

    backdate(db_engine, row.id, hours=20)
    clock()  # lifted: no more reminders
    assert len([c for c in fake_slack.calls("chat.postMessage") if c.get("channel") == ALICE]) == 2


def test_the_reminder_button_obeys_the_same_rules(
    start_bot: Callable[..., BotProcess],
    fake_slack: FakeSlack,
    db_engine: Engine,
    bot_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    fake_slack.set_usergroup(APPROVERS, [CAROL])
    bot = start_bot(APPROVER_USERGROUP=APPROVERS)
    with SignedClient.for_bot(bot, fake_slack) as slack:
        reply_to(fake_slack, slack.command("freeze"))
        [row] = freezes(db_engine)
        backdate(db_engine, row.id, hours=5)
        bot.tick()  # `deploybot clock --once` with the bot's settings
        reminder = fake_slack.wait_for("chat.postMessage", lambda c: c.get("channel") == ALICE)

        # A forwarded reminder clicked by someone outside the group: refused, privately.
        refused = slack.click(reminder, "freeze_unfreeze", user_id=DAVE)
        text = fake_slack.wait_for_response(refused.response_url_id).all_text()
        assert "can't unfreeze" in text
        assert freezes(db_engine)[0].active

        approved = slack.click(reminder, "freeze_unfreeze", user_id=CAROL)
        assert "Unfrozen" in fake_slack.wait_for_response(approved.response_url_id).all_text()
        assert freezes(db_engine)[0].unfrozen_by == CAROL


def test_api_freeze_and_the_freeze_status_command(
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    bot: BotProcess,
    bot_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    idle = httpx.get(f"{bot.base_url}/api/freeze").json()
    assert idle == {
        "frozen": False,
        "branch": "master",
        "reason": None,
        "since": None,
        "by": None,
        "booking": None,
    }
    result = bot_cli("freeze-status")
    assert (result.returncode, result.stdout.strip()) == (0, "master is not frozen")

    reply_to(fake_slack, slack.command("freeze ES mapping"))
    [row] = freezes(db_engine)
    document = httpx.get(f"{bot.base_url}/api/freeze").json()
    assert document["frozen"] is True
    assert (document["branch"], document["reason"], document["by"]) == (
        "master",
        "ES mapping",
        ALICE,
    )
    assert document["booking"] is None
    assert datetime.fromisoformat(document["since"]) == row.frozen_at
    assert document["since"].endswith("Z")

    result = bot_cli("freeze-status")
    assert result.returncode == 1
    assert "master is FROZEN" in result.stdout and "ES mapping" in result.stdout
    as_json = bot_cli("freeze-status", "--json")
    assert as_json.returncode == 1
    import json

    assert json.loads(as_json.stdout) == document
    via_bot = bot_cli("freeze-status", "--url", bot.base_url)
    assert via_bot.returncode == 1 and "FROZEN" in via_bot.stdout


def test_freeze_status_exits_2_when_it_cannot_tell(
    bot_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # A database without the bot's tables (never migrated) is an error, not "not frozen".
    empty = bot_cli("freeze-status", DATABASE_URL=f"sqlite:///{tmp_path}/empty.sqlite3")
    assert empty.returncode == 2
    assert "cannot tell" in empty.stderr
    unreachable = bot_cli("freeze-status", "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 2
