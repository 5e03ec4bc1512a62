"""`/deploy plan rename|retype|remove PR… WHEN [for DURATION] [every INTERVAL] "Title"`."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.booking.blocks import refusal_text
from bot.booking.parsing import (
    ParseDefaults,
    ScheduleParseError,
    ZoneUnknown,
    parse_duration,
    parse_schedule_text,
)
from bot.booking.rules import Problem
from bot.plans import blocks
from bot.plans.rules import (
    DEFAULT_INTERVAL,
    EXAMPLE,
    check_pull_request_count,
    parse_plan_kind,
    step_requests,
)
from bot.plans.service import PlanBooked, PlanConflict, PlanDuplicate, PlanRefused, PlanService
from bot.settings import Settings
from bot.slack.commands import CommandContext, CommandRouter
from bot.slack.listeners import Listeners
from bot.slack.users import ZONE_UNKNOWN_TEXT, UserZones

_EVERY = re.compile(r"\bevery\s+(\S+)", re.IGNORECASE)


class PlanSlack:
    def __init__(
        self,
        service: PlanService,
        settings: Settings,
        zones: UserZones,
    ) -> None:
        self.service = service
        self.settings = settings
        self.zones = zones

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
        router.add(
            "plan",
            self.plan,
            usage="/deploy plan rename|retype|remove PR… WHEN …",
            summary="book the ordered steps of a backward-incompatible migration",
        )

    def _refuse(self, ctx: CommandContext, problems: list[Problem]) -> None:
        ctx.reply(
            refusal_text(problems).replace(
                refusal_text([]).splitlines()[-1], f"Example: `{EXAMPLE}`"
            )
        )

    def plan(self, ctx: CommandContext) -> None:
        kind_text, _, rest = ctx.args.partition(" ")
        problems: list[Problem] = []
        try:
            kind = parse_plan_kind(kind_text)
        except ValueError as exc:
            self._refuse(ctx, [Problem("kind", str(exc))])
            return
        interval = DEFAULT_INTERVAL
        if match := _EVERY.search(rest):
            try:
                interval = parse_duration(match.group(1))
            except ValueError as exc:
                problems.append(Problem("interval", str(exc), "every 1d"))
            rest = rest[: match.start()] + rest[match.end() :]
        tz = self.zones.zone(ctx.client, ctx.user_id)
        defaults = ParseDefaults(
            app=self.settings.default_app,
            repo=self.settings.github_repo,
            duration=timedelta(minutes=self.settings.default_duration_minutes),
        )
        try:
            request = parse_schedule_text(
                rest, tz=tz, now=self.service.bookings.now(), defaults=defaults
            )
        except ScheduleParseError as exc:
            self._refuse(ctx, problems + exc.problems)
            return
        except ZoneUnknown:
            ctx.reply(f"No plan booked: {ZONE_UNKNOWN_TEXT}")
            return
        if count_problem := check_pull_request_count(kind, request.pull_requests):
            problems.append(Problem("pull_requests", count_problem))
        if problems:
            self._refuse(ctx, problems)
            return
        steps = step_requests(
            kind,
            app=request.app,
            title=request.title,
            pull_requests=request.pull_requests,
            first_start=request.starts_at,
            duration=request.duration,
            interval=interval,
            rollback_plan=request.rollback_plan,
        )
        outcome = self.service.book_plan(
            kind,
            request.title,
            steps,
            requester_id=ctx.user_id,
            origin_channel_id=ctx.channel_id,
            request_key=ctx.request_key,
        )
        match outcome:
            case PlanBooked(plan, booked):
                # The channel's notice was recorded with the plan (PlanNotices), also
                # when this is a repeated run whose reply never went out (docs/adr/0018).
                if ctx.reply(blocks.booked_text(plan, booked)):
                    self.service.answered(ctx.request_key)
            case PlanRefused(refused):
                self._refuse(ctx, refused)
            case PlanConflict(step, conflicting, next_slot):
                ctx.reply(blocks.conflict_text(step, conflicting, next_slot))
            case PlanDuplicate():
                pass
