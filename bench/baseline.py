"""The baseline: the smallest Bolt app that answers `/deploy` and button clicks, served
exactly as the bot is (`bot.web.server`: the same gunicorn options, workers and threads).

Its latency is what Bolt, Flask and gunicorn cost on this machine with nothing of the bot's
own work; deploybot's figures are reported relative to it. It acknowledges the way
deploybot does (docs/adr/0012): on the request thread, `process_before_response=True`.
With Bolt's default instead, the request thread polls every 10 ms for the listener's
`ack()` on another thread, which made the baseline slower than deploybot itself at one
request in flight and flattered every ratio.

    python -m bench.baseline serve --port N    (reads SLACK_* and WEB_CONCURRENCY)
"""

from __future__ import annotations

import argparse
import re

from flask import Flask, Response, jsonify, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient

from bot.logs import configure_logging
from bot.settings import load_settings
from bot.web.server import GunicornApp, gunicorn_options


def create_baseline_app(token: str, signing_secret: str, api_url: str) -> Flask:
    bolt = App(
        client=WebClient(token=token, base_url=api_url),
        signing_secret=signing_secret,
        process_before_response=True,
    )

    @bolt.command("/deploy")
    def deploy(ack: Ack) -> None:
        ack()

    @bolt.action(re.compile(".*"))
    def any_action(ack: Ack) -> None:
        ack()

    web = Flask("baseline")
    handler = SlackRequestHandler(bolt)

    @web.post("/slack/events")
    def slack_events() -> Response:
        return handler.handle(request)

    @web.get("/healthz")
    def healthz() -> tuple[Response, int]:
        return jsonify(status="ok"), 200

    return web


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(settings.log_level)
    settings.require("slack_bot_token", "slack_signing_secret")
    token, secret = str(settings.slack_bot_token), str(settings.slack_signing_secret)
    api_url = str(settings.slack_api_url)

    def factory() -> Flask:
        return create_baseline_app(token, secret, api_url)

    GunicornApp(factory, gunicorn_options(settings, args.port or settings.port)).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
