"""The web worker's side of the work hand-off (docs/adr/0013): the channel to the work
processes, its message format, and the Bolt listener runner that sends a request's lazy
work down it instead of running it here. The work processes' side is
bot/slack/work_processes.py; this module imports nothing of the bot's, so the Bolt app
(bot/slack/app.py) can use it without importing the work processes back.
"""

from __future__ import annotations

import atexit
import collections
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence

from slack_bolt import App, BoltRequest
from slack_bolt.listener.thread_runner import ThreadListenerRunner
from slack_bolt.util.utils import get_name_for_callable

log = logging.getLogger(__name__)

# (lazy function name, raw body, query, headers): what a work process needs to rebuild
# the request (encode_work).
WorkItem = tuple[str, str, dict[str, Sequence[str]], dict[str, Sequence[str]]]
# Sent once per work process to tell it to finish and exit.
STOP = b"null"
# The largest message; Slack's request bodies are far smaller. The send buffer must hold
# a whole message, so it is set to the same.
MAX_MESSAGE_BYTES = 1024 * 1024

# How long a stopping web worker waits to hand on the work it has acknowledged.
FLUSH_SECONDS = 5.0


def encode_work(item: WorkItem) -> bytes:
    """One message on the channel: the JSON of (name, query, headers), a NUL byte, then the
    raw body as it came. JSON-escaping a body of several kilobytes cost the web worker more
    than the rest of the hand-off; JSON text never contains a NUL, so the first one ends it."""
    name, raw_body, query, headers = item
    return json.dumps([name, query, headers]).encode() + b"\0" + raw_body.encode()


def decode_work(message: bytes) -> WorkItem:
    head, _, body = message.partition(b"\0")
    name, query, headers = json.loads(head)
    return name, body.decode(), query, headers


def make_channel() -> tuple[socket.socket, socket.socket]:
    """(reading end, writing end) of the channel from web workers to work processes."""
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, MAX_MESSAGE_BYTES)
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, MAX_MESSAGE_BYTES)
    return reader, writer


class ChannelSender:
    """Sends work on the channel without ever making the caller (the acknowledgement) wait
    for a work process to take it. Started in the web worker, after gunicorn's fork.

    While the channel has room, the caller's thread sends the message itself, without
    blocking. Once it is full (the work processes are behind), messages queue here, in
    order, and a thread of this class's own waits for room. Handing every message to that
    thread instead cost more than the send: a thread switch, and passing the interpreter
    lock back and forth, for each request."""

    def __init__(self, writer: socket.socket) -> None:
        self._writer = writer
        # Encoded messages: plain bytes, which the garbage collector never has to walk,
        # however long the queue grows.
        self._pending: collections.deque[bytes] = collections.deque()
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._send_forever, name="work-send", daemon=True)
        self._thread.start()
        atexit.register(self.flush, FLUSH_SECONDS)

    def send(self, item: WorkItem) -> None:
        message = encode_work(item)
        with self._ready:
            # Only when nothing is queued, so that messages keep their order.
            if not self._pending:
                try:
                    self._writer.send(message, socket.MSG_DONTWAIT)
                    return
                except BlockingIOError:
                    pass  # the channel is full: queue it for the sending thread
                except OSError:
                    log.exception("could not hand work to the work processes; it is lost")
                    return
            self._pending.append(message)
            self._ready.notify_all()

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
                log.exception("could not hand work to the work processes; it is lost")
            with self._ready:
                self._pending.popleft()
                self._ready.notify_all()


class HandOffListenerRunner(ThreadListenerRunner):
    """Bolt's listener runner for a web worker: runs each acknowledgement as Bolt does,
    then hands the request's lazy functions to the work processes instead of starting them
    on a thread here.

    Bolt's own route to a lazy-listener runner re-parses the body and deep-copies the
    whole request for each lazy function (`ThreadListenerRunner._build_lazy_request`), so
    that another thread of this process can use it. A work process rebuilds the request
    from the raw body anyway, so that copy was pure cost on the acknowledgement's path: a
    quarter of a web worker's CPU for an Approve click (docs/performance.md). The price is
    overriding `_start_lazy_function`, a private method; should a Bolt upgrade stop calling
    it, the work would run in the web worker again, and the work-process tests fail."""

    def __init__(self, runner: ThreadListenerRunner, sender: ChannelSender) -> None:
        super().__init__(
            logger=runner.logger,
            process_before_response=runner.process_before_response,
            listener_error_handler=runner.listener_error_handler,
            listener_start_handler=runner.listener_start_handler,
            listener_completion_handler=runner.listener_completion_handler,
            listener_executor=runner.listener_executor,
            lazy_listener_runner=runner.lazy_listener_runner,
        )
        self._sender = sender

    def _start_lazy_function(self, lazy_func: Callable[..., None], request: BoltRequest) -> None:
        # No copy: the raw body is a string, and the sender encodes the query and headers
        # before this returns.
        name = get_name_for_callable(lazy_func)
        self._sender.send((name, request.raw_body, request.query, request.headers))


def hand_work_to_work_processes(app: App, writer: socket.socket) -> None:
    """Make a web worker's Bolt app send the work after each acknowledgement down the
    channel to the work processes."""
    # Bolt has no constructor argument for the listener runner; the attribute is the one
    # place its App keeps it.
    app._listener_runner = HandOffListenerRunner(app.listener_runner, ChannelSender(writer))
