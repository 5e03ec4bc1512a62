"""What the ES mapping-change runbook tells the deploy channel, recorded in the outbox in
the transaction of the change it tells of (docs/adr/0019): the checklist with the
deploy's start, its update with the step checked off, STUCK THE LANDING! and the abort
notice with the landing or the failure. Wired into RunbookService and RunbookFlows by the
composition root; rendering is bot/runbook/blocks.py's."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.runbook import blocks
from bot.runbook.service import RunbookView
from bot.slack.notices import ChannelNotices

# The checklist's post: its ts is recorded once Slack has it (RunbookFlows._posted).
CHECKLIST_KEY = "runbook-checklist:"


class RunbookNotices(ChannelNotices):
    def checklist_opened(self, session: Session, view: RunbookView) -> None:
        text, checklist = blocks.checklist(view)
        channel, thread_ts = view.booking.announcement_thread(self.channel)
        self.notice(
            session,
            text,
            blocks=checklist,
            thread_ts=thread_ts,
            key=f"{CHECKLIST_KEY}{view.booking.id}",
            channel=channel,
        )

    def checklist_changed(self, session: Session, view: RunbookView) -> None:
        key = f"{CHECKLIST_KEY}{view.booking.id}"
        conversation: str | None
        ts: str | None = None
        if view.channel and view.message_ts:
            conversation, ts = view.channel, view.message_ts
        else:
            # Slack has not taken the checklist yet (ts unknown): the update names the
            # post's key, and waits behind it in the post's channel (docs/adr/0019).
            conversation = self.outbox.posted_to(key, session=session)
            if conversation is None:
                # Never posted (no deploy channel), or Slack refused it for good.
                return
        text, checklist = blocks.checklist(view)
        # Quick clicks while Slack is away collapse to the checklist's last state, by key
        # or by ts alike.
        self.outbox.update(
            conversation,
            text,
            blocks=checklist,
            ts=ts,
            key=key,
            collapse_key=key,
            session=session,
        )

    def landed(self, session: Session, booking: Booking) -> None:
        self.notice(session, blocks.stuck_the_landing(booking))

    def aborted(self, session: Session, booking: Booking) -> None:
        channel, thread_ts = booking.announcement_thread(self.channel)
        self.notice(session, blocks.aborted(booking), thread_ts=thread_ts, channel=channel)
