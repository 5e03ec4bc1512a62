"""The clock's task list: each domain package contributes its own tasks here."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.clock.runner import ClockTask
from bot.container import Container
from bot.freeze.clock import send_freeze_reminders, sync_freeze_statuses
from bot.gate.clock import run_gate
from bot.idempotency import ProcessedRequest
from bot.reminders.clock import BookingClock
from bot.runbook.clock import RunbookClock
from bot.windows.clock import run_windows

# Slack retries within minutes; a week of idempotency keys is plenty.
KEEP_PROCESSED_REQUESTS = timedelta(days=7)


def prune_processed_requests(container: Container, now: datetime) -> int:
    with container.database.transaction() as session:
        result = session.execute(
            sa.delete(ProcessedRequest).where(
                ProcessedRequest.processed_at < now - KEEP_PROCESSED_REQUESTS
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def build_tasks(container: Container) -> list[ClockTask]:
    settings = container.settings
    bookings = BookingClock(
        container.database,
        container.outbox,
        container.announcer,
        channel=settings.deploy_channel,
        required_approvals=settings.required_approvals,
        max_duration=timedelta(minutes=settings.max_duration_minutes),
        expire_after=timedelta(hours=settings.expire_after_hours),
    )
    slack = container.slack
    outbox = container.outbox
    runbooks = RunbookClock(container.database, outbox, settings.deploy_channel)
    reminder_every = timedelta(hours=settings.freeze_reminder_hours)
    return [
        # First: what Slack did not take earlier goes out before anything new.
        ClockTask("slack-outbox", outbox.deliver_due),
        ClockTask("booking-reminders", bookings.send_reminders),
        ClockTask("booking-expiry", bookings.expire),
        ClockTask("es-next-day-cleanup", runbooks.next_day_reminders),
        ClockTask("prune-processed-requests", lambda now: prune_processed_requests(container, now)),
        ClockTask("prune-outbox", outbox.prune),
        # PR titles and labels GitHub could not give when a review app reported itself.
        ClockTask("review-app-pr-details", container.review_apps.complete_pr_details),
        ClockTask(
            "freeze-reminders",
            lambda now: send_freeze_reminders(
                container.freezes,
                outbox,
                every=reminder_every,
                fallback_channel=settings.deploy_channel,
                now=now,
            ),
        ),
        ClockTask("freeze-statuses", lambda now: sync_freeze_statuses(container.freeze_enforcer)),
        # Analyses GitHub could not serve (down, rate limited), statuses it refused, and
        # the channel messages about tricky PRs.
        ClockTask("deploy-gate", lambda now: run_gate(container.gate, slack, settings)),
        # Releases that could not be matched yet (GitHub down, the merge webhook late),
        # and deploy alerts Slack did not take.
        ClockTask("releases", lambda now: container.releases.process_due()),
        ClockTask("deploy-alerts", lambda now: container.releases.post_alerts()),
        # Window boundaries: gate statuses, blackout freezes, scheduled unfreezes.
        ClockTask(
            "deploy-windows",
            lambda now: run_windows(
                container.windows,
                container.gate,
                container.freezes,
                container.freeze_enforcer,
                now=now,
            ),
        ),
        # Last: what this tick recorded (reminders) goes out now, not at the next tick.
        ClockTask("slack-outbox-tick", outbox.deliver_due),
    ]
