"""Freezes that a booked change places and lifts (an ES mapping change freezes master
while it deploys): the service-layer flow, called the same way whether the deploy was
started by a Slack command, a webhook or the clock (docs/adr/0017)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.audit.model import SYSTEM_ACTOR
from bot.freeze.enforcement import FreezeEnforcer
from bot.freeze.service import (
    FreezeOutcome,
    FreezeService,
    Frozen,
    UnfreezeOutcome,
    Unfrozen,
)


class BookingFreezes:
    def __init__(self, service: FreezeService, enforcer: FreezeEnforcer) -> None:
        self.service = service
        self.enforcer = enforcer

    def freeze_for_booking(
        self,
        *,
        user_id: str,
        booking_short_id: str,
        reason: str,
        exempt_pulls: Iterable[int] = (),
        request_key: str | None = None,
    ) -> FreezeOutcome:
        """Freeze the branch for a booked change: announce it, then put the failing
        status on every open pull request except `exempt_pulls`. Runs after any
        acknowledgement; GitHub work happens inside."""
        outcome = self.service.freeze(
            user_id=user_id,
            reason=reason,
            booking_short_id=booking_short_id,
            exempt_pulls=exempt_pulls,
            request_key=request_key,
        )
        # A repeated request (docs/adr/0018) posted its notice the first time.
        # Its channel notice was recorded with it (bot/freeze/notices.py).
        if isinstance(outcome, Frozen) and not outcome.repeated:
            self.enforcer.safe_enforce()
        return outcome

    def unfreeze_for_booking(
        self,
        *,
        booking_short_id: str,
        user_id: str = SYSTEM_ACTOR,
        request_key: str | None = None,
    ) -> UnfreezeOutcome:
        """Lift the freeze that `booking_short_id` placed (never someone else's freeze:
        then OtherFreeze comes back and nothing changes), announce it, and turn the
        statuses green."""
        outcome = self.service.unfreeze(
            user_id=user_id,
            user_is_approver=True,
            booking_short_id=booking_short_id,
            request_key=request_key,
        )
        if isinstance(outcome, Unfrozen) and not outcome.repeated:
            self.enforcer.safe_enforce()
        return outcome
