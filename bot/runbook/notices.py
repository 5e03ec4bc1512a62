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
        self.notice(
            session,
            text,
            blocks=checklist,
            thread_ts=view.booking.announcement_ts,
            key=f"{CHECKLIST_KEY}{view.booking.id}",
        )

    def checklist_changed(self, session: Session, view: RunbookView) -> None:
        if not (view.channel and view.message_ts):
            # Slack has not taken the checklist yet (ts unknown): as before the outbox,
            # this step shows with the next one checked off after it is posted.
            return
        text, checklist = blocks.checklist(view)
        # Quick clicks while Slack is away collapse to the checklist's last state.
        self.outbox.update(
            view.channel,
            text,
            blocks=checklist,
            ts=view.message_ts,
            collapse_key=f"runbook-checklist:{view.message_ts}",
            session=session,
        )

    def landed(self, session: Session, booking: Booking) -> None:
        self.notice(session, blocks.stuck_the_landing(booking))

    def aborted(self, session: Session, booking: Booking) -> None:
        self.notice(
            session,
            blocks.aborted(booking),
            thread_ts=booking.announcement_ts,
        )
