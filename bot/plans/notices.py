"""The deploy channel's notice of a booked migration plan, recorded in the outbox in the
plan's own transaction (docs/adr/0019): a plan that commits has its notice on its way,
one that rolls back (a clash, a window) has none. Wired into PlanService by the
composition root."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.plans import blocks
from bot.plans.model import DeployPlan
from bot.slack.notices import ChannelNotices


class PlanNotices(ChannelNotices):
    def booked(self, session: Session, plan: DeployPlan, steps: list[Booking]) -> None:
        self.notice(session, blocks.booked_text(plan, steps))
