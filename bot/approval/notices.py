"""The requester's DMs about decisions on their deploy, recorded in the outbox in the
decision's own transaction (docs/adr/0019). Wired into ApprovalService by the
composition root."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.approval.service import AnnouncementView
from bot.booking.model import Booking
from bot.slack.format import mention
from bot.slack.outbox import Outbox


class DecisionNotices:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def approved(self, session: Session, view: AnnouncementView) -> None:
        booking = view.booking
        self.outbox.post(
            booking.requester_id,
            f":white_check_mark: `{booking.short_id}` ({booking.title}) is approved by "
            f"{', '.join(mention(a) for a in view.approvers)}. Start it when its slot comes "
            f"with `/deploy start {booking.short_id}`.",
            session=session,
        )

    def changes_requested(
        self, session: Session, booking: Booking, reviewer_id: str, reason: str
    ) -> None:
        self.outbox.post(
            booking.requester_id,
            f":hand: {mention(reviewer_id)} requested changes on `{booking.short_id}` "
            f"({booking.title}): {reason}\nApprovals so far are void. When it's ready, "
            f"announce it again with `/deploy ready {booking.short_id}`.",
            session=session,
        )
