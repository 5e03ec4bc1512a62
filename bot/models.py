"""Imports every model so that `Base.metadata` is complete (for alembic and tests)."""

from bot.audit.model import AuditEntry
from bot.booking.model import Booking
from bot.clock.sent_once import SentNotification
from bot.db import Base
from bot.idempotency import ProcessedRequest
from bot.review_apps.model import ReviewApp

__all__ = ["AuditEntry", "Base", "Booking", "ProcessedRequest", "ReviewApp", "SentNotification"]
