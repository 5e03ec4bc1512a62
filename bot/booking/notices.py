"""The deploy channel's notices about bookings, recorded in the outbox in the booking's
own transaction (docs/adr/0019): a booking that commits has its notice on its way, and
one that rolls back has none. Wired into BookingService by the composition root."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.booking import blocks
from bot.booking.model import Booking
from bot.slack.notices import ChannelNotices
from bot.slack.outbox import Outbox
from bot.windows.blocks import override_notice


class BookingNotices(ChannelNotices):
    def __init__(
        self,
        outbox: Outbox,
        channel: str | None,
        announcement: Callable[[Session, Booking], None] | None = None,
    ) -> None:
        super().__init__(outbox, channel)
        # Brings the booking's approval announcement up to date (a cancelled booking
        # loses its buttons), in the same transaction: bot/approval/announcer.py.
        self.announcement = announcement

    def booked(self, session: Session, booking: Booking, window_override: str | None) -> None:
        text, notice = blocks.booked_channel_notice(booking)
        self.notice(session, text, blocks=notice)
        if window_override is not None:
            # Booked outside the windows by an approver: said in the channel, with why.
            self.notice(
                session,
                override_notice(booking.short_id, booking.requester_id, window_override),
            )

    def cancelled(self, session: Session, booking: Booking, user_id: str) -> None:
        self.notice(
            session,
            blocks.cancelled_channel_notice(booking, user_id),
        )
        if self.announcement is not None:
            self.announcement(session, booking)
