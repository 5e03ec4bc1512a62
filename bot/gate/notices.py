"""The deploy channel's notice that an approver marked a pull request routine
(`/deploy allow`), recorded in the outbox in the allowance's own transaction
(docs/adr/0019): an allowance that commits has its notice on its way, one that rolls
back has none. Wired into GateService by the composition root."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.gate import blocks
from bot.gate.service import GateView
from bot.slack.notices import ChannelNotices


class GateNotices(ChannelNotices):
    def allowed(self, session: Session, view: GateView, user_id: str, reason: str) -> None:
        self.notice(
            session,
            blocks.allowed_notice(view, user_id, reason),
        )
