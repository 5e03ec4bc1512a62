"""What the load generator sends: one scenario per kind of Slack request.

A scenario has two halves. `prepare` runs in the orchestrator (it may talk to the running
bot and the fake Slack) and returns plain JSON parameters, or raises `Skip` with a note for
the report. `requester` runs in the load process and turns those parameters into a
function from a request number to the exact request Slack would send. Adding a scenario
means adding one `Scenario` to `SCENARIOS`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.paths import REPO_ROOT, use_test_support

use_test_support()

from support.slack_requests import (  # noqa: E402 (needs the path set up above)
    SlackRequest,
    block_action,
    slash_command,
)

if TYPE_CHECKING:
    from support.fake_slack import FakeSlack

Requester = Callable[[int], SlackRequest]

# Bench users: requesters book, approvers click. None of them is the requester of a
# booking they approve.
REQUESTERS = [f"U0BENCHR{n:02d}" for n in range(20)]
APPROVERS = [f"U0BENCHA{n:02d}" for n in range(20)]
CHANNEL = "C0BENCH01"
DEPLOY_CHANNEL = "C0DEPLOY01"

# Bookings are spread over this many apps, one hour apart per app, so every
# `/deploy schedule` of a run asks for a free slot (none conflicts).
SCHEDULE_APPS = 100
SLOT = timedelta(hours=1)

# The Approve button's action_id. The approval flow is being built on main; set
# BENCH_APPROVE_ACTION_ID if it lands under another name.
APPROVE_ACTION_ID = os.environ.get("BENCH_APPROVE_ACTION_ID", "approval_approve")


class Skip(Exception):
    """The scenario cannot run against this build; the message goes in the report."""


@dataclass
class PrepareContext:
    fake: FakeSlack
    # Sends one request to the target and returns the HTTP status.
    send: Callable[[SlackRequest], int]
    target: str  # "deploybot" or "baseline"
    # Scenario-specific state kept between levels (e.g. the next free slot).
    state: dict[str, Any] = field(default_factory=dict)
    # State shared by every target's context (e.g. the messages both targets' clicks
    # come from).
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    # Every acknowledged request is followed by exactly one POST to its response URL,
    # so the harness can tell when the bot has finished the work behind the acks.
    expects_response: bool
    # Whether the baseline runs it too. The baseline acks every command alike, so the
    # commands share its `list` figures (see BASELINE_FOR).
    on_baseline: bool
    prepare: Callable[[PrepareContext, int], dict[str, Any]]
    requester: Callable[[dict[str, Any]], Requester]


def _response_url(params: dict[str, Any], index: int) -> str:
    return f"{params['fake_url']}/response/{params['tag']}-{index}"


# -- /deploy schedule -----------------------------------------------------------------


def _prepare_schedule(ctx: PrepareContext, budget: int) -> dict[str, Any]:
    """Reserve `budget` slots (the most this level can send) after those used so far."""
    base = ctx.state.setdefault(
        "schedule_base",
        (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0),
    )
    first = ctx.state.get("schedule_next", 0)
    ctx.state["schedule_next"] = first + budget
    # 180 days is the bot's booking horizon.
    if (first + budget) // SCHEDULE_APPS * SLOT > timedelta(days=178):
        raise Skip("ran out of free slots within the booking horizon; lower the duration")
    return {"base": base.timestamp(), "first": first}


def _schedule_requester(params: dict[str, Any]) -> Requester:
    base = datetime.fromtimestamp(params["base"], UTC)

    def make(index: int) -> SlackRequest:
        slot = params["first"] + index
        app = f"bench-app-{slot % SCHEDULE_APPS:02d}"
        starts = base + (slot // SCHEDULE_APPS) * SLOT
        text = (
            f"schedule app:{app} https://github.com/bench/site/pull/{slot + 1} "
            f'{starts:%Y-%m-%d %H:%M} for 30m "Bench booking {slot}" '
            'rollback:"migrate back, redeploy master"'
        )
        return slash_command(
            text,
            user_id=REQUESTERS[index % len(REQUESTERS)],
            channel_id=CHANNEL,
            response_url=_response_url(params, index),
        )

    return make


# -- /deploy list ---------------------------------------------------------------------


def _prepare_nothing(ctx: PrepareContext, budget: int) -> dict[str, Any]:
    return {}


def _list_requester(params: dict[str, Any]) -> Requester:
    def make(index: int) -> SlackRequest:
        return slash_command(
            "list",
            user_id=REQUESTERS[index % len(REQUESTERS)],
            channel_id=CHANNEL,
            response_url=_response_url(params, index),
        )

    return make


# -- Approve clicks -------------------------------------------------------------------


def approval_flow_present() -> bool:
    """Whether the bot's code defines a control with APPROVE_ACTION_ID."""
    pattern = re.compile(rf"""["']{re.escape(APPROVE_ACTION_ID)}["']""")
    return any(
        pattern.search(path.read_text(encoding="utf-8"))
        for path in Path(REPO_ROOT, "bot").rglob("*.py")
    )


def _prepare_approve(ctx: PrepareContext, budget: int) -> dict[str, Any]:
    if not approval_flow_present():
        raise Skip(
            f"no Approve button yet: no control with action_id `{APPROVE_ACTION_ID}` in bot/ "
            "(set BENCH_APPROVE_ACTION_ID if it has another name)"
        )
    # Both targets get the same clicks, byte for byte, on deploybot's real announcements.
    # Bolt's own cost grows with the body (it decodes and parses all of it, the message
    # included), and a made-up click without a message, a third smaller, once made the
    # baseline's Approve cheaper than the bot's for reasons that had nothing to do with
    # the bot. deploybot is prepared first (run_scenario), so it makes the announcements.
    messages = ctx.shared.get("approve_messages")
    if messages is None:
        if ctx.target != "deploybot":
            raise Skip("the baseline's clicks are deploybot's; run deploybot first")
        messages = _announcements(ctx)
        ctx.shared["approve_messages"] = messages
    return {"messages": messages}


def _announcements(ctx: PrepareContext) -> list[dict[str, Any]]:
    """Book a few deploys and collect the bot's messages that carry an Approve button."""
    from support.slack_requests import find_element

    base = (datetime.now(UTC) + timedelta(days=179)).replace(minute=0, second=0, microsecond=0)
    for n in range(40):
        starts = base - n * SLOT
        ctx.send(
            slash_command(
                f"schedule app:bench-approve https://github.com/bench/site/pull/{90000 + n} "
                f'{starts:%Y-%m-%d %H:%M} for 30m "Approve me {n}" rollback:"redeploy master"',
                user_id=REQUESTERS[n % len(REQUESTERS)],
                channel_id=CHANNEL,
                response_url=f"{ctx.fake.url}/response/approve-setup-{n}",
            )
        )
    ctx.fake.wait_for_count("response_url", 40, timeout=60)
    # Announce each booking (`/deploy ready ID`, by its requester) so the bot posts the
    # approval message with its Approve button.
    for n in range(40):
        [reply] = [c for c in ctx.fake.calls("response_url") if c.target == f"approve-setup-{n}"]
        text = reply.all_text()
        if "Booked" not in text:
            continue
        ctx.send(
            slash_command(
                f"ready {text.split('`')[1]}",
                user_id=REQUESTERS[n % len(REQUESTERS)],
                channel_id=CHANNEL,
                response_url=f"{ctx.fake.url}/response/approve-ready-{n}",
            )
        )
    ctx.fake.wait_for_count(
        "chat.postMessage", 1, lambda c: "approval needed" in c.all_text(), timeout=60
    )
    found = []
    for message in ctx.fake.messages(DEPLOY_CHANNEL):
        try:
            find_element(message.get("blocks") or [], APPROVE_ACTION_ID)
        except LookupError:
            continue
        found.append({"channel": DEPLOY_CHANNEL, "message": message})
    if not found:
        raise Skip(
            f"booking posted no message with an `{APPROVE_ACTION_ID}` button; teach "
            "bench/scenarios.py:_announcements how a booking gets announced"
        )
    return found


def _approve_requester(params: dict[str, Any]) -> Requester:
    messages: list[dict[str, Any]] = params["messages"]

    def make(index: int) -> SlackRequest:
        user = APPROVERS[index % len(APPROVERS)]
        posted = messages[index % len(messages)]
        return block_action(
            APPROVE_ACTION_ID,
            user_id=user,
            channel_id=posted["channel"],
            message=posted["message"],
            response_url=_response_url(params, index),
        )

    return make


SCENARIOS: list[Scenario] = [
    Scenario(
        "schedule",
        "`/deploy schedule …` (one-line form, a free slot each)",
        expects_response=True,
        on_baseline=False,
        prepare=_prepare_schedule,
        requester=_schedule_requester,
    ),
    Scenario(
        "list",
        "`/deploy list`",
        expects_response=True,
        on_baseline=True,
        prepare=_prepare_nothing,
        requester=_list_requester,
    ),
    Scenario(
        "approve",
        "Approve button click",
        expects_response=False,
        on_baseline=True,
        prepare=_prepare_approve,
        requester=_approve_requester,
    ),
]

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}

# Which baseline scenario each deploybot scenario is compared with.
BASELINE_FOR = {"schedule": "list", "list": "list", "approve": "approve"}
