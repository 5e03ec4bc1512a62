"""Notices to the deploy channel (DEPLOY_CHANNEL): the base every package's notices
extend, which records them in the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.slack.outbox import Outbox


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
        """Record a notice to the deploy channel, or to `channel` (a thread's own), in
        `session`'s transaction; the outbox sends it once that commits, and the clock
        later if Slack does not take it then. Nothing when no channel is configured."""
        self.outbox.post(
            channel or self.channel,
            text,
            blocks=blocks,
            thread_ts=thread_ts,
            key=key,
            session=session,
        )
