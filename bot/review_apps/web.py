"""The review apps' HTTP ways in: `POST /api/review-apps` (a review app reports itself,
with a bearer token) and `POST /webhooks/heroku` (Heroku app webhooks, HMAC-signed).

Both authenticate before reading the body, refuse with a short JSON error that names the
problem, and never echo what they were sent (it may hold a password).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError

from bot.releases.rules import heroku_app_of
from bot.releases.web import release_delivery
from bot.review_apps.rules import (
    Notice,
    delivery_id,
    describe_errors,
    example_for,
    heroku_signature_ok,
    interpret_heroku,
    required_for,
)
from bot.review_apps.service import (
    Done,
    Duplicate,
    Ignored,
    NotConfigured,
    Outcome,
    SlackFailed,
    Unchanged,
)

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)

Reply = tuple[Response, int]


def _error(status: int, error: str, **extra: Any) -> Reply:
    return jsonify(error=error, **extra), status


def _bearer_ok(expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def _reply(outcome: Outcome) -> Reply:
    match outcome:
        case Done(app=app, posted=posted):
            return jsonify(status="posted" if posted else "updated", app=app), 200
        case Unchanged(app=app, reason=reason):
            return jsonify(status="unchanged", app=app, reason=reason), 200
        case Ignored(reason=reason):
            return jsonify(status="ignored", reason=reason), 200
        case Duplicate(delivery_id=delivery):
            return jsonify(status="duplicate", delivery_id=delivery), 200
        case SlackFailed(app=app, reason=reason):
            # 502 so the CLI retries and Heroku redelivers; the state change was rolled
            # back (or, for a missing thread reply, will be completed on the retry).
            return _error(502, "could not post to Slack; try again", app=app, reason=reason)
        case NotConfigured(reason=reason):
            return _error(503, "review-app notifications are not configured", hint=reason)
    raise AssertionError(outcome)


def register(web: Flask, container: Container) -> None:
    service, settings = container.review_apps, container.settings

    @web.post("/api/review-apps")
    def review_app_notice() -> Reply:
        token = settings.review_app_notify_token
        if not token:
            return _error(503, "not configured: REVIEW_APP_NOTIFY_TOKEN is not set")
        if not _bearer_ok(token):
            return _error(401, "missing or wrong token: send 'Authorization: Bearer <token>'")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(
                422,
                "the body must be a JSON object",
                fields=["body"],
                required=required_for(None),
                example=example_for(None),
            )
        try:
            notice = Notice.model_validate(body)
        except ValidationError as exc:
            problems = describe_errors(exc)
            return _error(
                422,
                "invalid body: " + "; ".join(f"{p.field}: {p.problem}" for p in problems),
                fields=sorted({p.field for p in problems}),
                required=required_for(body),
                example=example_for(body),
            )
        outcome = service.notify(notice)
        log.info("review app %s %s: %s", notice.app, notice.event.value, type(outcome).__name__)
        return _reply(outcome)

    @web.post("/webhooks/heroku")
    def heroku_webhook() -> Reply:
        secret = settings.heroku_webhook_secret
        if not secret:
            return _error(503, "not configured: HEROKU_WEBHOOK_SECRET is not set")
        raw = request.get_data(cache=False)
        # Verified over the raw bytes before anything parses them.
        if not heroku_signature_ok(secret, raw, request.headers.get("Heroku-Webhook-Hmac-SHA256")):
            return _error(401, "missing or invalid Heroku-Webhook-Hmac-SHA256 signature")
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "the body is not JSON")
        if not isinstance(payload, dict):
            return _error(400, "the body is not a JSON object")
        delivery = delivery_id(payload, request.headers.get("Heroku-Webhook-Id"))
        if delivery is None:
            return _error(400, "no delivery id (Heroku-Webhook-Id header or body id)")
        # Production apps (APPS / DEFAULT_APP) are told from review apps by name; their
        # releases move bookings (bot/releases), the rest are review apps as before.
        if container.releases.follows(heroku_app_of(payload)):
            return release_delivery(container, delivery, payload)
        outcome = service.heroku(delivery, interpret_heroku(payload))
        log.info("heroku delivery %s: %s", delivery, outcome)
        return _reply(outcome)
