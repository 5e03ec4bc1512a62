"""What the ES mapping-change runbook adds to a deploy's lifecycle: freeze and checklist
when it starts, STUCK THE LANDING! and the unfreeze when it lands, unfreeze on abort.

Service layer (docs/adr/0017): called by the lifecycle flows whoever moved the booking
(a Slack command, a Heroku or GitHub webhook, the clock)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.booking.rules import Kind
from bot.freeze.flows import BookingFreezes
from bot.runbook.notices import CHECKLIST_KEY, RunbookNotices
from bot.runbook.service import RunbookService, record_message
from bot.slack.outbox import Outbox


class RunbookFlows:
    """The `…ing` methods run in the deploy move's own transaction (the lifecycle flows
    call them from DeployService's `notify`), so that what they record stands or falls
    with the move (docs/adr/0019); the others run after it has committed."""

    def __init__(
        self,
        service: RunbookService,
        freezes: BookingFreezes,
        outbox: Outbox,
        notices: RunbookNotices,
        repo_of_app: Callable[[str], str | None],
    ) -> None:
        self.service = service
        self.freezes = freezes
        self.notices = notices
        outbox.on_posted(CHECKLIST_KEY, self._posted)
        # The repository of a booked app (GITHUB_REPO, or the app's own with APPS).
        self.repo_of_app = repo_of_app

    def starting(self, session: Session, booking: Booking) -> None:
        """The checklist opens, and its post is recorded, with the start."""
        if booking.kind == Kind.ES_MAPPING.value:
            self.service.open(session, booking)

    def started(self, booking: Booking, user_id: str) -> None:
        if booking.kind != Kind.ES_MAPPING.value:
            return
        self.freezes.freeze_for_booking(
            user_id=user_id,
            booking_short_id=booking.short_id,
            reason=f"ES mapping change `{booking.short_id}` in progress: {booking.title}",
            exempt_pulls=self._own_pulls(booking),
            request_key=f"runbook-freeze:{booking.short_id}:{booking.started_at}",
        )

    def _posted(self, session: Session, key: str, channel: str, ts: str) -> None:
        record_message(session, int(key.removeprefix(CHECKLIST_KEY)), channel, ts)

    def landing(self, session: Session, booking: Booking) -> None:
        # Recorded with the landing: the unfreeze follows it at once (`landed`).
        if booking.kind == Kind.ES_MAPPING.value:
            self.notices.landed(session, booking)

    def landed(self, booking: Booking) -> None:
        if booking.kind == Kind.ES_MAPPING.value:
            self.freezes.unfreeze_for_booking(booking_short_id=booking.short_id)

    def failing(self, session: Session, booking: Booking) -> None:
        if booking.kind == Kind.ES_MAPPING.value:
            self.notices.aborted(session, booking)

    def failed(self, booking: Booking) -> None:
        if booking.kind == Kind.ES_MAPPING.value:
            self.freezes.unfreeze_for_booking(booking_short_id=booking.short_id)

    def _own_pulls(self, booking: Booking) -> list[int]:
        """The booked change's PRs in its app's repository stay mergeable."""
        repo = (self.repo_of_app(booking.app) or "").lower()
        return [pr.number for pr in booking.pull_request_refs if pr.repo.lower() == repo]
