"""What following merges and releases tells the deploy channel: a released ES mapping
change that waits for its checklist, a release's notes (both in the announcement's
thread, in the announcement's own channel), and the alerts about tricky changes shipped
without a booking, with who acknowledged them. Recorded in the outbox in the transaction
of the change they tell of (docs/adr/0019); rendering is bot/releases/blocks.py's."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.deploys.rules import Via
from bot.releases import blocks
from bot.releases.model import DeployAlert
from bot.slack.notices import ChannelNotices

# Outbox keys of the messages whose ts is kept: a release's notes, a deploy alert.
NOTES_KEY = "release-notes:"
ALERT_KEY = "deploy-alert:"


class ReleaseNotices(ChannelNotices):
    def awaiting_checklist(self, session: Session, booking: Booking, via: Via) -> None:
        channel, thread_ts = booking.announcement_thread(self.channel)
        self.notice(
            session,
            blocks.awaiting_checklist_text(booking.short_id, via.description),
            thread_ts=thread_ts,
            channel=channel,
        )

    def release_notes(
        self, session: Session, release_id: int, text: str, booking: Booking | None
    ) -> None:
        """Under the announcement of the booking the release lands, else in the channel;
        its ts becomes the release's `notes_ts` once Slack has it."""
        channel, thread_ts = (
            booking.announcement_thread(self.channel)
            if booking is not None
            else (self.channel, None)
        )
        self.notice(
            session, text, thread_ts=thread_ts, key=f"{NOTES_KEY}{release_id}", channel=channel
        )

    def alert(self, session: Session, alert: DeployAlert) -> None:
        """Its ts becomes the alert's `message_ts` once Slack has it."""
        self.notice(
            session,
            alert.text,
            blocks=blocks.alert_blocks(alert.id, alert.text, None),
            key=f"{ALERT_KEY}{alert.id}",
            channel=alert.channel,
        )

    def alert_acknowledged(self, session: Session, alert: DeployAlert, user_id: str) -> None:
        """The alert's message says who acknowledged it: by its ts once Slack has the
        alert, else by its outbox key, so the update waits for the post."""
        if not alert.channel or alert.message_ts is None:
            return  # never posted
        self.outbox.update(
            alert.channel,
            alert.text,
            blocks=blocks.alert_blocks(alert.id, alert.text, user_id),
            ts=alert.message_ts or None,
            key=f"{ALERT_KEY}{alert.id}",
            session=session,
        )
