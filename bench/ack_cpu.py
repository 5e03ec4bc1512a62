"""CPU per acknowledgement, in one thread: deploybot's web app against the baseline's.

    python -m bench.ack_cpu [--requests N] [--repeats R] [--json PATH]

The load test's latencies depend on everything else the machine runs at the time. This
measures only what a web worker spends on one request: it calls each app's WSGI entry
point directly, one request after another, with the same signed requests for both, and
reads the process's CPU time. deploybot's hand-off to the work processes is included (its
sender thread is part of this process); the work is not: a separate process drains the
channel. The best of R repeats is kept, as the least disturbed by the rest of the machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.paths import use_test_support

use_test_support()

from flask import Flask  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from bench.baseline import create_baseline_app  # noqa: E402
from bench.scenarios import BY_NAME, DEPLOY_CHANNEL, REQUESTERS  # noqa: E402
from support.fake_slack import FakeSlack  # noqa: E402
from support.slack_requests import (  # noqa: E402
    SlackRequest,
    signed_headers,
)

SECRET = "bench-ack-cpu-signing-secret"
Environ = dict[str, Any]


def announcement_message(fake: FakeSlack) -> dict[str, Any]:
    """An approval announcement as Slack stores it: rendered by the bot's own blocks and
    posted through the fake Slack, which adds what Slack adds (block ids and the like)."""
    from bot.approval.blocks import announcement
    from bot.approval.service import AnnouncementView
    from bot.booking.model import Booking

    starts = datetime(2026, 5, 19, 14, tzinfo=UTC)
    booking = Booking(
        short_id="B7K2Q",
        app="bench-approve",
        kind="migration",
        title="Approve me",
        pull_requests=["bench/site#90001"],
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        status="awaiting_approval",
        requester_id=REQUESTERS[0],
        rollback_plan="redeploy master",
        notes="",
        revision=1,
        approval_round=1,
    )
    text, blocks = announcement(AnnouncementView(booking=booking, approvers=[], required=2))
    WebClient(token=fake.token, base_url=fake.base_url).chat_postMessage(
        channel=DEPLOY_CHANNEL, text=text, blocks=blocks
    )
    [message] = fake.messages(DEPLOY_CHANNEL)
    return message


def requests(fake: FakeSlack, count: int) -> dict[str, list[SlackRequest]]:
    """The load test's own requests (bench/scenarios.py), the clicks on one announcement."""
    params = {
        "fake_url": fake.url,
        "tag": "ack-cpu",
        "messages": [{"channel": DEPLOY_CHANNEL, "message": announcement_message(fake)}],
    }
    built: dict[str, list[SlackRequest]] = {}
    for name in ("list", "approve"):
        make = BY_NAME[name].requester(params)
        built[name] = [make(n) for n in range(count)]
    return built


def environ(request: SlackRequest) -> Environ:
    body = request.body.encode()
    env: Environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": request.content_type,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in signed_headers(SECRET, body).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def start_response(status: str, headers: Iterable[tuple[str, str]], exc_info: Any = None) -> None:
    if not status.startswith("200"):
        raise RuntimeError(f"the app answered {status}")


def cpu_us_per_request(app: Flask, rounds: list[list[Environ]]) -> float:
    """The best round's CPU per request. Each round has requests of its own: deploybot
    records each body once, and a body sent again is Slack's retry, a different path."""
    best = float("inf")
    for environs in rounds:
        started = time.process_time()
        for env in environs:
            b"".join(app(env, start_response))
        best = min(best, time.process_time() - started)
    return best / len(rounds[0]) * 1e6


def drain_in_child(reader: socket.socket, writer: socket.socket) -> None:
    """Fork a process that reads the work channel and throws the work away, until this
    process exits (and with it the last open writing end)."""
    if os.fork() == 0:
        writer.close()
        while reader.recv(1 << 20):
            pass
        os._exit(0)
    reader.close()


def measure(count: int, repeats: int) -> dict[str, Any]:
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            SLACK_BOT_TOKEN=fake.token,
            SLACK_API_URL=fake.base_url,
            SLACK_SIGNING_SECRET=SECRET,
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'work.sqlite3'}",
            DEPLOY_CHANNEL=DEPLOY_CHANNEL,
            LOG_LEVEL="WARNING",
        )
        from bot.container import build_container
        from bot.migrations import upgrade
        from bot.settings import load_settings
        from bot.slack.handoff import make_channel
        from bot.web.app import create_web_app

        # The acknowledgement records its work in the database (docs/adr/0018).
        upgrade(os.environ["DATABASE_URL"])

        reader, writer = make_channel()
        drain_in_child(reader, writer)
        apps: dict[str, Callable[[], Flask]] = {
            "baseline": lambda: create_baseline_app(fake.token, SECRET, fake.base_url),
            "deploybot": lambda: create_web_app(build_container(load_settings()), writer),
        }
        built = {name: make() for name, make in apps.items()}
        results: dict[str, Any] = {"requests": count, "repeats": repeats, "scenarios": {}}
        for scenario, sent in requests(fake, count * (repeats + 1)).items():
            row: dict[str, Any] = {"body_bytes": len(sent[0].body.encode())}
            for name, app in built.items():
                rounds = [
                    [environ(r) for r in sent[n * count : (n + 1) * count]]
                    for n in range(repeats + 1)
                ]
                # Unmeasured first round: Bolt's one auth.test, imports, caches.
                cpu_us_per_request(app, rounds[:1])
                row[f"{name}_us"] = round(cpu_us_per_request(app, rounds[1:]), 1)
            row["ratio"] = round(row["deploybot_us"] / row["baseline_us"], 2)
            results["scenarios"][scenario] = row
        return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ack_cpu", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per scenario (2000)")
    parser.add_argument("--repeats", type=int, default=5, help="best of (5)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = measure(args.requests, args.repeats)
    for scenario, row in results["scenarios"].items():
        print(
            f"{scenario:8s} body {row['body_bytes']:5d} B   baseline {row['baseline_us']:6.1f} us"
            f"   deploybot {row['deploybot_us']:6.1f} us   {row['ratio']:.2f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
