"""The deploy channel's notice that an approver marked a pull request routine
(`/deploy allow`), recorded in the outbox in the allowance's own transaction
(docs/adr/0019): an allowance that commits has its notice on its way, one that rolls
back has none. Wired into GateService by the composition root."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.gate import blocks
from bot.gate.service import GateView
from bot.slack.notices import post_notice
from bot.slack.outbox import Outbox


class GateNotices:
    def __init__(self, outbox: Outbox, channel: str | None) -> None:
        self.outbox = outbox
        self.channel = channel

    def allowed(self, session: Session, view: GateView, user_id: str, reason: str) -> None:
        post_notice(
            self.outbox,
            self.channel,
            blocks.allowed_notice(view, user_id, reason),
            session=session,
        )
