"""Builds the Bolt app and lets each domain package register its listeners."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from slack_bolt import App, BoltResponse

from bot.approval.slack import ApprovalSlack
from bot.booking.slack import BookingSlack
from bot.container import Container
from bot.db import POOL_SIZE
from bot.deploys.slack import DeploySlack
from bot.freeze.slack import FreezeSlack
from bot.gate.slack import GateSlack
from bot.home.slack import HomeSlack
from bot.plans.blocks import progress_note
from bot.plans.slack import PlanSlack
from bot.releases.slack import ReleaseSlack
from bot.runbook.slack import RunbookSlack
from bot.slack.commands import CommandRouter
from bot.slack.handoff import ChannelSender, DurableHandOff
from bot.slack.listeners import Listeners
from bot.slack.work_table import WorkTable
from bot.windows.slack import WindowSlack

# Threads for deferred Slack work per process: as many as the database connections the
# process keeps open, so work waits for a thread, never for a connection.
LISTENER_THREADS = POOL_SIZE


def build_bolt_app(
    container: Container,
    *,
    work_channel: socket.socket | None = None,
    work_here: Callable[[int], None] | None = None,
    record_work: bool = False,
    verify_requests: bool = True,
    listener_executor: Executor | None = None,
) -> App:
    """The bot's Bolt app. A web worker passes `work_channel` to record the work behind
    each acknowledgement in the database for the work processes, and tell them about it
    on the channel (docs/adr/0018); a process that does the work on threads of its own
    (WORK_PROCESSES=0, Socket Mode) passes `work_here` instead, which is given each
    recorded row's id (bot/slack/work_threads.py). A work process builds it
    with `verify_requests=False`, since it only dispatches requests its web workers have
    already verified and passed on through a local socket (their signatures' five-minute
    window may have passed by the time a backlog is worked off). `record_work` without a
    `work_channel` records the work and tells nobody: `deploybot work` on a dyno of its
    own finds it in the database (WORK_ON_WEB=false, docs/adr/0020). `listener_executor`
    runs the work in this process; the in-process tests give one that can tell when it is
    idle."""
    settings = container.settings
    if work_channel is not None:
        work_here = ChannelSender(work_channel).tell
    # A process that records the work registers no lazy functions: the work runs from
    # the recorded request, in a work process, on the work threads or on a worker dyno,
    # never straight from the acknowledgement (bot/slack/listeners.py).
    recording = record_work or work_here is not None
    app = App(
        client=container.slack,
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=verify_requests,
        # Every listener is an acknowledgement that runs on the request thread and touches
        # neither the database nor Slack, plus lazy work that runs on the executor after
        # the answer has gone (docs/adr/0012). So a slow or unreachable database can delay
        # the work but never the acknowledgement, however many requests are stuck.
        process_before_response=True,
        listener_executor=listener_executor
        or ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack-work"),
    )
    if recording:
        table = WorkTable(container.database, lease=timedelta(seconds=settings.work_lease_seconds))
        app.use(DurableHandOff(table, work_here))
    app.error(_answer_malformed_requests)
    router = CommandRouter()
    # Bolt tries the listeners in the order they were added, and trying one costs about as
    # much as a tenth of the whole acknowledgement (it builds the listener's arguments
    # afresh for each matcher). So `/deploy`, which every command comes through, goes
    # first, then the clicks (bot/slack/listeners.py); the subcommands the packages add
    # below are looked up when a command arrives.
    listeners = Listeners(app, with_work=not recording)
    router.register(listeners)
    plans = container.plans

    def plan_notes(booking_ids: list[int]) -> dict[int, str]:
        return {bid: progress_note(p) for bid, p in plans.progress(booking_ids).items()}

    BookingSlack(
        container.bookings,
        settings,
        annotate=plan_notes,
        guess_kind=lambda refs: container.gate.booking_kind(refs),
        window_state=container.windows.state,
        zones=container.zones,
    ).register(listeners, router)
    PlanSlack(plans, settings, container.zones).register(listeners, router)
    ApprovalSlack(container.approvals, settings).register(listeners, router)
    FreezeSlack(
        container.freezes,
        container.freeze_enforcer,
        settings,
        schedule_end=container.windows.schedule_unfreeze,
        scheduled_end=container.windows.scheduled_end,
        zones=container.zones,
    ).register(listeners, router)
    RunbookSlack(container.runbooks).register(listeners, router)
    DeploySlack(container.flows, settings, container.zones).register(listeners, router)
    GateSlack(container.gate, settings).register(listeners, router)
    HomeSlack(container.home, settings).register(listeners, router)
    ReleaseSlack(container.releases).register(listeners, router)
    WindowSlack(container.windows, settings).register(listeners, router)
    listeners.install()
    return app


log = logging.getLogger(__name__)

# What reading a body that is not shaped as Slack's documented payloads raises.
MALFORMED = (KeyError, IndexError, TypeError, AttributeError, ValueError)


def _answer_malformed_requests(error: Exception, body: Any) -> BoltResponse | None:
    """A listener's acknowledgement that trips over a payload Slack never sends (missing
    fields, wrong types) answers 400 instead of 500; anything else stays a 500. Work after
    the acknowledgement never reaches this (run_reporting_database_outage handles it)."""
    if isinstance(error, MALFORMED):
        log.warning("malformed Slack payload: %s: %s", type(error).__name__, error)
        return BoltResponse(status=400, body="")
    log.error("Slack listener failed", exc_info=error)
    return None
