"""The web application: Slack's ingress plus the bot's own HTTP endpoints."""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence

import sqlalchemy as sa
from flask import Flask, Response, abort, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from werkzeug.exceptions import RequestEntityTooLarge

from bot.container import Container
from bot.freeze import web as freeze_web
from bot.gate.web import register_gate_routes
from bot.review_apps import web as review_apps_web
from bot.slack.app import build_bolt_app
from bot.slack.readiness import readiness_report

log = logging.getLogger(__name__)

# The largest request body any endpoint reads; a larger one is refused with a 413 before
# it is read. Everything is read whole before its signature can be checked, so without a
# bound anyone could make a web worker hold hundreds of megabytes (a basic dyno has 512
# MB, issue 15). What the senders send is far smaller: a GitHub `pull_request` delivery
# with the longest description GitHub allows (65,536 characters) stays under 1 MiB, and
# so does a Slack form of 100 blocks (docs/adr/0024).
MAX_REQUEST_BYTES = 2 * 1024 * 1024


def create_web_app(
    container: Container,
    work_channel: socket.socket | None = None,
    *,
    bolt_app: App | None = None,
    work_readiness: Sequence[int] | None = None,
    record_work: bool = False,
) -> Flask:
    """The Flask app of one web worker. With `work_channel`, the work after each Slack
    acknowledgement is recorded for the work processes (docs/adr/0018); without, it runs on
    threads in this process; with `record_work` alone, it is recorded for `deploybot work`
    on another dyno (WORK_ON_WEB=false). `bolt_app` is one already built
    (bot/bootstrap.py). `work_readiness` is the work processes' ready flags, for
    /healthz."""
    web = Flask("deploybot")
    web.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES

    if container.settings.slack_bot_token:
        bolt_app = bolt_app or build_bolt_app(
            container, work_channel=work_channel, record_work=record_work
        )
        slack_handler = SlackRequestHandler(bolt_app)

        @web.post("/slack/events")
        def slack_events() -> Response:
            # Bolt verifies the signature and the 5-minute timestamp window before any
            # listener runs; a forged or replayed request gets a 401 and changes nothing.
            try:
                return slack_handler.handle(request)
            except RequestEntityTooLarge:
                raise  # Flask's 413: too big to read, whatever it is
            except Exception as exc:
                # Bolt reads the body before anything else and trips over some that Slack
                # never sends (e.g. `payload=null`). That is the sender's fault, not ours.
                log.warning("unreadable Slack request: %s: %s", type(exc).__name__, exc)
                return Response("invalid request", status=400, mimetype="text/plain")

    else:
        # Review-apps-only deployment (SLACK_WEBHOOK_RA, no bot token): there is no
        # Slack app to serve, so Slack's ingress says so instead of half-working.
        @web.post("/slack/events")
        def slack_events_off() -> tuple[Response, int]:
            return jsonify(error="not configured: SLACK_BOT_TOKEN is not set"), 503

    review_apps_web.register(web, container)

    @web.get("/healthz")
    def healthz() -> tuple[Response, int]:
        # Healthy means the bot can do the work, not just acknowledge it: until a work
        # process has started, commands are acknowledged but their answers wait (a
        # restart's first second), so a router or deploy check must not send traffic yet.
        database = "ok" if container.database.is_reachable() else "unreachable"
        work_ok, work = readiness_report(work_readiness if work_channel else None)
        details = {"database": database}
        if work != "none":
            details["work_processes"] = work
        if database != "ok":
            return jsonify(status="degraded", **details), 503
        if not work_ok:
            return jsonify(status="starting", **details), 503
        return jsonify(status="ok", **details), 200

    @web.get("/calendar.ics")
    def calendar_feed() -> Response:
        # A wrong, missing or unconfigured token gets Flask's ordinary 404, the same as
        # any unknown path, so the feed's existence is not revealed (ADR 0010).
        if not container.calendar.allows(request.args.get("token")):
            abort(404)
        try:
            body = container.calendar.render()
        except sa.exc.OperationalError:
            response = Response("The database is unavailable; try again later.\n", 503)
            response.headers["Retry-After"] = "60"
            return response
        response = Response(body, mimetype="text/calendar")
        response.headers["Content-Type"] = "text/calendar; charset=utf-8"
        response.headers["Content-Disposition"] = 'inline; filename="deploys.ics"'
        # The URL is a secret: keep shared caches from storing the answer.
        response.headers["Cache-Control"] = "private, max-age=300"
        return response

    freeze_web.register(web, container)
    register_gate_routes(web, container)
    return web
