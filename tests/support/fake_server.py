"""What the fakes of Slack, GitHub and Heroku share: the HTTP server thread, the record of
calls, waiting for a call, injected faults, delays and outages.

Each fake (fake_slack.py, fake_github.py, fake_heroku.py) subclasses ``FakeServer`` and
keeps only its wire format: ``handle()`` answers one request and records it, ``_key()``
names a recorded call, and ``fail_next()`` turns a fault into that service's error.

One argument order for every fake, first ``where`` (which calls), then the rest:

    fake.calls(where)
    fake.wait_for(where, predicate, timeout=10.0)
    fake.wait_for_count(where, count, predicate, timeout=10.0)
    fake.assert_no_call(where, predicate, within=1.0)
    fake.fail_next(where, status, times=1, ...)
    fake.set_delay(where, seconds)

``where`` is a glob (``fnmatch``) over the call's key, ``"*"`` or ``None`` for any call.
Slack's key is the Web API method (``"chat.postMessage"``, ``"response_url"``,
``"webhook"``); GitHub's and Heroku's is ``"METHOD /path"`` without the query string, so
``"POST /repos/*/statuses/*"``, a path alone (``"/repos/o/r/pulls*"``, any HTTP method)
or a method alone (``"GET"``, any path) select calls there.
"""

from __future__ import annotations

import fnmatch
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, Self, TypeVar

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RecordedCall(Protocol):
    def summary(self) -> str: ...


CallT = TypeVar("CallT", bound=RecordedCall)


@dataclass
class Fault:
    """An injected error: the next ``remaining`` calls selected by ``where`` get it.
    Each fake reads the fields it needs to answer in its own wire format."""

    where: str
    status: int
    remaining: int
    retry_after: int | None = None
    message: str | None = None


def matches(predicate: Callable[[Any], bool] | None, call: Any) -> bool:
    """Apply a test's predicate; one that trips over an unrelated call's shape (e.g.
    ``c.body["channel"]`` on a call without a channel) simply does not match it."""
    if predicate is None:
        return True
    try:
        return bool(predicate(call))
    except (KeyError, IndexError, TypeError, AttributeError):
        return False


def http_selector(where: str) -> str:
    """``where`` for a REST fake as a glob over ``"METHOD /path"``: a path alone stands
    for any method, a method alone for any path; methods are upper-cased."""
    if where == "*":
        return where
    if " " in where:
        method, path = where.split(" ", 1)
        return f"{method.upper()} {path.strip()}"
    if where.upper() in HTTP_METHODS:
        return f"{where.upper()} *"
    return f"* {where}"


class FakeServer(Generic[CallT]):
    """A local HTTP server recording every call. Use as a context manager or call
    ``start()``/``stop()``; ``reset()`` forgets calls, faults, delays and the outage (and
    whatever the fake's ``_reset()`` puts back)."""

    thread_name = "fake-server"
    server_version = "FakeServer/1.0"

    def __init__(self, *, niceness: int = 0) -> None:
        # The benchmark raises this so that the fake, which stands in for someone else's
        # servers, takes the CPU only when the bot under test does not want it.
        self.niceness = niceness
        # Reentrant (Condition's default lock): fakes answer with it held and take
        # faults or record calls inside.
        self._lock = threading.Condition()
        self._calls: list[CallT] = []
        self._faults: list[Fault] = []
        self._delays: dict[str, float] = {}
        self._down = False
        # Called with each call once it is recorded, on the thread that served it: the
        # benchmark times replies with it (waiting on calls() scans them all each time).
        self.on_call: Callable[[CallT], None] | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        # Daemon threads: a handler sleeping in set_delay() must not block interpreter exit.
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name=self.thread_name, kwargs={"poll_interval": 0.05}
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Root URL of the server (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget calls, faults, delays and the outage, and the fake's own state."""
        with self._lock:
            self._calls = []
            self._faults = []
            self._delays = {}
            self._down = False
            self._reset()

    def _reset(self) -> None:
        """The fake's own part of ``reset()`` (called with the lock held)."""

    # ------------------------------------------------------------------ selection

    def _key(self, call: CallT) -> str:
        """What ``where`` is matched against for a recorded call."""
        raise NotImplementedError

    def _selector(self, where: str) -> str:
        """``where`` as a glob over keys (REST fakes accept a method or path alone)."""
        return where

    def _selects(self, where: str | None, key: str) -> bool:
        return where is None or where == "*" or fnmatch.fnmatchcase(key, self._selector(where))

    # --------------------------------------------------------------- inspection

    def calls(self, where: str | None = None) -> list[CallT]:
        """Recorded calls in arrival order, optionally only those ``where`` selects."""
        with self._lock:
            return [c for c in self._calls if self._selects(where, self._key(c))]

    def wait_for(
        self,
        where: str | None,
        predicate: Callable[[CallT], bool] | None = None,
        timeout: float = 10.0,
    ) -> CallT:
        """Wait until a call ``where`` selects and ``predicate`` matches has arrived;
        return the first.

        The bot works asynchronously (it answers first, then calls out), so a test cannot
        look at ``calls()`` straight after its request. On timeout this raises
        AssertionError listing every call that *did* arrive, which is usually the fastest
        way to see what the bot did instead.
        """
        return self.wait_for_count(where, 1, predicate, timeout)[0]

    def wait_for_count(
        self,
        where: str | None,
        count: int,
        predicate: Callable[[CallT], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[CallT]:
        """Wait until at least ``count`` matching calls have arrived; return all matches."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [
                    c
                    for c in self._calls
                    if self._selects(where, self._key(c)) and matches(predicate, c)
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    received = "\n  ".join(c.summary() for c in self._calls) or "(nothing)"
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {count} matching "
                        f"{where or '*'} call(s); {len(found)} matched. "
                        f"Calls received:\n  {received}"
                    )
                self._lock.wait(min(remaining, 0.1))

    def assert_no_call(
        self,
        where: str | None = None,
        predicate: Callable[[CallT], bool] | None = None,
        within: float = 1.0,
    ) -> None:
        """Assert that no matching call arrives (or has arrived) within ``within`` seconds.

        For "never double-posts" tests: wait long enough for a duplicate to have shown up.
        """
        time.sleep(within)
        found = [c for c in self.calls(where) if matches(predicate, c)]
        if found:
            lines = "\n  ".join(c.summary() for c in found)
            raise AssertionError(f"expected no {where or '*'} call, got {len(found)}:\n  {lines}")

    # ---------------------------------------------------- faults, delays, outage

    def _add_fault(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """Drop every fault ``fail_next`` injected that has not fired yet."""
        with self._lock:
            self._faults.clear()

    def set_delay(self, where: str, seconds: float) -> None:
        """Answer the calls ``where`` selects only after ``seconds``; 0 removes the delay."""
        with self._lock:
            if seconds <= 0:
                self._delays.pop(where, None)
            else:
                self._delays[where] = seconds

    def set_down(self, down: bool = True) -> None:
        """While down, every call gets the service's "unavailable" answer."""
        with self._lock:
            self._down = down

    def _take_fault(self, key: str) -> Fault | None:
        """The first injected fault for this call, counted down (None: answer normally)."""
        with self._lock:
            for fault in self._faults:
                if self._selects(fault.where, key):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _delay_for(self, key: str) -> float:
        with self._lock:
            for where, seconds in self._delays.items():
                if self._selects(where, key):
                    return seconds
        return 0.0

    def _record(self, call: CallT) -> None:
        with self._lock:
            self._calls.append(call)
            self._lock.notify_all()
        observer = self.on_call
        if observer is not None:
            observer(call)

    # ------------------------------------------------------------------ the wire

    def handle(
        self, http_method: str, path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request and record it; returns (status, headers, body).
        ``headers`` keys are lower-case."""
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so clients that keep connections alive (httpx) behave as against the
    # real service.
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeServer[Any]:
        return self.server.fake  # type: ignore[attr-defined, no-any-return]

    def version_string(self) -> str:
        return self.fake.server_version

    def setup(self) -> None:
        # One thread per connection (ThreadingHTTPServer); Linux gives each thread its
        # own nice value.
        if self.fake.niceness:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.fake.niceness)
        super().setup()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        raw = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, response_headers, payload = self.fake.handle(self.command, self.path, headers, raw)
        self.send_response(status)
        for key, value in response_headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve
    do_PATCH = _serve
    do_PUT = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        # Silence per-request stderr lines; the recorded calls are the log.
        pass
