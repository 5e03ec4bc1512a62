"""Runbook use cases: open the checklist, check off a step (in order), read it back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.audit.model import record
from bot.booking.model import Booking
from bot.booking.rules import Kind, Status
from bot.booking.service import locked_booking, normalize_short_id
from bot.db import Database, utcnow

# Part of this service's outcomes, so re-exported from here too.
from bot.outcomes import Refused as Refused
from bot.runbook.model import RunbookChecklist, RunbookStep
from bot.runbook.rules import STEPS, check_step_refusal, landing_refusal


@dataclass(frozen=True)
class RunbookView:
    booking: Booking
    done: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    channel: str | None = None
    message_ts: str | None = None

    @property
    def complete(self) -> bool:
        return len(self.done) == len(STEPS)


@dataclass(frozen=True)
class Checked:
    view: RunbookView


def done_steps(session: Session, booking_id: int) -> set[int]:
    return set(
        session.scalars(sa.select(RunbookStep.step).where(RunbookStep.booking_id == booking_id))
    )


def landing_guard(session: Session, booking: Booking) -> str | None:
    """Why this booking may not land yet (injected into the deploy service)."""
    if booking.kind != Kind.ES_MAPPING.value:
        return None
    return landing_refusal(done_steps(session, booking.id))


class Notices(Protocol):
    """The checklist's post and updates (bot/runbook/notices.py), recorded in the
    transaction of the change they show (docs/adr/0019)."""

    def checklist_opened(self, session: Session, view: RunbookView) -> None: ...

    def checklist_changed(self, session: Session, view: RunbookView) -> None: ...


class RunbookService:
    def __init__(
        self,
        database: Database,
        now: Callable[[], datetime] = utcnow,
        notices: Notices | None = None,
    ) -> None:
        self.database = database
        self.now = now
        self.notices = notices

    def open(self, session: Session, booking: Booking) -> None:
        """Open the booking's checklist in the caller's transaction (the deploy's
        start), its post recorded with it; a checklist already open is left alone."""
        if session.get(RunbookChecklist, booking.id) is not None:
            return
        session.add(RunbookChecklist(booking_id=booking.id, opened_at=self.now()))
        session.flush()
        if self.notices is not None:
            # The start's booking stays in its session: the view is not expunged.
            self.notices.checklist_opened(session, self._read_view(session, booking))

    def check_off(self, short_id: str, step: int, *, user_id: str) -> Checked | Refused:
        with self.database.transaction() as session:
            booking = locked_booking(session, short_id)
            if booking is None:
                return Refused(f"there is no booking `{normalize_short_id(short_id)}`")
            if booking.kind != Kind.ES_MAPPING.value:
                return Refused("only ES mapping changes have a runbook")
            if booking.status != Status.DEPLOYING.value:
                return Refused(f"it is {Status(booking.status).label}, not deploying")
            refusal = check_step_refusal(step, done_steps(session, booking.id))
            if refusal is not None:
                return Refused(refusal)
            now = self.now()
            session.add(RunbookStep(booking_id=booking.id, step=step, done_by=user_id, done_at=now))
            booking.touch()
            record(
                session,
                actor_id=user_id,
                action="runbook.step_done",
                entity_type="booking",
                entity_id=booking.short_id,
                after={"step": step, "what": STEPS[step - 1]},
                at=now,
            )
            session.flush()
            view = self._view(session, booking)
            if self.notices is not None:
                self.notices.checklist_changed(session, view)
            return Checked(view)

    def view(self, short_id: str) -> RunbookView | None:
        with self.database.transaction() as session:
            booking = session.scalars(
                sa.select(Booking).where(Booking.short_id == normalize_short_id(short_id))
            ).first()
            return None if booking is None else self._view(session, booking)

    def _view(self, session: Session, booking: Booking) -> RunbookView:
        """The view, its booking detached from the session (kept after it ends)."""
        view = self._read_view(session, booking)
        session.expunge(booking)
        return view

    def _read_view(self, session: Session, booking: Booking) -> RunbookView:
        steps = session.scalars(
            sa.select(RunbookStep).where(RunbookStep.booking_id == booking.id)
        ).all()
        checklist = session.get(RunbookChecklist, booking.id)
        return RunbookView(
            booking=booking,
            done={s.step: (s.done_by, s.done_at) for s in steps},
            channel=checklist.channel if checklist else None,
            message_ts=checklist.message_ts if checklist else None,
        )


def record_message(session: Session, booking_id: int, channel: str, ts: str) -> None:
    """Where a booking's checklist was posted (once Slack has taken it)."""
    session.execute(
        sa.update(RunbookChecklist)
        .where(RunbookChecklist.booking_id == booking_id)
        .values(channel=channel, message_ts=ts)
    )
