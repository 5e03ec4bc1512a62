"""The deploy channel's notices of window changes and of an approver's override, recorded
in the outbox in the change's own transaction (docs/adr/0019): a change that commits has
its notice on its way, one that rolls back has none. Wired into WindowService by the
composition root. (A booking's own override, given when it is booked, is told by
BookingNotices with the booking.)"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.slack.notices import ChannelNotices
from bot.slack.outbox import Outbox
from bot.windows import blocks
from bot.windows.rules import Window


class WindowNotices(ChannelNotices):
    def __init__(
        self,
        outbox: Outbox,
        channel: str | None,
        announcement: Callable[[Session, Booking], None] | None = None,
    ) -> None:
        super().__init__(outbox, channel)
        # Brings the booking's approval announcement up to date (the approvers see the
        # override there), in the same transaction: bot/approval/announcer.py.
        self.announcement = announcement

    def added(self, session: Session, window: Window, user_id: str) -> None:
        self.notice(session, blocks.added_notice(window, user_id))

    def removed(self, session: Session, window: Window, user_id: str) -> None:
        self.notice(session, blocks.removed_notice(window, user_id))

    def overridden(self, session: Session, booking: Booking, user_id: str, reason: str) -> None:
        self.notice(
            session,
            blocks.override_notice(booking.short_id, user_id, reason),
        )
        if self.announcement is not None:
            self.announcement(session, booking)
