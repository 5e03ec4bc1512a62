"""The web worker's side of the durable hand-off (docs/adr/0018): a request's work is
recorded in the database (bot/slack/work_table.py) before Slack hears "OK", and whoever
does the work is told its id so that it starts at once: a work process, over a local
channel (bot/slack/work_processes.py), or the work threads of this same process
(WORK_PROCESSES=0, Socket Mode: bot/slack/work_threads.py).

Only Bolt's public API: a global middleware gives each request an `Ack` of ours, which
records the work when a listener acknowledges with a bare `ack()` (a listener that
answers with content, help text or a form's field errors, has answered in full: there is
nothing to record). The web worker's Bolt app has no lazy functions at all
(bot/slack/listeners.py): a work process runs them, from the recorded request.

ADR 0012 holds: recording has `RECORD_SECONDS`; a database that is down, unreachable or
too slow gets the person a "try again" inside Slack's 3 seconds, and nothing is kept (a
recording that commits after its deadline deletes itself again, unless a work process
has already taken it).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from slack_bolt import Ack, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk.webhook import WebhookClient

from bot.slack.commands import DATABASE_UNAVAILABLE, DB_DOWN_TEXT
from bot.slack.work_table import NewWork, Recorded, WorkTable

log = logging.getLogger(__name__)

# Sent once per work process to tell it to finish and exit.
STOP = b"null"
# The largest message on the channel (a work id is a few bytes; this bounds a read).
MAX_MESSAGE_BYTES = 1024
# How long a stopping web worker waits to hand on the ids of the work it has recorded.
FLUSH_SECONDS = 5.0
# What recording may take of Slack's 3 seconds: the rest is Bolt's own work, the wait
# for a request thread (see DurableHandOff) and the answer's way back.
RECORD_SECONDS = 1.5
# How often a web worker that could not record checks whether the database can write.
PROBE_SECONDS = 0.5
# The most recordings written in one transaction (see GroupRecorder): more than a web
# worker has request threads, so in practice every waiting one.
MAX_BATCH = 64

P = ParamSpec("P")
T = TypeVar("T")


def encode_work_id(work_id: int) -> bytes:
    return str(work_id).encode()


def decode_work_id(message: bytes) -> int:
    return int(message)


def make_channel() -> tuple[socket.socket, socket.socket]:
    """(reading end, writing end) of the channel from web workers to work processes."""
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    return reader, writer


class ChannelSender:
    """Sends messages on the channel without ever making the caller (the acknowledgement)
    wait for a work process to take them. Started in the web worker, after gunicorn's
    fork.

    While the channel has room, the caller's thread sends the message itself, without
    blocking. Once it is full (the work processes are behind), messages queue here, in
    order, and a thread of this class's own waits for room. A message lost here (the web
    worker dies) loses no work: the work processes also look for recorded work that
    nobody told them about."""

    def __init__(self, writer: socket.socket) -> None:
        self._writer = writer
        self._pending: collections.deque[bytes] = collections.deque()
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._send_forever, name="work-send", daemon=True)
        self._thread.start()
        atexit.register(self.flush, FLUSH_SECONDS)

    def send(self, message: bytes) -> None:
        with self._ready:
            # Only when nothing is queued, so that messages keep their order.
            if not self._pending:
                try:
                    self._writer.send(message, socket.MSG_DONTWAIT)
                    return
                except BlockingIOError:
                    pass  # the channel is full: queue it for the sending thread
                except OSError:
                    log.exception("could not tell the work processes about work")
                    return
            self._pending.append(message)
            self._ready.notify_all()

    def tell(self, work_id: int) -> None:
        """Tell the work processes that `work_id` is recorded (DurableHandOff's `tell`)."""
        self.send(encode_work_id(work_id))

    def flush(self, timeout: float) -> None:
        """Wait up to `timeout` seconds until everything given to send() has been sent."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._pending and time.monotonic() < deadline:
                self._ready.wait(0.05)

    def _send_forever(self) -> None:
        while True:
            with self._ready:
                while not self._pending:
                    self._ready.wait()
                message = self._pending[0]
            try:
                self._writer.sendall(message)
            except OSError:
                log.exception("could not tell the work processes about work")
            with self._ready:
                self._pending.popleft()
                self._ready.notify_all()


class InlineExecutor(Executor):
    """A work process's executor for Bolt's lazy functions: runs them on the thread that
    dispatched the request, so that the dispatch returns once the work is done (and only
    then is its row deleted)."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class _Recording:
    """One request's recording, racing its deadline: whichever of the two comes second
    (the commit, or the acknowledgement giving up) settles what happens to the row."""

    def __init__(self, work: NewWork) -> None:
        self.work = work
        self.lock = threading.Lock()
        self.abandoned = False
        self.committed = False
        # A latch, released once the recording is settled: a plain lock costs a waiting
        # request thread less than an Event (profiled under load, docs/adr/0022).
        self._settled = threading.Lock()
        self._settled.acquire()
        self.work_id: int | None = None
        self.error: BaseException | None = None

    def settle(self) -> None:
        self._settled.release()

    def wait(self, timeout: float = -1) -> bool:
        """Whether it is settled (within `timeout` seconds, if given)."""
        if self._settled.acquire(timeout=timeout):
            self._settled.release()
            return True
        return False


class _Unrecordable(Exception):
    """This request could not be recorded for a reason of its own, not the database's."""


class GroupRecorder:
    """Records the acknowledgements' work in batches: one thread of the web worker takes
    every recording waiting at that moment and writes them with one statement, committed
    at once (a group commit), while each request thread waits for its own, up to its
    deadline.

    Why: a transaction of its own per acknowledgement cost a web worker most of its CPU
    per request (a pool check-out with its ping, BEGIN, the insert, COMMIT). Batched, a
    statement's fixed cost is shared by as many requests as arrived while the previous
    batch was being written, which is many exactly when it matters (docs/adr/0022).
    Alone, a request is written at once, as before."""

    def __init__(self, table: WorkTable) -> None:
        self._table = table
        self._waiting: queue.SimpleQueue[_Recording] = queue.SimpleQueue()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        # The recording thread's own connection, kept between batches: a check-out from
        # the pool pings the database first, a round trip per batch.
        self._connection: sa.Connection | None = None

    def submit(self, work: NewWork) -> _Recording:
        self._ensure_thread()
        recording = _Recording(work)
        self._waiting.put(recording)
        return recording

    def _ensure_thread(self) -> None:
        # Started on first use, and again in a process forked after that (gunicorn forks
        # its web workers from a master that has built the app): a fork keeps only the
        # thread that forked.
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                # A connection kept by the process this one was forked from is that
                # process's: left alone, not closed.
                self._connection = None
                self._thread = threading.Thread(
                    target=self._write_forever, name="work-record", daemon=True
                )
                self._thread.start()

    def _write_forever(self) -> None:
        while True:
            batch = [self._waiting.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            live = [r for r in batch if not r.abandoned]
            for recording in batch:
                if recording.abandoned:
                    recording.settle()
            if live:
                self._write(live)

    def _write(self, batch: list[_Recording]) -> None:
        try:
            recorded = self._record_many(batch)
        except DATABASE_UNAVAILABLE as exc:
            self._fail(batch, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                self._fail(batch, exc)
                return
            # Not the database's availability (a body it cannot store, say): one request
            # must not cost the others theirs, so each is written on its own.
            log.warning("a batch of Slack work could not be recorded (%s); one by one", exc)
            for recording in batch:
                self._write([recording])
            return
        waited_for: set[str] = set()
        for recording in batch:
            with recording.lock:
                recording.committed = True
                recording.work_id = recorded.ids.get(recording.work.key)
                if not recording.abandoned:
                    waited_for.add(recording.work.key)
        # A row this batch added whose every request has given up. (Not a retry's row,
        # which is its first request's; not a row another request of the batch waits for.)
        given_up = ({r.work.key for r in batch if r.abandoned} & recorded.new) - waited_for
        for recording in batch:
            key = recording.work.key
            if key in given_up:
                given_up.discard(key)  # withdrawn once
                # Committed after the person was told to try again: take it back, unless
                # a work process has already started it (then it is done, once).
                withdrawn = self._table.withdraw(recorded.ids[key])
                log.warning(
                    "work %s was recorded after its deadline; %s",
                    recorded.ids[key],
                    "withdrawn" if withdrawn else "already taken by a work process",
                )
            recording.settle()

    def _record_many(self, batch: list[_Recording]) -> Recorded:
        works = [r.work for r in batch]
        kept = self._connection
        try:
            if self._connection is None:
                self._connection = self._table.connect()
            return self._table.record_many(works, connection=self._connection)
        except DATABASE_UNAVAILABLE:
            self._drop_connection()
            if kept is None:
                raise
            # The kept connection may have died with a database restarted since the last
            # batch (what the pool's ping is for): once more, on a new one.
            self._connection = self._table.connect()
            return self._table.record_many(works, connection=self._connection)
        except Exception:
            self._drop_connection()
            raise

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()
                self._connection.close()
            self._connection = None

    @staticmethod
    def _fail(batch: list[_Recording], error: BaseException) -> None:
        for recording in batch:
            recording.error = error
            recording.settle()


class DurableHandOff(Middleware):
    """Records each acknowledged request's work before the acknowledgement goes. A Bolt
    global middleware (`app.use(handoff)`): each request's listener gets our `ack`.

    A `Middleware` subclass rather than a middleware function: Bolt calls a function
    through its argument injection, which inspects its signature and builds its
    arguments afresh on every request (about a tenth of the acknowledgement's CPU,
    docs/adr/0022); an instance's `process` it calls directly."""

    def __init__(
        self,
        table: WorkTable,
        tell: Callable[[int], None] | None,
        *,
        deadline: float = RECORD_SECONDS,
    ) -> None:
        """`tell` is given each recorded row's id, for whoever does the work to start it
        at once (without it, the work is found by the next sweep for free rows)."""
        self._table = table
        self._tell = tell
        self._deadline = deadline
        self._recorder = GroupRecorder(table)
        # Once a recording has failed, the database is taken to be unavailable until a
        # probe in the background can write again: meanwhile every request is told to try
        # again at once, instead of each holding a request thread for the whole deadline.
        # Without this, a burst larger than a worker's request threads queued behind the
        # waiting ones and was answered after Slack's 3 seconds.
        self._state = threading.Lock()
        self._failing = False

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],
    ) -> BoltResponse:
        req.context["ack"] = RecordingAck(self, req)
        return next()

    def record(self, request: BoltRequest) -> bool:
        """Record `request`'s work within the deadline; return whether it is recorded."""
        if self._is_failing():
            return False
        try:
            if self._record(request):
                return True
        except _Unrecordable:
            return False
        with self._state:
            # Several recordings fail together; the first to get here starts the probe.
            start_probe = not self._failing
            self._failing = True
        if start_probe:
            threading.Thread(target=self._probe, name="work-record-probe", daemon=True).start()
        return False

    def _is_failing(self) -> bool:
        with self._state:
            return self._failing

    def _probe(self) -> None:
        """Until the database takes a write again, then let recordings through."""
        while True:
            time.sleep(PROBE_SECONDS)
            try:
                self._table.probe()
            except Exception as exc:
                log.info("the database still cannot record Slack work: %s", exc)
                continue
            with self._state:
                self._failing = False
            log.info("recording Slack work again")
            return

    def _record(self, request: BoltRequest) -> bool:
        raw_body, content_type = recorded_body(request)
        recording = self._recorder.submit(NewWork(raw_body, content_type))
        if not recording.wait(self._deadline):
            with recording.lock:
                if not recording.committed:
                    recording.abandoned = True
            if recording.abandoned:
                log.warning("could not record Slack work within %.1f s", self._deadline)
                return False
            recording.wait()  # committed just now: its id is on its way
        if recording.error is not None:
            if isinstance(recording.error, DATABASE_UNAVAILABLE):
                log.error("could not record Slack work", exc_info=recording.error)
                return False
            # This request is refused, and the others go on being recorded.
            log.error("could not record this Slack request's work", exc_info=recording.error)
            raise _Unrecordable from recording.error
        if self._tell is not None and recording.work_id is not None:
            self._tell(recording.work_id)
        return True


def recorded_body(request: BoltRequest) -> tuple[str, str]:
    """(body, content type) to record for `request`, for a work process to dispatch as
    an HTTP request. Over HTTP, the body as Slack sent it; in Socket Mode, Bolt has only
    the payload Slack sent over the socket (its `raw_body` is empty), recorded as JSON,
    which Bolt reads back into the same payload."""
    if request.mode == "socket_mode":
        return json.dumps(request.body, sort_keys=True), "application/json"
    return request.raw_body, (request.headers.get("content-type") or [""])[0]


class RecordingAck(Ack):
    """Bolt's `ack` for one request, which records the work before acknowledging."""

    def __init__(self, handoff: DurableHandOff, request: BoltRequest) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._handoff = handoff
        self._request = request

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        if args or any(value not in (None, "") for value in kwargs.values()):
            # Answered from the request alone (help, a form's errors): no work follows.
            return super().__call__(*args, **kwargs)
        if self._handoff.record(self._request):
            return super().__call__()
        return self._try_again()

    def _try_again(self) -> BoltResponse:
        """Tell the person that nothing was done, in the way this kind of request can."""
        body = self._request.body
        if "command" in body:
            return super().__call__(response_type="ephemeral", text=DB_DOWN_TEXT)
        if body.get("type") == "view_submission":
            # On top of the form, which keeps what was typed for the retry.
            return super().__call__(
                response_action="push",
                view={
                    "type": "modal",
                    "title": {"type": "plain_text", "text": "Not sent"},
                    "close": {"type": "plain_text", "text": "Back"},
                    "blocks": [
                        {"type": "section", "text": {"type": "mrkdwn", "text": DB_DOWN_TEXT}}
                    ],
                },
            )
        response_url = body.get("response_url")
        if isinstance(response_url, str) and response_url:
            # A click's acknowledgement shows nothing: the message goes to the response
            # URL, from a thread, so that the acknowledgement does not wait for Slack.
            threading.Thread(
                target=_say_try_again, args=(response_url,), name="try-again", daemon=True
            ).start()
        return super().__call__()


def _say_try_again(response_url: str) -> None:
    try:
        WebhookClient(response_url, timeout=10).send(
            text=DB_DOWN_TEXT, response_type="ephemeral", replace_original=False
        )
    except Exception:
        log.exception("could not tell the person to try again")
