"""The deploy windows' clock task: what must happen when a window opens or closes,
without waiting for anyone to do anything.

- At every window boundary, the `deploybot/deploy` statuses are rewritten through the
  gate service (a deploying change becomes mergeable, or is held, as the window says),
  once per boundary (a `sent_once` key), so GitHub is right without a new event.
- A blackout that opted in freezes FREEZE_BRANCH when it starts (once per occurrence: an
  approver who lifts it early is not overruled), and the clock lifts that freeze, and any
  `/deploy freeze ... until`, when its time comes.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.audit.model import SYSTEM_ACTOR
from bot.clock.sent_once import Due, deliver
from bot.freeze.enforcement import FreezeEnforcer
from bot.freeze.service import FreezeService, Frozen, Unfrozen
from bot.gate.service import GateService
from bot.windows.service import WindowService

log = logging.getLogger(__name__)


def run_windows(
    windows: WindowService,
    gate: GateService,
    freezes: FreezeService,
    enforcer: FreezeEnforcer,
    *,
    now: datetime,
) -> int:
    # The freezes' channel notices are recorded with them (bot/freeze/notices.py).
    done = _reevaluate_gate(windows, gate, now)
    done += _freeze_for_blackout(windows, freezes, enforcer, now)
    done += _scheduled_unfreezes(windows, freezes, enforcer, now)
    return done


def _reevaluate_gate(windows: WindowService, gate: GateService, now: datetime) -> int:
    if not gate.enabled:
        return 0
    boundary = windows.last_boundary(now)
    if boundary is None:
        return 0

    def send(_late: bool) -> None:
        gate.refresh_all()
        gate.sync()

    return deliver(
        windows.database, [Due(f"window:boundary:{boundary.isoformat()}", boundary, send)], now
    )


def _freeze_for_blackout(
    windows: WindowService,
    freezes: FreezeService,
    enforcer: FreezeEnforcer,
    now: datetime,
) -> int:
    occurrence = windows.blackout_to_freeze(now)
    if occurrence is None:
        return 0
    row_id = windows.claim_blackout(occurrence)
    if row_id is None:
        return 0
    outcome = freezes.freeze(
        user_id=SYSTEM_ACTOR, reason=f"Blackout: {occurrence.window.description}"
    )
    if not isinstance(outcome, Frozen):
        # Frozen already (by someone, for something): that freeze stays as it is.
        return 0
    windows.attach_freeze(row_id, outcome.freeze.id)
    enforcer.safe_enforce()
    return 1


def _scheduled_unfreezes(
    windows: WindowService,
    freezes: FreezeService,
    enforcer: FreezeEnforcer,
    now: datetime,
) -> int:
    done = 0
    for freeze_id in windows.due_unfreezes(now):
        outcome = freezes.unfreeze(user_id=SYSTEM_ACTOR, user_is_approver=True, freeze_id=freeze_id)
        # Lifted by someone already, or another freeze is on: either way nothing is left
        # for this schedule to do.
        windows.mark_unfrozen(freeze_id)
        if isinstance(outcome, Unfrozen):
            enforcer.safe_enforce()
            done += 1
    return done
