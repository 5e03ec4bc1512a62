"""Who may do what: every command and button, tried by the requester, an approver, a
non-approver and a user nobody has seen before, against the rules.

- requester only: cancel, ready (command and Announce button), start, edit
- approve / request changes: group members, never the requester
- done / failed / rolledback: the requester or an approver
- schedule, plan, list, history: anyone

APPROVER_USERGROUP is set; the requester is a member too, so "never the requester" is
tested on someone who could otherwise approve.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from helpers import PR, announcement, audit, booking, reply_to
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.plans.model import DeployPlan
from faults.common import assert_acknowledged, dm_to
from support.db import Database, truncate_all
from support.fake_slack import FakeSlack, SlackCall
from support.inprocess import InProcessBot
from support.slack_requests import ALICE, BOB, CAROL, SignedClient

GROUP = "S0APPROVERS"
STRANGER = "U0STRANGER"
ACTORS = {"requester": ALICE, "approver": BOB, "non-approver": CAROL, "unknown": STRANGER}
REFUSAL_WORDS = ("only", "Only", "can't", "Can't")


@pytest.fixture(scope="module")
def matrix_bot(
    _bot_env_defaults: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InProcessBot]:
    """One bot for the whole table (in this process), with an approver group."""
    folder = tmp_path_factory.mktemp("matrix-bot")
    bot = InProcessBot(
        {
            **_bot_env_defaults,
            "APPROVER_USERGROUP": GROUP,
        },
        log_path=folder / "bot.log",
    )
    bot.start()
    yield bot
    bot.stop()


@pytest.fixture
def client(
    matrix_bot: InProcessBot, fake_slack: FakeSlack, db_backend: Database
) -> Iterator[SignedClient]:
    # The work an earlier case acknowledged must not land in this case's tables.
    matrix_bot.wait_idle()
    matrix_bot.clock.reset()
    truncate_all(db_backend.url)
    fake_slack.set_usergroup(GROUP, [ALICE, BOB])
    with SignedClient.for_bot(matrix_bot, fake_slack) as signed:
        yield signed


@dataclass
class World:
    bot: InProcessBot
    slack: SignedClient
    fake_slack: FakeSlack
    engine: Engine

    def command(self, text: str, user_id: str = ALICE) -> str:
        sent = self.slack.command(text, user_id=user_id)
        assert_acknowledged(sent)
        return reply_to(self.fake_slack, sent)

    # Alice's booking, brought to the state an action needs.
    def scheduled(self) -> str:
        text = self.command(f"schedule {PR} in 15 minutes for 45m")
        assert "Booked" in text, text
        return text.split("`")[1]

    def awaiting(self) -> str:
        short_id = self.scheduled()
        assert "Announced" in self.command(f"ready {short_id}")
        return short_id

    def approved(self) -> str:
        short_id = self.awaiting()
        self.slack.click(
            self.announcement(short_id), "approval_approve", f"{short_id}:0", user_id=BOB
        )
        dm_to(self.fake_slack, ALICE, "is approved")
        return short_id

    def startable(self) -> str:
        """Approved, and the bot's time in its start window (it was booked 15 minutes
        ahead)."""
        short_id = self.approved()
        self.bot.clock.advance(minutes=15)
        return short_id

    def deploying(self) -> str:
        short_id = self.startable()
        assert "is deploying" in self.command(f"start {short_id}")
        return short_id

    def failed(self) -> str:
        short_id = self.deploying()
        assert "Rollback checklist" in self.command(f"failed {short_id}")
        return short_id

    def announcement(self, short_id: str) -> SlackCall:
        return announcement(self.fake_slack, short_id)

    def status(self, short_id: str) -> str:
        return booking(self.engine, short_id).status


# -- the actions: (state to set up, what the actor does) -> what changed if allowed ------


@dataclass(frozen=True)
class Action:
    name: str
    rule: str  # "anyone", "requester", "requester-or-approver", "approver-not-requester"
    run: Callable[[World, str], tuple[str, bool]]  # (reply, whether it took effect)


def _status_action(setup: str, text: str, after: str) -> Callable[[World, str], tuple[str, bool]]:
    def run(world: World, actor: str) -> tuple[str, bool]:
        short_id = getattr(world, setup)()
        reply = world.command(text.format(id=short_id), user_id=actor)
        return reply, world.status(short_id) == after

    return run


def _schedule(world: World, actor: str) -> tuple[str, bool]:
    reply = world.command(f"schedule {PR} tomorrow 14:00 for 45m", user_id=actor)
    return reply, "Booked" in reply


def _plan(world: World, actor: str) -> tuple[str, bool]:
    reply = world.command(
        'plan rename #101 #102 #103 tomorrow 14:00 for 45m every 2d "Rename"', user_id=actor
    )
    with Session(world.engine) as session:
        plans = session.scalar(select(func.count()).select_from(DeployPlan))
    return reply, plans == 1


def _list(world: World, actor: str) -> tuple[str, bool]:
    short_id = world.scheduled()
    reply = world.command("list", user_id=actor)
    return reply, short_id in reply


def _history(world: World, actor: str) -> tuple[str, bool]:
    short_id = world.scheduled()
    reply = world.command(f"history {short_id}", user_id=actor)
    return reply, "booked it" in reply


def _edit(world: World, actor: str) -> tuple[str, bool]:
    short_id = world.scheduled()
    reply = world.command(f"edit {short_id} tomorrow 11:00", user_id=actor)
    return reply, "booking.edited" in [e.action for e in audit(world.engine, short_id)]


def _ready_button(world: World, actor: str) -> tuple[str, bool]:
    short_id = world.scheduled()
    sent = world.slack.block_action("booking_ready", short_id, user_id=actor)
    assert_acknowledged(sent)
    return reply_to(world.fake_slack, sent), world.status(short_id) == "awaiting_approval"


def _approve(world: World, actor: str) -> tuple[str, bool]:
    short_id = world.awaiting()
    sent = world.slack.click(
        world.announcement(short_id), "approval_approve", f"{short_id}:0", user_id=actor
    )
    assert_acknowledged(sent)
    if actor == BOB:
        dm_to(world.fake_slack, ALICE, "is approved")
        return "", world.status(short_id) == "approved"
    return reply_to(world.fake_slack, sent), world.status(short_id) == "approved"


def _request_changes(world: World, actor: str) -> tuple[str, bool]:
    short_id = world.awaiting()
    sent = world.slack.click(
        world.announcement(short_id), "approval_request_changes", f"{short_id}:0", user_id=actor
    )
    assert_acknowledged(sent)
    modal = world.fake_slack.wait_for(
        "views.open", lambda c: c.get("trigger_id") == sent.request.payload["trigger_id"]
    )
    submitted = world.slack.submit_view(modal, {"reason": "needs a backfill"}, user_id=actor)
    assert_acknowledged(submitted)
    if actor == BOB:
        dm_to(world.fake_slack, ALICE, "requested changes")
        reply = ""
    else:
        reply = dm_to(world.fake_slack, actor, "").all_text()
    return reply, world.status(short_id) == "scheduled"


ACTIONS = [
    Action("schedule", "anyone", _schedule),
    Action("plan", "anyone", _plan),
    Action("list", "anyone", _list),
    Action("history", "anyone", _history),
    Action("cancel", "requester", _status_action("scheduled", "cancel {id}", "cancelled")),
    Action("ready", "requester", _status_action("scheduled", "ready {id}", "awaiting_approval")),
    Action("Announce button", "requester", _ready_button),
    Action("edit", "requester", _edit),
    Action("start", "requester", _status_action("startable", "start {id}", "deploying")),
    Action("done", "requester-or-approver", _status_action("deploying", "done {id}", "landed")),
    Action("failed", "requester-or-approver", _status_action("deploying", "failed {id}", "failed")),
    Action(
        "rolledback",
        "requester-or-approver",
        _status_action("failed", "rolledback {id}", "rolled_back"),
    ),
    Action("Approve", "approver-not-requester", _approve),
    Action("Request changes", "approver-not-requester", _request_changes),
]


def allowed(rule: str, role: str) -> bool:
    return {
        "anyone": True,
        "requester": role == "requester",
        "requester-or-approver": role in ("requester", "approver"),
        "approver-not-requester": role == "approver",
    }[rule]


@pytest.mark.slow
@pytest.mark.parametrize("role", list(ACTORS))
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_authorization_matrix(
    matrix_bot: InProcessBot,
    client: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    action: Action,
    role: str,
) -> None:
    world = World(matrix_bot, client, fake_slack, db_engine)
    reply, took_effect = action.run(world, ACTORS[role])
    if allowed(action.rule, role):
        assert took_effect, f"{role} should be able to {action.name}: {reply}"
    else:
        assert not took_effect, f"{role} must not be able to {action.name}"
        assert any(word in reply for word in REFUSAL_WORDS), reply
