"""Posting the approval announcement and keeping it true.

Several decisions can land at once (two approvers click together). Each one ends with
`sync`: render what the database says now, record a `chat.update` in the outbox, and
check that the booking's revision did not move meanwhile; if it did, render again. The
outbox sends updates in the order recorded, so whichever reaches Slack last was
rendered from the latest revision and the message converges to the truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.approval import blocks
from bot.approval.service import AnnouncementView, ApprovalService
from bot.booking.model import Booking
from bot.slack.outbox import Outbox

log = logging.getLogger(__name__)

MAX_SYNC_ROUNDS = 5


# What the booked PRs' migrations do, for the announcement (bot/gate), or None.
Describer = Callable[[Booking], str | None]


class Announcer:
    """The announcement's posts and updates go through the outbox (ADR 0019): in order
    in the channel, the updates of one booking collapsed to the latest while Slack is
    away, and an update recorded before its post was sent waits for it."""

    def __init__(
        self,
        service: ApprovalService,
        outbox: Outbox,
        channel: str | None,
        describe: Describer | None = None,
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.channel = channel
        self.describe = describe
        # The post's ts is recorded on the booking when Slack has taken it.
        outbox.on_posted(KEY_PREFIX, self._posted)

    def _render(self, view: AnnouncementView) -> tuple[str, list[dict[str, Any]]]:
        operations = None
        if self.describe is not None:
            try:
                operations = self.describe(view.booking)
            except Exception:
                # The analysis is extra information: never let it stop the announcement.
                log.exception("could not describe the migrations of %s", view.booking.short_id)
        return blocks.announcement(view, operations)

    def post(self, view: AnnouncementView) -> None:
        """Post a new announcement (nothing when there is no channel)."""
        if not self.channel:
            return
        text, message = self._render(view)
        self.outbox.post(self.channel, text, blocks=message, key=announcement_key(view.booking.id))
        # A decision may have happened between rendering and recording the post; make
        # sure the message shows it.
        self.sync(view.booking.short_id, rendered_revision=view.revision)

    def _posted(self, session: Session, key: str, channel: str, ts: str) -> None:
        session.execute(
            sa.update(Booking)
            .where(Booking.id == int(key.removeprefix(KEY_PREFIX)))
            .values(announcement_channel=channel, announcement_ts=ts)
        )

    def sync(self, short_id: str, rendered_revision: int | None = None) -> None:
        """Bring the announcement to what the database says now. Each round records an
        update rendered from the booking's revision and checks that the revision did not
        move meanwhile; the outbox sends them in the order recorded, so the last one
        Slack gets was rendered from the latest revision."""
        for _ in range(MAX_SYNC_ROUNDS):
            view = self.service.view(short_id)
            if view is None or rendered_revision == view.revision:
                return
            key = announcement_key(view.booking.id)
            ts = view.booking.announcement_ts
            if not ts and not self.outbox.has_post(key):
                return
            text, message = self._render(view)
            self.outbox.update(
                view.booking.announcement_channel or self.channel,
                text,
                blocks=message,
                ts=ts,
                key=key,
                collapse_key=key,
            )
            rendered_revision = view.revision
            if self.service.revision(view.booking.id) == rendered_revision:
                return
        log.warning("announcement of %s kept changing; giving up for now", short_id)

    def mark_superseded(self, channel: str | None, ts: str | None, short_id: str) -> None:
        if not channel or not ts:
            return
        text, message = blocks.superseded(short_id)
        self.outbox.update(channel, text, blocks=message, ts=ts)


KEY_PREFIX = "announcement:"


def announcement_key(booking_id: int) -> str:
    """The outbox key of a booking's announcement: its updates follow the latest post."""
    return f"{KEY_PREFIX}{booking_id}"
