"""Logging set-up shared by every process."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO; response URLs and webhook URLs are secrets.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # slack_sdk logs whole request and response bodies at DEBUG, and a review app's
    # message carries its admin password (ADR 0009): never below INFO, whatever LOG_LEVEL.
    for name in ("slack_sdk", "slack_bolt", "httpcore"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.getLevelNamesMapping()[level], logging.INFO))
    # Alembic announces each of its plugins at INFO on every start.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
