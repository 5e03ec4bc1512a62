"""Moving a booking along its lifecycle: the one place that asks the lifecycle table
(bot/booking/lifecycle.py) for the next status, changes the row and writes the audit
entry, so no service can move a booking the table does not allow, or without a record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bot.audit.model import record
from bot.booking.lifecycle import Action, next_status
from bot.booking.model import Booking
from bot.booking.rules import Status


def transition(
    session: Session,
    booking: Booking,
    action: Action,
    *,
    actor_id: str,
    at: datetime,
    reason: str | None = None,
    also: Callable[[Booking], None] | None = None,
    audit_action: str | None = None,
) -> Status:
    """Apply `action` to the locked `booking` in the caller's transaction, with the audit
    entry `audit_action` (by default `booking.<new status>`). `also` makes the changes
    that go with it (a finish time, say), so the entry's "after" shows them. Raises
    TransitionRefused, changing nothing, when the lifecycle does not allow it."""
    status = next_status(booking.status, action)
    before = booking.snapshot()
    booking.status = status.value
    if also is not None:
        also(booking)
    booking.touch()
    session.flush()
    record(
        session,
        actor_id=actor_id,
        action=audit_action or f"booking.{status.value}",
        entity_type="booking",
        entity_id=booking.short_id,
        before=before,
        after=booking.snapshot(),
        reason=reason,
        at=at,
    )
    return status
