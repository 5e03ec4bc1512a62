"""The web application: Slack's ingress plus the bot's own HTTP endpoints."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from slack_bolt.adapter.flask import SlackRequestHandler

from bot.container import Container
from bot.slack.app import build_bolt_app

log = logging.getLogger(__name__)


def create_web_app(container: Container) -> Flask:
    web = Flask("deploybot")
    slack_handler = SlackRequestHandler(build_bolt_app(container))

    @web.post("/slack/events")
    def slack_events() -> Response:
        # Bolt verifies the signature and the 5-minute timestamp window before any
        # listener runs; a forged or replayed request gets a 401 and changes nothing.
        try:
            return slack_handler.handle(request)
        except Exception as exc:
            # Bolt reads the body before anything else and trips over some that Slack
            # never sends (e.g. `payload=null`). That is the sender's fault, not ours.
            log.warning("unreadable Slack request: %s: %s", type(exc).__name__, exc)
            return Response("invalid request", status=400, mimetype="text/plain")

    @web.get("/healthz")
    def healthz() -> tuple[Response, int]:
        if container.database.is_reachable():
            return jsonify(status="ok", database="ok"), 200
        return jsonify(status="degraded", database="unreachable"), 503

    return web
