"""The load generator: keeps N signed Slack requests in flight for a fixed time.

    python -m bench.load SPEC.json RESULT.json

Closed loop over N keep-alive HTTP/1.1 connections: each connection sends a request,
waits for the whole answer, and sends the next one at once. A request counts when it
started inside the measured window (after `warmup` seconds); its latency is from just
before the request is written to when the last byte of the answer has been read: what
Slack sees as the acknowledgement time.

It shares the machine's CPUs with the server it measures, so it is built to cost as
little as possible while the clock runs: every request it may send is built and signed
before the start, and one thread drives all the connections with the operating system's
readiness events, writing prepared bytes and reading just enough of each answer to know
its status and where it ends. (The first version used one httpx client per thread: it
burnt a whole CPU of the two at about a thousand requests a second, and its threads queued
for the interpreter lock before they could stamp an answer's time; see
docs/performance.md.) It runs in its own process, in a session of its own (bench.__main__).
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.paths import use_test_support
from bench.scenarios import BY_NAME

use_test_support()

from support.slack_requests import SlackRequest, signed_headers  # noqa: E402

# Slack gives up after 3 seconds; waiting longer only tells us how late we were.
CLIENT_TIMEOUT = 10.0
# Bolt refuses a signature older than five minutes; requests are built just before the run,
# which must end well within that.
SIGNATURE_LIFETIME = 300.0


def encode_request(request: SlackRequest, host: str, secret: str) -> bytes:
    """The bytes Slack would send for `request`, signed now."""
    body = request.body.encode()
    headers = {
        "Host": host,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "Content-Type": request.content_type,
        "Content-Length": str(len(body)),
        **signed_headers(secret, body),
    }
    head = "POST /slack/events HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode() + body


class AnswerError(Exception):
    """The server's answer could not be read as HTTP/1.1."""


@dataclass
class Answer:
    """An HTTP/1.1 answer read as it arrives: `feed` returns True once it is complete."""

    received: bytearray = field(default_factory=bytearray)
    status: int = 0
    keep_alive: bool = True
    _end: int | None = None  # where the body ends in `received`, once the head is read

    def feed(self, data: bytes) -> bool:
        self.received += data
        if self._end is None:
            head_end = self.received.find(b"\r\n\r\n")
            if head_end < 0:
                return False
            self._read_head(bytes(self.received[:head_end]).decode("latin-1"), head_end + 4)
        assert self._end is not None
        if len(self.received) > self._end:
            raise AnswerError("more bytes than the answer's Content-Length")
        return len(self.received) == self._end

    def _read_head(self, head: str, body_start: int) -> None:
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise AnswerError(f"not an HTTP/1.1 status line: {status_line!r}")
        self.status = int(parts[1])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            # gunicorn sends Flask's and Bolt's answers with a length; nothing here needs more.
            raise AnswerError("chunked answers are not supported")
        self.keep_alive = headers.get("connection", "").lower() != "close"
        self._end = body_start + int(headers.get("content-length", "0"))


@dataclass(eq=False)  # compared and hashed by identity: kept in a set
class Connection:
    sock: socket.socket
    started: float = 0.0
    answer: Answer = field(default_factory=Answer)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    make = BY_NAME[spec["scenario"]].requester(spec["params"])
    address = urlsplit(spec["base_url"])
    host, port = address.hostname or "127.0.0.1", address.port or 80
    concurrency = int(spec["concurrency"])
    warmup, duration = float(spec["warmup"]), float(spec["duration"])
    budget = int(spec["budget"])

    built_at = time.time()
    prepared = [
        encode_request(make(index), f"{host}:{port}", spec["signing_secret"])
        for index in range(budget)
    ]
    if time.time() - built_at + warmup + duration + CLIENT_TIMEOUT > SIGNATURE_LIFETIME:
        raise SystemExit("the run is too long for its requests' signatures; lower --duration")

    samples: list[tuple[float, float, int]] = []  # (start offset s, latency ms, status)
    errors: Counter[str] = Counter()
    answered_ok = 0  # every 200, warm-up included: each has work behind it to wait for
    sent = 0
    selector = selectors.DefaultSelector()

    def connect() -> Connection:
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = Connection(sock)
        selector.register(sock, selectors.EVENT_READ, connection)
        return connection

    def close(connection: Connection) -> None:
        selector.unregister(connection.sock)
        connection.sock.close()

    def send_next(connection: Connection) -> bool:
        """Send the next request on `connection`; False once the run is over."""
        nonlocal sent
        now = time.perf_counter()
        if now >= end or sent >= budget:
            close(connection)
            return False
        request = prepared[sent]
        sent += 1
        connection.answer = Answer()
        connection.started = now
        try:
            connection.sock.sendall(request)
        except OSError as exc:
            finish(connection, 0, type(exc).__name__)
            return False
        return True

    def finish(connection: Connection, status: int, error: str | None = None) -> None:
        """Record the answer to `connection`'s request and send the next one."""
        nonlocal answered_ok
        elapsed_ms = (time.perf_counter() - connection.started) * 1000
        offset = connection.started - origin
        answered_ok += status == 200
        if error:
            errors[error] += 1
        if offset >= warmup:
            samples.append((offset, elapsed_ms, status))
            if status not in (0, 200):
                errors[f"HTTP {status}"] += 1
        if error or not connection.answer.keep_alive:
            close(connection)
            try:
                connection = connect()
            except OSError as exc:
                errors[f"connect: {type(exc).__name__}"] += 1
                return
        if send_next(connection):
            open_connections.add(connection)

    connections = [connect() for _ in range(concurrency)]
    origin = time.perf_counter()
    end = origin + warmup + duration
    open_connections: set[Connection] = set()
    for connection in connections:
        if send_next(connection):
            open_connections.add(connection)

    while open_connections:
        ready = selector.select(timeout=0.5)
        for key, _ in ready:
            connection = key.data
            try:
                data = connection.sock.recv(65536)
                if not data:
                    raise ConnectionResetError("closed by the server")
                complete = connection.answer.feed(data)
            except (OSError, AnswerError) as exc:
                open_connections.discard(connection)
                finish(connection, 0, type(exc).__name__)
                continue
            if complete:
                open_connections.discard(connection)
                finish(connection, connection.answer.status)
        now = time.perf_counter()
        for connection in [c for c in open_connections if now - c.started > CLIENT_TIMEOUT]:
            open_connections.discard(connection)
            finish(connection, 0, "Timeout")
    wall = time.perf_counter() - origin
    selector.close()

    samples.sort()
    return {
        "scenario": spec["scenario"],
        "concurrency": concurrency,
        "warmup_s": warmup,
        "duration_s": duration,
        "wall_s": round(wall, 3),
        "sent": sent,
        "answered_ok": answered_ok,
        "budget_exhausted": sent >= budget,
        "errors": dict(errors),
        # Rounded to the microsecond: plenty, and keeps the raw JSON small.
        "samples": [[round(o, 4), round(ms, 3), s] for o, ms, s in samples],
    }


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    result = run(spec)
    Path(sys.argv[2]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
