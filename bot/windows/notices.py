"""The deploy channel's notices of window changes and of an approver's override, recorded
in the outbox in the change's own transaction (docs/adr/0019): a change that commits has
its notice on its way, one that rolls back has none. Wired into WindowService by the
composition root. (A booking's own override, given when it is booked, is told by
BookingNotices with the booking.)"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.slack.notices import post_notice
from bot.slack.outbox import Outbox
from bot.windows import blocks
from bot.windows.rules import Window


class WindowNotices:
    def __init__(self, outbox: Outbox, channel: str | None) -> None:
        self.outbox = outbox
        self.channel = channel

    def added(self, session: Session, window: Window, user_id: str) -> None:
        post_notice(
            self.outbox, self.channel, blocks.added_notice(window, user_id), session=session
        )

    def removed(self, session: Session, window: Window, user_id: str) -> None:
        post_notice(
            self.outbox, self.channel, blocks.removed_notice(window, user_id), session=session
        )

    def overridden(self, session: Session, booking: Booking, user_id: str, reason: str) -> None:
        post_notice(
            self.outbox,
            self.channel,
            blocks.override_notice(booking.short_id, user_id, reason),
            session=session,
        )
