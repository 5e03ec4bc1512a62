"""The web application: Slack's ingress plus the bot's own HTTP endpoints."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from slack_bolt.adapter.flask import SlackRequestHandler

from bot.container import Container
from bot.review_apps import web as review_apps_web
from bot.slack.app import build_bolt_app


def create_web_app(container: Container) -> Flask:
    web = Flask("deploybot")

    if container.settings.slack_bot_token:
        slack_handler = SlackRequestHandler(build_bolt_app(container))

        @web.post("/slack/events")
        def slack_events() -> Response:
            # Bolt verifies the signature and the 5-minute timestamp window before any
            # listener runs; a forged or replayed request gets a 401 and changes nothing.
            return slack_handler.handle(request)

    else:
        # Review-apps-only deployment (SLACK_WEBHOOK_RA, no bot token): there is no
        # Slack app to serve, so Slack's ingress says so instead of half-working.
        @web.post("/slack/events")
        def slack_events_off() -> tuple[Response, int]:
            return jsonify(error="not configured: SLACK_BOT_TOKEN is not set"), 503

    review_apps_web.register(web, container.review_apps, container.settings)

    @web.get("/healthz")
    def healthz() -> tuple[Response, int]:
        if container.database.is_reachable():
            return jsonify(status="ok", database="ok"), 200
        return jsonify(status="degraded", database="unreachable"), 503

    return web
