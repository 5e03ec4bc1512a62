"""The deploy channel's notices of window changes and of an approver's override, recorded
in the outbox in the change's own transaction (docs/adr/0019): a change that commits has
its notice on its way, one that rolls back has none. Wired into WindowService by the
composition root. (A booking's own override, given when it is booked, is told by
BookingNotices with the booking.)"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.slack.notices import ChannelNotices
from bot.windows import blocks
from bot.windows.rules import Window


class WindowNotices(ChannelNotices):
    def added(self, session: Session, window: Window, user_id: str) -> None:
        self.notice(session, blocks.added_notice(window, user_id))

    def removed(self, session: Session, window: Window, user_id: str) -> None:
        self.notice(session, blocks.removed_notice(window, user_id))

    def overridden(self, session: Session, booking: Booking, user_id: str, reason: str) -> None:
        self.notice(
            session,
            blocks.override_notice(booking.short_id, user_id, reason),
        )
