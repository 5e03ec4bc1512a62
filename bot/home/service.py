"""What the Home tab shows, read in one short transaction.

Every query is bounded twice: by a `starts_at` range (so the database walks only a slice
of `ix_booking_status_starts_at`) and by a LIMIT. One extra row is fetched past each
limit so the Home tab can say "and more" without counting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.approval.model import Approval, Decision
from bot.booking.model import ACTIVE_BOOKING, Booking
from bot.booking.rules import Status
from bot.db import Database, utcnow
from bot.idempotency import AlreadyProcessed, claim
from bot.plans.model import PlanStep


@dataclass(frozen=True)
class FreezeSummary:
    """The current freeze, as the Home tab shows it. The freeze package owns freezes;
    this is only the shape the Home tab needs, filled in by an adapter in the container."""

    branch: str
    since: datetime
    frozen_by: str | None = None  # Slack user id; None when the bot froze it itself
    reason: str | None = None
    booking_short_id: str | None = None  # the ES mapping change that holds the freeze


CurrentFreeze = Callable[[], FreezeSummary | None]


@dataclass(frozen=True)
class AlertSummary:
    """A tricky change that reached the branch or production unbooked, until someone
    acknowledges it (bot/releases owns them; this is the shape the Home tab shows)."""

    id: int
    text: str


OpenAlerts = Callable[[], list[AlertSummary]]


def no_alerts() -> list[AlertSummary]:
    return []


def no_freeze() -> FreezeSummary | None:
    """Stand-in until freezes exist: nothing is ever frozen."""
    return None


@dataclass(frozen=True)
class HomeEntry:
    booking: Booking
    approvals: int  # approvals counted in the booking's current round
    plan_step: int | None = None
    plan_steps: int | None = None


@dataclass(frozen=True)
class Listing:
    entries: list[HomeEntry]
    more: bool  # rows beyond the limit exist


@dataclass(frozen=True)
class HomeView:
    viewer_id: str
    mine: Listing
    to_approve: Listing
    week: Listing
    freeze: FreezeSummary | None
    required_approvals: int
    alerts: tuple[AlertSummary, ...] = ()
    # The current and next deploy window, in words (bot/windows); None: no windows.
    windows: str | None = None
    # Channel messages Slack refused for good lately, in words (bot/slack/outbox.py).
    undelivered: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlreadyShown:
    """The event was handled before (a Slack retry): nothing to publish."""


# How far back a booking may start and still be current. Slots last at most a working
# day, and a deploy that overruns its slot (status deploying) is still shown.
LOOKBACK = timedelta(days=2)
WEEK = timedelta(days=7)
MINE_LIMIT = 10
APPROVAL_LIMIT = 10
WEEK_LIMIT = 40


def _current(now: datetime) -> sa.ColumnElement[bool]:
    """Still worth showing: the slot has not ended, or the deploy is still running."""
    return sa.or_(Booking.ends_at > now, Booking.status == Status.DEPLOYING.value)


def mine_query(viewer_id: str, now: datetime, limit: int = MINE_LIMIT) -> sa.Select[Booking]:
    # There is no index on requester_id; the index of active bookings in start order
    # narrows the scan to current ones, and the requester is filtered among them.
    return (
        sa.select(Booking)
        .where(ACTIVE_BOOKING)
        .where(Booking.starts_at >= now - LOOKBACK)
        .where(_current(now))
        .where(Booking.requester_id == viewer_id)
        .order_by(Booking.starts_at, Booking.id)
        .limit(limit + 1)
    )


def to_approve_query(
    viewer_id: str, now: datetime, limit: int = APPROVAL_LIMIT
) -> sa.Select[Booking]:
    # The NOT EXISTS probe is answered by the approval table's unique
    # (booking_id, round, approver_id) index.
    already_approved = (
        sa.select(Approval.id)
        .where(Approval.booking_id == Booking.id)
        .where(Approval.round == Booking.approval_round)
        .where(Approval.approver_id == viewer_id)
        .where(Approval.decision == Decision.APPROVE.value)
        .exists()
    )
    return (
        sa.select(Booking)
        .where(Booking.status == Status.AWAITING_APPROVAL.value)
        .where(Booking.starts_at >= now - LOOKBACK)
        .where(Booking.ends_at > now)
        .where(Booking.requester_id != viewer_id)
        .where(~already_approved)
        .order_by(Booking.starts_at, Booking.id)
        .limit(limit + 1)
    )


def week_query(now: datetime, limit: int = WEEK_LIMIT) -> sa.Select[Booking]:
    return (
        sa.select(Booking)
        .where(ACTIVE_BOOKING)
        .where(Booking.starts_at >= now - LOOKBACK)
        .where(Booking.starts_at < now + WEEK)
        .where(_current(now))
        .order_by(Booking.starts_at, Booking.id)
        .limit(limit + 1)
    )


class HomeService:
    def __init__(
        self,
        database: Database,
        *,
        required_approvals: int,
        current_freeze: CurrentFreeze = no_freeze,
        open_alerts: OpenAlerts = no_alerts,
        now: Callable[[], datetime] = utcnow,
        window_line: Callable[[], str | None] | None = None,
        undelivered: Callable[[], list[str]] = list,
    ) -> None:
        self.database = database
        self.undelivered = undelivered
        self.required_approvals = required_approvals
        self.current_freeze = current_freeze
        self.open_alerts = open_alerts
        self.now = now
        self.window_line = window_line

    def home(self, viewer_id: str, *, event_key: str | None = None) -> HomeView | AlreadyShown:
        """The Home tab of `viewer_id`. With `event_key` (the Slack event id), a second
        delivery of the same event returns AlreadyShown instead of querying again."""
        now = self.now()
        try:
            with self.database.transaction() as session:
                if event_key is not None:
                    claim(session, event_key)
                mine = self._listing(session, mine_query(viewer_id, now), MINE_LIMIT)
                to_approve = self._listing(
                    session, to_approve_query(viewer_id, now), APPROVAL_LIMIT
                )
                week = self._listing(session, week_query(now), WEEK_LIMIT)
        except AlreadyProcessed:
            return AlreadyShown()
        # Asked after the transaction: the freeze package reads in its own transaction.
        return HomeView(
            viewer_id=viewer_id,
            mine=mine,
            to_approve=to_approve,
            week=week,
            freeze=self.current_freeze(),
            required_approvals=self.required_approvals,
            alerts=tuple(self.open_alerts()),
            windows=self.window_line() if self.window_line is not None else None,
            undelivered=tuple(self.undelivered()),
        )

    def _listing(self, session: Session, query: sa.Select[Booking], limit: int) -> Listing:
        rows = list(session.scalars(query))
        bookings = rows[:limit]
        ids = [b.id for b in bookings]
        approvals = _approval_counts(session, ids)
        steps = _plan_steps(session, ids)
        entries = [
            HomeEntry(
                booking=b,
                approvals=approvals.get(b.id, 0),
                plan_step=steps[b.id][0] if b.id in steps else None,
                plan_steps=steps[b.id][1] if b.id in steps else None,
            )
            for b in bookings
        ]
        return Listing(entries=entries, more=len(rows) > limit)


def _approval_counts(session: Session, booking_ids: Sequence[int]) -> dict[int, int]:
    if not booking_ids:
        return {}
    query = (
        sa.select(Approval.booking_id, sa.func.count())
        .join(Booking, Booking.id == Approval.booking_id)
        .where(Approval.booking_id.in_(booking_ids))
        .where(Approval.round == Booking.approval_round)
        .where(Approval.decision == Decision.APPROVE.value)
        .group_by(Approval.booking_id)
    )
    return {booking_id: int(count) for booking_id, count in session.execute(query)}


def _plan_steps(session: Session, booking_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """booking id -> (its step, the plan's number of steps), for bookings in a plan."""
    if not booking_ids:
        return {}
    mine = session.execute(
        sa.select(PlanStep.booking_id, PlanStep.plan_id, PlanStep.step).where(
            PlanStep.booking_id.in_(booking_ids)
        )
    ).all()
    if not mine:
        return {}
    totals_query = (
        sa.select(PlanStep.plan_id, sa.func.count())
        .where(PlanStep.plan_id.in_({plan_id for _, plan_id, _ in mine}))
        .group_by(PlanStep.plan_id)
    )
    totals = {plan_id: int(count) for plan_id, count in session.execute(totals_query)}
    return {booking_id: (step, totals[plan_id]) for booking_id, plan_id, step in mine}
