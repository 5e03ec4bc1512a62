"""The work behind Slack's acknowledgements, done in processes of its own (docs/adr/0013).

Web workers only verify, acknowledge and hand the request on; the lazy listeners
(docs/adr/0012) run in separate work processes, at a lower CPU priority. A web worker's
acknowledgement then never waits for the GIL behind the work of other requests, and when
the machine is busy the operating system serves acknowledgements (due in 3 seconds)
before work (due whenever it can).

The hand-off reuses Bolt's own mechanism for running lazy listeners elsewhere (its AWS
Lambda adapter does the same): the request's raw body and headers are passed on with
`x-slack-bolt-lazy-only` and the lazy function's name, and the work process's copy of the
Bolt app dispatches them, running just that function.

Processes (all under the gunicorn master, which starts the work processes before it
forks its web workers, so every web worker inherits the one queue):

    gunicorn master -+- web workers (WEB_CONCURRENCY)   --put--> queue
                     +- work processes (WORK_PROCESSES) <--get--'
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.queues
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from slack_bolt import App, BoltRequest
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.util.utils import get_name_for_callable

from bot.settings import Settings

log = logging.getLogger(__name__)

# (lazy function name, raw body, query, headers): what a work process needs to rebuild
# the request. Plain strings and lists, so it pickles cheaply.
WorkItem = tuple[str, str, dict[str, Sequence[str]], dict[str, Sequence[str]]]
if TYPE_CHECKING:
    WorkQueue = multiprocessing.queues.Queue[WorkItem | None]
else:  # not subscriptable at run time
    WorkQueue = multiprocessing.queues.Queue
# Put on the queue once per work process to tell it to finish and exit.
STOP = None

# A work process that dies is replaced after this pause, so one that cannot start (Slack
# unreachable for its auth.test, say) retries every few seconds instead of spinning.
RESTART_DELAY_SECONDS = 2.0
# How often an idle work process checks that the server that started it still exists.
PARENT_CHECK_SECONDS = 1.0


class QueuedLazyListenerRunner(LazyListenerRunner):
    """Bolt's lazy-listener runner for web workers: instead of running the work on a
    thread, put the request on the work queue. `multiprocessing.Queue.put` only appends
    to a buffer (a feeder thread writes it to the pipe), so the acknowledgement, which
    Bolt sends after this returns, never waits on a work process."""

    def __init__(self, work_queue: WorkQueue) -> None:
        self.logger = log
        self._queue = work_queue

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        name = request.lazy_function_name or get_name_for_callable(function)
        self._queue.put((name, request.raw_body, dict(request.query), dict(request.headers)))


def dispatch_work(app: App, item: WorkItem) -> None:
    """Run one lazy listener from the queue through the work process's Bolt app."""
    name, raw_body, query, headers = item
    headers = {
        **headers,
        "x-slack-bolt-lazy-only": ["1"],
        "x-slack-bolt-lazy-function-name": [name],
    }
    try:
        app.dispatch(BoltRequest(body=raw_body, query=query, headers=headers, mode="http"))
    except Exception:
        # The listeners report their own failures to the person (run_reporting_database_
        # outage); this is for anything that escapes them, so the process keeps going.
        log.exception("work for a Slack request failed (%s)", name)


class WorkProcesses:
    """The pool of work processes, kept by the gunicorn master: started before the web
    workers are forked, replaced when one dies, and stopped after the web workers, once
    they can no longer add work, so that work already acknowledged is finished."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # "spawn": a work process starts from a fresh interpreter, so it inherits none of
        # the master's sockets, signal handlers, locks or database connections.
        self._context = multiprocessing.get_context("spawn")
        self.queue: WorkQueue = self._context.Queue()
        self._processes: list[BaseProcess] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def pids(self) -> list[int | None]:
        return [process.pid for process in self._processes]

    def start(self) -> None:
        with self._lock:
            self._processes = [self._spawn() for _ in range(self._settings.work_processes)]
        self._supervisor = threading.Thread(
            target=self._supervise, name="work-supervisor", daemon=True
        )
        self._supervisor.start()

    def stop(self, timeout: float) -> None:
        """Ask each work process to finish what is queued and exit; wait up to `timeout`
        seconds, then terminate what is left."""
        self._stopping.set()
        with self._lock:
            processes = list(self._processes)
        for _ in processes:
            self.queue.put(STOP)
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("work process %s still busy at shutdown; terminating it", process.pid)
                process.terminate()
                process.join(1.0)
        self.queue.close()

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(
            target=run_work_process,
            args=(self._settings, self.queue, os.getpid()),
            name="deploybot-work",
        )
        process.start()
        log.info("work process started (pid %s)", process.pid)
        return process

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                sentinels = [process.sentinel for process in self._processes]
            wait(sentinels, timeout=PARENT_CHECK_SECONDS)
            for index, process in enumerate(list(self._processes)):
                if process.is_alive() or self._stopping.is_set():
                    continue
                # Work it had taken from the queue is lost (ADR 0013); what is still on
                # the queue waits for the replacement.
                log.error(
                    "work process %s exited (code %s); starting another in %.0f s",
                    process.pid,
                    process.exitcode,
                    RESTART_DELAY_SECONDS,
                )
                if self._stopping.wait(RESTART_DELAY_SECONDS):
                    return
                with self._lock:
                    self._processes[index] = self._spawn()


def run_work_process(settings: Settings, work_queue: WorkQueue, parent_pid: int) -> None:
    """The body of a work process: build the bot, then run queued work on a thread pool
    until told to stop or until the server that started it is gone."""
    # Imported here, not at the top: bot.slack.app imports this module.
    from bot.container import build_container
    from bot.logs import configure_logging
    from bot.slack.app import LISTENER_THREADS, build_bolt_app

    # Shutdown is the master's to order (after its web workers have stopped adding work);
    # a signal to the whole process group (Ctrl-C, Heroku's SIGTERM) must not cut it short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.nice(settings.work_nice)
    configure_logging(settings.log_level)

    app = build_bolt_app(build_container(settings), verify_requests=False)
    with ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="slack-work") as pool:
        while True:
            try:
                item = work_queue.get(timeout=PARENT_CHECK_SECONDS)
            except queue.Empty:
                if os.getppid() != parent_pid:
                    log.warning("the server that started this work process is gone; exiting")
                    break
                continue
            if item is STOP:
                break
            pool.submit(dispatch_work, app, item)
    # Leaving the `with` waited for the work in progress.
    log.info("work process %s finished", os.getpid())
