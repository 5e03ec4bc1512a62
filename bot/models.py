"""Imports every model so that `Base.metadata` is complete (for alembic and tests)."""

from bot.approval.model import Approval
from bot.audit.model import AuditEntry
from bot.booking.model import Booking
from bot.clock.lease import Lease
from bot.clock.sent_once import SentNotification
from bot.db import Base
from bot.freeze.model import Freeze, PullRequestStatus
from bot.gate.model import PullRequestAnalysisRow, PullRequestGate
from bot.idempotency import ProcessedRequest
from bot.plans.model import DeployPlan, PlanStep
from bot.releases.model import DeployAlert, HerokuRelease, MergedPull
from bot.review_apps.model import ReviewApp
from bot.runbook.model import RunbookChecklist, RunbookStep
from bot.slack.outbox import OutboxMessage
from bot.slack.work_table import SlackWork
from bot.windows.model import DeployWindow, ScheduledUnfreeze, WindowOverride

__all__ = [
    "Approval",
    "AuditEntry",
    "Base",
    "Booking",
    "DeployAlert",
    "DeployPlan",
    "DeployWindow",
    "Freeze",
    "HerokuRelease",
    "Lease",
    "MergedPull",
    "OutboxMessage",
    "PlanStep",
    "ProcessedRequest",
    "PullRequestAnalysisRow",
    "PullRequestGate",
    "PullRequestStatus",
    "ReviewApp",
    "RunbookChecklist",
    "RunbookStep",
    "ScheduledUnfreeze",
    "SentNotification",
    "SlackWork",
    "WindowOverride",
]
