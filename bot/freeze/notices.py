"""The deploy channel's notices of freezes, recorded in the outbox in the freeze's own
transaction (docs/adr/0019), whoever froze or lifted it: a command, a booked ES change,
a blackout window, a scheduled end. Wired into FreezeService by the composition root."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.freeze import blocks
from bot.freeze.model import Freeze
from bot.slack.notices import ChannelNotices


class FreezeNotices(ChannelNotices):
    def frozen(self, session: Session, freeze: Freeze) -> None:
        text, notice = blocks.freeze_notice(freeze)
        self.notice(session, text, blocks=notice)

    def unfrozen(self, session: Session, freeze: Freeze) -> None:
        self.notice(session, blocks.unfreeze_notice(freeze))
