"""Posting the approval announcement and keeping it true.

The post and every update are recorded in the outbox in the transaction of the decision
that causes them (docs/adr/0019, amended): a decision that commits has its update on its
way, one that rolls back has none. Every use case that changes a booking holds the
booking's row lock first (docs/adr/0011), so an update rendered inside its transaction,
from that session's own state, shows exactly the revision that commits, and the updates
of one booking are recorded in commit order; the outbox sends them in that order and
collapses the stale ones. So no re-render after the commit is needed (the revision loop
this module used to run when it rendered in transactions of its own).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.approval import blocks
from bot.approval.service import AnnouncementView, announcement_view
from bot.booking.model import Booking
from bot.slack.outbox import Outbox

log = logging.getLogger(__name__)


# What the booked PRs' migrations do and the windows' override, for the announcement,
# read with the decision's session (bot/gate, bot/windows), or None.
Describer = Callable[[Session, Booking], str | None]


class Announcer:
    """The announcement's posts and updates go through the outbox (ADR 0019): in order
    in the channel, the updates of one booking collapsed to the latest while Slack is
    away, and an update recorded before its post was sent waits for it. Wired into the
    services that move a booking by the composition root; each calls it with the session
    of its transaction, the booking's row locked."""

    def __init__(
        self,
        outbox: Outbox,
        channel: str | None,
        required: int,
        describe: Describer | None = None,
    ) -> None:
        self.outbox = outbox
        self.channel = channel
        self.required = required
        self.describe = describe
        # The post's ts is recorded on the booking when Slack has taken it.
        outbox.on_posted(KEY_PREFIX, self._posted)

    def _render(self, session: Session, booking: Booking) -> tuple[str, list[dict[str, Any]]]:
        view: AnnouncementView = announcement_view(session, booking, self.required)
        operations = None
        if self.describe is not None:
            try:
                operations = self.describe(session, booking)
            except Exception:
                # The analysis is extra information: never let it stop the announcement
                # (an analysis stored by an older version that no longer reads, say). No
                # savepoint around it: SQLAlchemy tells a savepoint's release to the
                # session's after_commit listeners, and the outbox's and the gate's would
                # then act before the decision commits. A database error here fails the
                # decision, as any other in its transaction would.
                log.exception("could not describe the migrations of %s", booking.short_id)
        return blocks.announcement(view, operations)

    def posted(
        self,
        session: Session,
        booking: Booking,
        previous_channel: str | None,
        previous_ts: str | None,
    ) -> None:
        """Record a new announcement of `booking` (just announced), and mark the one it
        replaces, if Slack had taken it, as superseded. Nothing when there is no channel."""
        if previous_channel and previous_ts:
            text, message = blocks.superseded(booking.short_id)
            self.outbox.update(
                previous_channel, text, blocks=message, ts=previous_ts, session=session
            )
        if not self.channel:
            return
        text, message = self._render(session, booking)
        self.outbox.post(
            self.channel, text, blocks=message, key=announcement_key(booking.id), session=session
        )

    def changed(self, session: Session, booking: Booking) -> None:
        """Record an update of `booking`'s announcement to what `session` shows of it now
        (nothing if it was never announced). By the post's ts when Slack has taken it, else
        by its outbox key: the update then waits for its post."""
        key = announcement_key(booking.id)
        conversation, ts = booking.announcement_thread(self.channel)
        if not ts:
            # Not taken by Slack yet: the update waits behind the post, in its channel
            # (the channel configured now may be another).
            conversation = self.outbox.posted_to(key, session=session)
            if conversation is None:
                return
        text, message = self._render(session, booking)
        self.outbox.update(
            conversation,
            text,
            blocks=message,
            ts=ts,
            key=key,
            collapse_key=key,
            session=session,
        )

    def _posted(self, session: Session, key: str, channel: str, ts: str) -> None:
        session.execute(
            sa.update(Booking)
            .where(Booking.id == int(key.removeprefix(KEY_PREFIX)))
            .values(announcement_channel=channel, announcement_ts=ts)
        )


KEY_PREFIX = "announcement:"


def announcement_key(booking_id: int) -> str:
    """The outbox key of a booking's announcement: its updates follow the latest post."""
    return f"{KEY_PREFIX}{booking_id}"
