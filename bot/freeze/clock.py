"""The freeze's clock tasks: remind whoever froze the branch, and keep GitHub's commit
statuses in line with the database when an earlier attempt could not reach GitHub."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.audit.model import SYSTEM_ACTOR
from bot.clock.sent_once import Due, deliver
from bot.freeze import blocks
from bot.freeze.enforcement import FreezeEnforcer
from bot.freeze.service import DueReminder, FreezeService
from bot.slack.outbox import Outbox

log = logging.getLogger(__name__)


def send_freeze_reminders(
    service: FreezeService,
    outbox: Outbox,
    *,
    every: timedelta,
    fallback_channel: str | None,
    now: datetime,
) -> int:
    """Send each due reminder once (keys `freeze:{id}:remind:{n}`), to the person who
    froze the branch by direct message."""

    def due(item: DueReminder) -> Due:
        def send(late: bool) -> None:
            # The freeze may have been lifted since the due list was read.
            if not service.is_still_active(item.freeze.id):
                return
            text, message = blocks.reminder(item.freeze, every, late=late)
            # A freeze the bot placed itself has nobody to DM: remind the channel.
            channel = item.freeze.frozen_by
            if channel == SYSTEM_ACTOR:
                channel = fallback_channel or channel
            # The outbox sends it at the end of this tick, or once Slack answers again.
            outbox.post(channel, text, blocks=message, send_now=False)

        return Due(item.key, item.due_at, send)

    return deliver(service.database, [due(item) for item in service.due_reminders(now, every)], now)


def sync_freeze_statuses(enforcer: FreezeEnforcer) -> int:
    """Finish any sweep a freeze change left pending and post unsynced statuses."""
    return enforcer.enforce().total
