"""The deploy channel's notice of a booked migration plan, recorded in the outbox in the
plan's own transaction (docs/adr/0019): a plan that commits has its notice on its way,
one that rolls back (a clash, a window) has none. Wired into PlanService by the
composition root."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.plans import blocks
from bot.plans.model import DeployPlan
from bot.slack.notices import post_notice
from bot.slack.outbox import Outbox


class PlanNotices:
    def __init__(self, outbox: Outbox, channel: str | None) -> None:
        self.outbox = outbox
        self.channel = channel

    def booked(self, session: Session, plan: DeployPlan, steps: list[Booking]) -> None:
        post_notice(self.outbox, self.channel, blocks.booked_text(plan, steps), session=session)
