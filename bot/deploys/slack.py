"""Slack surface of running deploys: `/deploy start|done|failed|rolledback|edit|history`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from slack_bolt import App
from slack_sdk import WebClient

from bot.approval.announcer import Announcer
from bot.booking.lifecycle import Action
from bot.booking.model import Booking
from bot.booking.parsing import EDIT_EXAMPLE, ScheduleParseError, parse_edit_text
from bot.deploys import blocks
from bot.deploys.rules import rollback_checklist
from bot.deploys.service import Changes, DeployService, Done, NotFound, OutsideWindow, Refused
from bot.settings import Settings
from bot.slack.commands import CommandContext, CommandRouter
from bot.slack.limits import OVERRIDE_REASON_MAX
from bot.slack.notices import post_notice
from bot.slack.users import is_approver, user_timezone
from bot.windows.blocks import outside_start_text

_OVERRIDE = re.compile(r"--override\b\s*(.*)$", re.S)


class DeployHooks(Protocol):
    """What other packages add to the lifecycle (the ES runbook freezes master on start,
    unfreezes it on landing or failure). Called after the change is committed."""

    def started(self, client: WebClient, booking: Booking, user_id: str) -> None: ...

    def landed(self, client: WebClient, booking: Booking, user_id: str) -> None: ...

    def failed(self, client: WebClient, booking: Booking, user_id: str) -> None: ...


class DeploySlack:
    def __init__(
        self,
        service: DeployService,
        announcer: Announcer,
        settings: Settings,
        hooks: Sequence[DeployHooks] = (),
    ) -> None:
        self.service = service
        self.announcer = announcer
        self.settings = settings
        self.hooks = hooks

    def register(self, app: App, router: CommandRouter) -> None:
        router.add(
            "start",
            self.start,
            usage="/deploy start ID",
            summary="start your approved deploy when its slot comes",
        )
        router.add("done", self.done, usage="/deploy done ID", summary="the deploy landed")
        router.add(
            "failed",
            self.failed,
            usage="/deploy failed ID",
            summary="the deploy failed: posts the rollback checklist",
        )
        router.add(
            "rolledback",
            self.rolled_back,
            usage="/deploy rolledback ID",
            summary="a failed deploy was rolled back",
        )
        router.add(
            "edit",
            self.edit,
            usage="/deploy edit ID [WHEN] [for DURATION] [PR…]",
            summary="move or change your booking (voids its approvals)",
        )
        router.add(
            "history",
            self.history,
            usage="/deploy history ID",
            summary="every decision and change on a booking",
        )

    def _id(self, ctx: CommandContext, example: str) -> str | None:
        short_id = ctx.args.split()[0] if ctx.args else ""
        if not short_id:
            ctx.reply(f"Say which booking, e.g. `{example}` (`/deploy list` shows the ids).")
            return None
        return short_id

    def _refused(
        self, ctx: CommandContext, outcome: Refused | NotFound | OutsideWindow, verb: str
    ) -> None:
        if isinstance(outcome, NotFound):
            ctx.reply(f"There is no booking `{outcome.short_id}`; `/deploy list` shows the ids.")
        elif isinstance(outcome, OutsideWindow):
            short_id = ctx.args.split()[0].upper() if ctx.args else "B7K2Q"
            ctx.reply(f"Can't {verb}: {outside_start_text(short_id, outcome)}")
        else:
            ctx.reply(f"Can't {verb}: {outcome.reason}.")

    # -- start -------------------------------------------------------------------------

    def start(self, ctx: CommandContext) -> None:
        short_id = self._id(ctx, "/deploy start B7K2Q")
        if short_id is None:
            return
        override_reason = None
        if match := _OVERRIDE.search(ctx.args):
            override_reason = match.group(1).strip().strip('"“”')
            if len(override_reason) > OVERRIDE_REASON_MAX:
                # Bounded so the override notice fits Slack's limits; nothing is started.
                ctx.reply(
                    f"Not started: keep the override reason under {OVERRIDE_REASON_MAX} "
                    f"characters. Example: `/deploy start {short_id} --override "
                    '"site down, fix must ship now"`'
                )
                return
        outcome = self.service.start(short_id, user_id=ctx.user_id, override_reason=override_reason)
        if not isinstance(outcome, Done):
            self._refused(ctx, outcome, "start it")
            return
        booking = outcome.booking
        ctx.reply(
            f"`{booking.short_id}` is deploying. When it is out, `/deploy done "
            f"{booking.short_id}`; if it goes wrong, `/deploy failed {booking.short_id}`."
        )
        post_notice(
            ctx.client, self.settings.deploy_channel, blocks.started_notice(booking, ctx.user_id)
        )
        self.announcer.sync(ctx.client, booking.short_id)
        for hook in self.hooks:
            hook.started(ctx.client, booking, ctx.user_id)

    # -- done / failed / rolled back -------------------------------------------------------

    def _finish(self, ctx: CommandContext, action: Action, example: str, verb: str) -> None:
        short_id = self._id(ctx, example)
        if short_id is None:
            return
        may_act = is_approver(ctx.client, self.settings.approver_usergroup, ctx.user_id)
        outcome = self.service.finish(short_id, user_id=ctx.user_id, may_act=may_act, action=action)
        if not isinstance(outcome, Done):
            self._refused(ctx, outcome, verb)
            return
        booking = outcome.booking
        if action is Action.LAND:
            ctx.reply(f"`{booking.short_id}` landed. Nicely done.")
            post_notice(
                ctx.client, self.settings.deploy_channel, blocks.landed_notice(booking, ctx.user_id)
            )
            for hook in self.hooks:
                hook.landed(ctx.client, booking, ctx.user_id)
        elif action is Action.FAIL:
            checklist = rollback_checklist(booking.app, booking.short_id, booking.rollback_plan)
            ctx.reply(checklist)
            post_notice(
                ctx.client,
                self.settings.deploy_channel,
                checklist,
                thread_ts=booking.announcement_ts,
            )
            for hook in self.hooks:
                hook.failed(ctx.client, booking, ctx.user_id)
        else:
            ctx.reply(f"`{booking.short_id}` is recorded as rolled back.")
            post_notice(
                ctx.client,
                self.settings.deploy_channel,
                blocks.rolled_back_notice(booking, ctx.user_id),
            )
        self.announcer.sync(ctx.client, booking.short_id)

    def done(self, ctx: CommandContext) -> None:
        self._finish(ctx, Action.LAND, "/deploy done B7K2Q", "mark it landed")

    def failed(self, ctx: CommandContext) -> None:
        self._finish(ctx, Action.FAIL, "/deploy failed B7K2Q", "mark it failed")

    def rolled_back(self, ctx: CommandContext) -> None:
        self._finish(ctx, Action.ROLL_BACK, "/deploy rolledback B7K2Q", "mark it rolled back")

    # -- edit and history ----------------------------------------------------------------

    def edit(self, ctx: CommandContext) -> None:
        short_id = self._id(ctx, EDIT_EXAMPLE)
        if short_id is None:
            return
        rest = ctx.args[len(short_id) :].strip()
        tz = user_timezone(ctx.client, ctx.user_id)
        try:
            request = parse_edit_text(
                rest, tz=tz, now=self.service.now(), repo=self.settings.github_repo
            )
        except ScheduleParseError as exc:
            ctx.reply(
                "Not changed: "
                + " ".join(p.message for p in exc.problems)
                + f"\nExample: `{EDIT_EXAMPLE}`"
            )
            return
        outcome = self.service.edit(
            short_id,
            user_id=ctx.user_id,
            changes=Changes(request.starts_at, request.duration, request.pull_requests),
        )
        if not isinstance(outcome, Done):
            self._refused(ctx, outcome, "change it")
            return
        booking = outcome.booking
        notice = blocks.edited_notice(booking, ctx.user_id, outcome.voided)
        ctx.reply(notice)
        post_notice(ctx.client, self.settings.deploy_channel, notice)
        if outcome.voided:
            self.announcer.sync(ctx.client, booking.short_id)

    def history(self, ctx: CommandContext) -> None:
        short_id = self._id(ctx, "/deploy history B7K2Q")
        if short_id is None:
            return
        entries = self.service.history(short_id)
        if entries is None:
            ctx.reply(f"There is no booking `{short_id.upper()}`.")
            return
        booking = self.service.booking(short_id)
        history = blocks.history_text(short_id.upper(), entries)
        # Messages about a booking cut its long fields and point here, so this shows all of
        # it, as plain text (whose limit, 40,000 characters, the bounded inputs stay far
        # below) rather than in a section block (3,000).
        ctx.reply(history if booking is None else f"{blocks.details_text(booking)}\n\n{history}")
