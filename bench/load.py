"""The load generator: keeps N signed Slack requests in flight for a fixed time.

    python -m bench.load SPEC.json RESULT.json

Runs in its own process so that its threads do not share an interpreter lock with the
fake Slack that the bot calls back. Closed loop: each of `concurrency` threads sends a
request, waits for the answer, and sends the next one at once. A request counts when it
started inside the measured window (after `warmup` seconds); its latency is from just
before the request is written to when the whole answer has been read: what Slack sees as
the acknowledgement time.
"""

from __future__ import annotations

import itertools
import json
import ssl
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.paths import use_test_support
from bench.scenarios import BY_NAME

use_test_support()

from support.slack_requests import signed_headers  # noqa: E402

# Slack gives up after 3 seconds; waiting longer only tells us how late we were.
CLIENT_TIMEOUT = 10.0


def run(spec: dict[str, Any]) -> dict[str, Any]:
    make = BY_NAME[spec["scenario"]].requester(spec["params"])
    url = f"{spec['base_url']}/slack/events"
    secret = spec["signing_secret"]
    concurrency = int(spec["concurrency"])
    warmup, duration = float(spec["warmup"]), float(spec["duration"])
    budget = int(spec["budget"])

    counter = itertools.count()
    lock = threading.Lock()
    samples: list[tuple[float, float, int]] = []  # (start offset s, latency ms, status)
    errors: Counter[str] = Counter()
    answered_ok = 0  # every 200, warm-up included: each has work behind it to wait for
    exhausted = threading.Event()
    origin = 0.0

    def set_origin() -> None:
        # Runs once every client is ready, just before they are all let go.
        nonlocal origin
        origin = time.perf_counter()

    go = threading.Barrier(concurrency, action=set_origin)
    # One TLS context for all clients: building one per client costs tens of milliseconds
    # each, and these requests are plain HTTP over loopback anyway.
    tls = ssl.create_default_context()

    def worker() -> None:
        nonlocal answered_ok
        local_ok = 0
        local: list[tuple[float, float, int]] = []
        local_errors: Counter[str] = Counter()
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(timeout=CLIENT_TIMEOUT, limits=limits, verify=tls) as client:
            go.wait()
            end = origin + warmup + duration
            while True:
                started = time.perf_counter()
                if started >= end:
                    break
                index = next(counter)
                if index >= budget:
                    exhausted.set()
                    break
                request = make(index)
                headers = {
                    "Content-Type": request.content_type,
                    **signed_headers(secret, request.body),
                }
                started = time.perf_counter()
                try:
                    response = client.post(url, content=request.body, headers=headers)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status = 0
                    local_errors[type(exc).__name__] += 1
                elapsed_ms = (time.perf_counter() - started) * 1000
                local_ok += status == 200
                offset = started - origin
                if offset >= warmup:
                    local.append((offset, elapsed_ms, status))
                    if status not in (0, 200):
                        local_errors[f"HTTP {status}"] += 1
        with lock:
            samples.extend(local)
            errors.update(local_errors)
            answered_ok += local_ok

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - origin

    samples.sort()
    return {
        "scenario": spec["scenario"],
        "concurrency": concurrency,
        "warmup_s": warmup,
        "duration_s": duration,
        "wall_s": round(wall, 3),
        "sent": next(counter),
        "answered_ok": answered_ok,
        "budget_exhausted": exhausted.is_set(),
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
