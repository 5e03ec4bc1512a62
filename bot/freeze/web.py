"""HTTP surface of freezes: `GET /api/freeze` and the GitHub webhook (`POST /webhooks/github`).

Registered on the Flask app by bot/web/app.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, jsonify, request

from bot.container import Container
from bot.freeze.model import Freeze
from bot.gate.web import gate_work_quietly, record_gate_delivery
from bot.releases.web import merge_work_quietly, record_merge_delivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"


def freeze_json(branch: str, freeze: Freeze | None) -> dict[str, Any]:
    """The document `/api/freeze` and `deploybot freeze-status --json` answer with."""
    if freeze is None:
        return {
            "frozen": False,
            "branch": branch,
            "reason": None,
            "since": None,
            "by": None,
            "booking": None,
        }
    return {
        "frozen": True,
        "branch": freeze.branch,
        "reason": freeze.reason,
        "since": freeze.frozen_at.isoformat().replace("+00:00", "Z"),
        "by": freeze.frozen_by,
        "booking": freeze.booking_short_id,
    }


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    """GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def register(web: Flask, container: Container) -> None:
    settings = container.settings
    enforcer = container.freeze_enforcer

    @web.get("/api/freeze")
    def api_freeze() -> tuple[Response, int]:
        try:
            current = container.freezes.current()
        except sa.exc.SQLAlchemyError:
            log.exception("could not read the freeze")
            # Not 200: a deploy script must not read "unknown" as "not frozen".
            return jsonify(error="database unavailable"), 503
        return jsonify(freeze_json(settings.freeze_branch, current)), 200

    @web.post("/webhooks/github")
    def github_webhook() -> tuple[Response, int]:
        secret = settings.github_webhook_secret
        if not secret:
            # Never accept unsigned payloads, even by omission.
            return jsonify(error="not configured: GITHUB_WEBHOOK_SECRET is not set"), 503
        # The raw bytes, before anything parses them: the signature covers exactly these.
        body = request.get_data(cache=True)
        if not valid_signature(secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning("refused a GitHub webhook with a bad or missing signature")
            return jsonify(error="bad signature"), 401
        event = request.headers.get("X-GitHub-Event", "")
        delivery = request.headers.get("X-GitHub-Delivery", "")
        if event == "ping":
            return jsonify(ok=True, event="ping"), 200
        if event != "pull_request":
            return jsonify(ok=True, ignored=f"event {event!r}"), 202
        if not delivery:
            return jsonify(error="missing X-GitHub-Delivery"), 400
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            action = str(payload.get("action") or "")
            result = enforcer.record_pull_request(action, payload, delivery)
            # The deploy gate keeps its own record of the delivery (bot/gate/web.py).
            # A merge into the production branch moves bookings (bot/releases/web.py).
            # Before the gate's share, which forgets a closed PR's row (and with it an
            # approver's allowance, which spares the merge the unbooked alert).
            merge_result = record_merge_delivery(container, action, payload, delivery)
            gate_result = record_gate_delivery(container, action, payload, delivery)
        except (ValueError, KeyError, TypeError) as exc:
            return jsonify(error=f"malformed pull_request payload: {exc}"), 400
        except sa.exc.SQLAlchemyError:
            log.exception("could not record GitHub delivery %s", delivery)
            # 5xx, so the delivery shows as failed in GitHub's UI and can be redelivered.
            return jsonify(error="database unavailable"), 503
        log.info("GitHub delivery %s: %s %s", delivery, result.status, result.detail)
        response = jsonify(
            ok=True,
            result=result.status,
            detail=result.detail,
            gate=gate_result.status,
            merge=merge_result.status,
        )
        row_id = result.pull_status_id
        gate_id = gate_result.gate_id

        def after_response() -> None:
            # Post the statuses (and analyse the PR) after the response has gone: GitHub
            # waits 10 s for an answer, and a slow GitHub API must not make its own
            # webhook time out. What fails here is left for the clock.
            if row_id is not None:
                _sync_quietly(container, row_id)
            if gate_id is not None:
                gate_work_quietly(container, gate_id)
            if merge_result.status == "recorded":
                merge_work_quietly(container, merge_result)

        if row_id is not None or gate_id is not None or merge_result.status == "recorded":
            response.call_on_close(after_response)
        return response, 200


def _sync_quietly(container: Container, row_id: int) -> None:
    try:
        container.freeze_enforcer.sync(only=[row_id])
    except Exception:
        log.exception("posting a freeze status failed; the clock will retry")


# The name this function had before every feature package's web routes took one
# signature (`register(web, container)`); kept for branches written against it.
register_freeze_routes = register
