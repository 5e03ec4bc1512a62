"""Slack surface of running deploys: `/deploy start|done|failed|rolledback|edit|history`."""

from __future__ import annotations

import re

from bot.booking.lifecycle import Action
from bot.booking.parsing import EDIT_EXAMPLE, ScheduleParseError, ZoneUnknown, parse_edit_text
from bot.booking.rules import Status
from bot.deploys import blocks
from bot.deploys.service import Already, Changes, Done, NotFound, OutsideWindow, Refused
from bot.lifecycle.flows import DeployFlows
from bot.settings import Settings
from bot.slack.commands import CommandContext, CommandRouter
from bot.slack.format import mention
from bot.slack.limits import OVERRIDE_REASON_MAX
from bot.slack.listeners import Listeners
from bot.slack.users import ZONE_UNKNOWN_TEXT, UserZones, is_approver
from bot.windows.blocks import outside_start_text

_OVERRIDE = re.compile(r"--override\b\s*(.*)$", re.S)


class DeploySlack:
    """Parses `/deploy start|done|failed|rolledback|edit|history` and renders the replies;
    what follows each move is the lifecycle flows' (bot/lifecycle/flows.py)."""

    def __init__(self, flows: DeployFlows, settings: Settings, zones: UserZones) -> None:
        self.flows = flows
        self.service = flows.deploys
        self.settings = settings
        self.zones = zones

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
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
        outcome = self.flows.start(short_id, user_id=ctx.user_id, override_reason=override_reason)
        if not isinstance(outcome, Done):
            self._refused(ctx, outcome, "start it")
            return
        booking = outcome.booking
        ctx.reply(
            f"`{booking.short_id}` is deploying. When it is out, `/deploy done "
            f"{booking.short_id}`; if it goes wrong, `/deploy failed {booking.short_id}`."
        )

    # -- done / failed / rolled back -------------------------------------------------------

    def _finish(self, ctx: CommandContext, action: Action, example: str, verb: str) -> None:
        short_id = self._id(ctx, example)
        if short_id is None:
            return
        # Slack could not tell (None): not as an approver; the requester still may.
        may_act = is_approver(ctx.client, self.settings.approver_usergroup, ctx.user_id) is True
        outcome = self.flows.finish(short_id, user_id=ctx.user_id, may_act=may_act, action=action)
        if isinstance(outcome, Already):
            # A Heroku release (or someone else) got there first: say so, change nothing.
            how = outcome.how or (f"by {mention(outcome.by)}" if outcome.by else "")
            ctx.reply(
                f"`{outcome.booking.short_id}` is already "
                f"{Status(outcome.booking.status).label}{f' ({how})' if how else ''}; "
                "nothing to do."
            )
            return
        if not isinstance(outcome, Done):
            self._refused(ctx, outcome, verb)
            return
        booking = outcome.booking
        if action is Action.LAND:
            ctx.reply(f"`{booking.short_id}` landed. Nicely done.")
        elif action is Action.FAIL:
            ctx.reply(blocks.failure_notice(booking))
        else:
            ctx.reply(f"`{booking.short_id}` is recorded as rolled back.")

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
        tz = self.zones.zone(ctx.client, ctx.user_id)
        # `#123` is a PR of the booked app's repository (APPS), else GITHUB_REPO.
        current = self.service.booking(short_id) if self.settings.apps else None
        app = self.settings.app_named(current.app) if current is not None else None
        repo = app.repo if app is not None else self.settings.github_repo
        try:
            request = parse_edit_text(rest, tz=tz, now=self.service.now(), repo=repo)
        except ScheduleParseError as exc:
            ctx.reply(
                "Not changed: "
                + " ".join(p.message for p in exc.problems)
                + f"\nExample: `{EDIT_EXAMPLE}`"
            )
            return
        except ZoneUnknown:
            ctx.reply(f"Not changed: {ZONE_UNKNOWN_TEXT}")
            return
        outcome = self.flows.edit(
            short_id,
            user_id=ctx.user_id,
            changes=Changes(request.starts_at, request.duration, request.pull_requests),
        )
        if not isinstance(outcome, Done):
            self._refused(ctx, outcome, "change it")
            return
        ctx.reply(blocks.edited_notice(outcome.booking, ctx.user_id, outcome.voided))

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
