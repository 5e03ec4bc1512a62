"""What a deploy's moves tell the deploy channel: started, landed, failed (the rollback
checklist, in the announcement's thread), rolled back, edited. Recorded in the outbox in
the move's own transaction (docs/adr/0019); rendering is bot/deploys/blocks.py's, the
flows that call these are bot/lifecycle/flows.py's."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.deploys import blocks
from bot.deploys.rules import Via
from bot.slack.notices import ChannelNotices


class DeployNotices(ChannelNotices):
    def started(self, session: Session, booking: Booking, user_id: str) -> None:
        self.notice(session, blocks.started_notice(booking, user_id))

    def landed(self, session: Session, booking: Booking, user_id: str, via: Via | None) -> None:
        self.notice(session, blocks.landed_notice(booking, user_id, via))

    def failed(self, session: Session, booking: Booking, via: Via | None) -> None:
        # The on-call people read it under the announcement, in the announcement's own
        # channel whatever DEPLOY_CHANNEL says by now.
        channel, thread_ts = booking.announcement_thread(self.channel)
        self.notice(
            session, blocks.failure_notice(booking, via), thread_ts=thread_ts, channel=channel
        )

    def rolled_back(self, session: Session, booking: Booking, user_id: str) -> None:
        self.notice(session, blocks.rolled_back_notice(booking, user_id))

    def edited(self, session: Session, booking: Booking, user_id: str, voided: bool) -> None:
        self.notice(session, blocks.edited_notice(booking, user_id, voided))
