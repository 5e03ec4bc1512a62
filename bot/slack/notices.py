"""Notices to the deploy channel (DEPLOY_CHANNEL), the one place every package posts them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.slack.outbox import Outbox


def post_notice(
    outbox: Outbox,
    channel: str | None,
    text: str,
    *,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
    key: str | None = None,
    session: Session | None = None,
) -> None:
    """Post a notice to `channel` (the deploy channel); nothing when none is configured.

    A notice goes through the outbox (ADR 0019): recorded in the bot's database (in
    `session`'s transaction when given, its owner then delivers it after the commit),
    sent at once when Slack answers, and by the clock later when it does not. It never
    raises into the work that has already succeeded."""
    outbox.post(channel, text, blocks=blocks, thread_ts=thread_ts, key=key, session=session)


class ChannelNotices:
    """The base of each package's notices to the deploy channel (BookingNotices,
    FreezeNotices, …), recorded in the outbox in the transaction of the change they tell
    of (docs/adr/0019). Subclasses render; `notice` records."""

    def __init__(self, outbox: Outbox, channel: str | None) -> None:
        self.outbox = outbox
        self.channel = channel

    def notice(
        self,
        session: Session,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        key: str | None = None,
        channel: str | None = None,
    ) -> None:
        """Record a notice to the deploy channel, or to `channel` (a thread's own)."""
        post_notice(
            self.outbox,
            channel or self.channel,
            text,
            blocks=blocks,
            thread_ts=thread_ts,
            key=key,
            session=session,
        )
