"""The work behind Slack's acknowledgements, done in processes of its own (docs/adr/0013,
docs/adr/0018).

Web workers only verify, record the work in the database and acknowledge; the lazy
listeners (docs/adr/0012) run in separate work processes, at a lower CPU priority. A web
worker's acknowledgement then never waits for the GIL behind the work of other requests,
and when the machine is busy the operating system serves acknowledgements (due in 3
seconds) before work (due whenever it can).

A work process claims a recorded request (bot/slack/work_table.py), dispatches it
through its own copy of the Bolt app, whose executor runs the lazy functions there and
then, and deletes the row once the work is done. The web worker tells it each new row's
id over a local channel so that it starts at once; every second it also claims rows
nobody told it about (the message was lost with a web worker) or whose work process died
(its claim ran out). So nothing acknowledged is lost when any process is killed.

Processes (all under the gunicorn master, which makes the channel and starts the work
processes before it forks its web workers, so that every web worker inherits the channel):

    gunicorn master -+- web workers (WEB_CONCURRENCY)   --ids--> channel, rows --> database
                     +- work processes (WORK_PROCESSES) <--ids--'  claims <--'

The channel is a Unix SOCK_SEQPACKET socket pair, not a multiprocessing.Queue: the kernel
delivers each message whole to exactly one reader, so neither side takes a lock that a
process killed at the wrong moment could leave held (a Queue's reader lock is held by
every idle reader, and a killed one stops the work of all the others for good).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, MutableSequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TypeVar

from slack_bolt import App, BoltRequest

from bot.bootstrap import Bot, bootstrap
from bot.clock.lease import holder_name
from bot.logs import configure_logging
from bot.memory import give_back_free_memory
from bot.settings import Settings
from bot.slack.app import LISTENER_THREADS

# The channel and its messages are the web worker's side too; they are named here as well
# because both sides speak them.
from bot.slack.handoff import (
    MAX_MESSAGE_BYTES,
    STOP,
    ChannelSender,
    InlineExecutor,
    decode_work_id,
    encode_work_id,
    make_channel,
)
from bot.slack.readiness import readiness_report  # noqa: F401  (re-exported)
from bot.slack.work_table import Work, WorkTable

__all__ = [
    "MAX_MESSAGE_BYTES",
    "STOP",
    "ChannelSender",
    "WorkProcesses",
    "WorkRunner",
    "decode_work_id",
    "encode_work_id",
    "make_channel",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# A work process that dies is replaced after this pause, so one that cannot start (Slack
# unreachable for its auth.test, say) retries every few seconds instead of spinning.
RESTART_DELAY_SECONDS = 2.0
# How often an idle work process checks that the server that started it still exists.
PARENT_CHECK_SECONDS = 1.0
# How often a work process looks for recorded work nobody told it about, and renews its
# claims; also how often an idle one checks on the server (PARENT_CHECK_SECONDS).
SWEEP_SECONDS = PARENT_CHECK_SECONDS
# A sweep takes only rows at least this old: a younger one is still on its way to the
# work process its web worker told (which may be slow to read it: busy, or paused in
# the tests), and another server on the same database (tests again) must not take it.
ORPHANED_AFTER = timedelta(seconds=5)
# Ids a work process takes off the channel per thread of its pool before it waits for
# one to finish: enough that no thread waits for the next id, few enough that a burst's
# backlog stays in the channel and the database (WorkRunner.wait_for_room).
QUEUED_PER_THREAD = 2
# How often a work process of `deploybot work` (a worker dyno, WORK_ON_WEB=false) looks
# for new work: no web worker tells it, so this is what a request waits at most before
# its work starts. An idle process's look is one indexed read of an empty table.
WORKER_POLL_SECONDS = 0.2
# How long `deploybot work` gives its work processes to finish what they have taken once
# told to stop: inside the 30 s Heroku waits after SIGTERM before it kills the dyno.
WORKER_STOP_SECONDS = 25.0


def dispatch_work(app: App, work: Work) -> None:
    """Run one recorded request's listener (its acknowledgement again, which touches
    nothing, then its lazy functions, here and now) through the work process's Bolt app."""
    request = BoltRequest(
        body=work.body, headers={"content-type": [work.content_type]}, mode="http"
    )
    try:
        app.dispatch(request)
    except Exception:
        # The listeners report their own failures to the person (run_reporting_database_
        # outage); this is for anything that escapes them, so the process keeps going.
        log.exception("work %s for a Slack request failed", work.id)


class WorkRunner:
    """Claims recorded work and does it on a pool of threads, renewing its claims while
    it works."""

    def __init__(self, app: App, table: WorkTable, threads: int = LISTENER_THREADS) -> None:
        self._app = app
        self._table = table
        self._threads = threads
        self.holder = holder_name()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="slack-work")
        self._lock = threading.Condition()
        # Rows this process has claimed and not finished (their claims are renewed).
        self._claimed: set[int] = set()
        # Work given to the pool and not finished, claimed or not yet.
        self._outstanding = 0
        self._renewed_at = time.monotonic()
        # Whether work has been done since the memory was last given back.
        self._worked = False

    def take(self, work_id: int) -> None:
        """A web worker recorded this row: claim and do it, unless another process has."""
        self._submit(self._claim_and_do, work_id)

    def sweep(self, older_than: timedelta = ORPHANED_AFTER) -> None:
        """Claim free rows recorded more than `older_than` ago (while threads are free) and
        renew the claims in progress."""
        with self._lock:
            free = self._threads - self._outstanding
        try:
            if time.monotonic() - self._renewed_at > self._table.lease.total_seconds() / 3:
                with self._lock:
                    claimed = list(self._claimed)
                self._table.renew(self.holder, claimed)
                self._renewed_at = time.monotonic()
            with self._lock:
                doing = list(self._claimed)
            for work in self._table.claim_free(
                self.holder, free, older_than=older_than, doing=doing
            ):
                with self._lock:
                    self._claimed.add(work.id)
                self._submit(self._do, work)
        except Exception:
            # The database is down or busy: the work waits in it for the next sweep.
            log.exception("could not look for recorded work")

    def wait_for_room(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds until fewer than QUEUED_PER_THREAD ids per thread
        wait for a thread; return whether there is room. A burst then waits in the
        channel and the database, not in this process's memory: its allocator kept the
        high-water mark of a queue of tens of thousands of tasks (282 MiB RSS after the
        benchmark's bursts, docs/performance.md)."""
        with self._lock:
            return self._lock.wait_for(
                lambda: self._outstanding < self._threads * QUEUED_PER_THREAD, timeout
            )

    def give_back_memory_if_idle(self) -> None:
        """Once idle after some work, give the free memory back to the system (once: an
        idle process asks every second)."""
        with self._lock:
            if self._outstanding or not self._worked:
                return
            self._worked = False
        give_back_free_memory()

    def stop(self) -> None:
        """Finish the work already taken, then return."""
        self._pool.shutdown(wait=True)

    def _submit(self, function: Callable[[T], None], argument: T) -> None:
        with self._lock:
            self._outstanding += 1

        def run() -> None:
            try:
                function(argument)
            finally:
                with self._lock:
                    self._outstanding -= 1
                    self._worked = True
                    self._lock.notify_all()

        self._pool.submit(run)

    def _claim_and_do(self, work_id: int) -> None:
        try:
            work = self._table.claim(work_id, self.holder)
        except Exception:
            log.exception("could not claim work %s; a later sweep takes it", work_id)
            return
        if work is None:
            return  # done or being done by another process
        with self._lock:
            self._claimed.add(work.id)
        self._do(work)

    def _do(self, work: Work) -> None:
        try:
            dispatch_work(self._app, work)
            for attempt in range(3):
                try:
                    self._table.finish(work.id)
                    break
                except Exception:
                    # Left unfinished, it would be done again once the claim runs out
                    # (its idempotency key makes that harmless, but not silent).
                    log.exception("could not mark work %s done (try %s)", work.id, attempt + 1)
                    time.sleep(1)
        finally:
            with self._lock:
                self._claimed.discard(work.id)


def work_runner(bot: Bot) -> WorkRunner:
    """A runner of `bot`'s recorded work: a Bolt app of its own, whose executor runs the
    lazy functions on the thread that dispatches the request, so that the runner knows
    when the work is done. For a work process, and for the work threads of a process
    that does its own work (bot/slack/work_threads.py)."""
    settings = bot.settings
    app = bot.bolt_app(verify_requests=False, listener_executor=InlineExecutor())
    table = WorkTable(bot.container.database, lease=timedelta(seconds=settings.work_lease_seconds))
    return WorkRunner(app, table)


class WorkProcesses:
    """The pool of work processes, kept by the gunicorn master: started before the web
    workers are forked, replaced when one dies, and stopped after the web workers, once
    they can no longer add work, so that work already acknowledged is finished."""

    def __init__(self, settings: Settings, *, told: bool = True) -> None:
        """`told`: web workers tell these processes of new work on the channel (the web
        dyno); if not (`deploybot work`), they look for it in the database."""
        self._settings = settings
        self._told = told
        # "fork" (docs/adr/0020): a work process shares the bot's imported code with the
        # master, which has imported it before it starts them (a spawned one imported it
        # all again, 80 MiB of its own). It inherits no database connection (the master
        # never opens one) and drops what it must not keep of the master: gunicorn's
        # signal handlers and listening sockets (forget_the_server()).
        self._context = multiprocessing.get_context("fork")
        self._reader, self.writer = make_channel()
        # One flag per work process, 1 once it has built its Bolt app and takes work. In
        # shared memory made before gunicorn forks, so that every web worker's /healthz
        # reads what the work processes wrote (a spawned process gets it as an argument).
        self.readiness = self._context.RawArray("b", max(settings.work_processes, 1))
        self._processes: list[BaseProcess] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> None:
        with self._lock:
            self._processes = [self._spawn(i) for i in range(self._settings.work_processes)]
        threading.Thread(target=self._supervise, name="work-supervisor", daemon=True).start()

    def stop(self, timeout: float) -> None:
        """Ask each work process to finish what is waiting and exit; wait up to `timeout`
        seconds, then kill what is left (SIGKILL: a work process ignores SIGTERM)."""
        self._stopping.set()
        with self._lock:
            processes = list(self._processes)
        # Messages are taken in order, so each process reaches a STOP only after the
        # channel's earlier work has been taken.
        for _ in processes:
            self.writer.sendall(STOP)
        deadline = time.monotonic() + timeout
        for process in processes:
            if not wait([process.sentinel], max(0.0, deadline - time.monotonic())):
                log.warning("work process %s still busy at shutdown; killing it", process.pid)
                process.kill()

    def _spawn(self, index: int) -> BaseProcess:
        self.readiness[index] = 0
        process = self._context.Process(
            target=run_work_process,
            args=(self._settings, self._reader, os.getpid(), (self.readiness, index), self._told),
            name="deploybot-work",
        )
        process.start()
        log.info("work process started (pid %s)", process.pid)
        return process

    def _supervise(self) -> None:
        # A process's sentinel is ready once it has exited. Not `is_alive()`: gunicorn's
        # SIGCHLD handler reaps every child of the master, these too, and a process
        # reaped by someone else looks alive to multiprocessing for ever.
        while not self._stopping.is_set():
            with self._lock:
                sentinels = {process.sentinel: i for i, process in enumerate(self._processes)}
            for sentinel in wait(list(sentinels), timeout=PARENT_CHECK_SECONDS):
                if self._stopping.is_set():
                    return
                index = sentinels[sentinel]  # type: ignore[index]
                process = self._processes[index]
                self.readiness[index] = 0
                # The work it had claimed is claimed again once its claims run out (ADR
                # 0018); what is still in the channel waits for the other work processes
                # or the replacement.
                log.error(
                    "work process %s exited; starting another in %.0f s",
                    process.pid,
                    RESTART_DELAY_SECONDS,
                )
                if self._stopping.wait(RESTART_DELAY_SECONDS):
                    return
                with self._lock:
                    self._processes[index] = self._spawn(index)


def lower_priority(nice: int) -> None:
    """Give this process only the CPU that everything else leaves over."""
    os.nice(nice)
    # With the kernel's autogroup scheduling (on by default in many distributions, and on
    # the machines this project is measured on), CPU time is shared first between
    # sessions, and nice orders processes only within one. Left in the server's session,
    # a work process's CPU time is charged to the session as a whole, web workers
    # included, as if it ran at normal priority. So it takes a session of its own, and
    # gives that session's group the same nice.
    os.setsid()
    # Without autogroup (not built in, or a container with a CPU cgroup of its own, where
    # plain nice already orders every process) there is no such file: the nice above is
    # all there is.
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(nice))


# The name a work process gives itself (at most 15 bytes, the kernel's limit), so that
# ps, top and the benchmark tell it from the gunicorn master it was forked from.
PROCESS_NAME = "deploybot-work"
# Signals gunicorn's master handles: a forked work process must not run the master's
# handlers, which write to the master's wake-up pipe.
_SERVER_SIGNALS = ("SIGHUP", "SIGQUIT", "SIGTTIN", "SIGTTOU", "SIGUSR1", "SIGUSR2", "SIGWINCH")


def forget_the_server(keep: socket.socket) -> None:
    """In a work process forked from the gunicorn master: take a name of its own, restore
    the default handlers of the master's signals and close the listening sockets it
    inherited (one replaced while gunicorn runs would otherwise hold the port open)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(PROCESS_NAME)
    for name in _SERVER_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for entry in Path("/proc/self/fd").iterdir():
        fd = int(entry.name)
        if fd == keep.fileno():
            continue
        with contextlib.suppress(OSError):
            candidate = socket.socket(fileno=fd)
            try:
                if candidate.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                    candidate.close()
                    continue
            finally:
                # Not ours to close: only the listening ones are.
                if candidate.fileno() != -1:
                    candidate.detach()


def run_work_process(
    settings: Settings,
    reader: socket.socket,
    parent_pid: int,
    ready_flag: tuple[MutableSequence[int], int] | None = None,
    told: bool = True,
) -> None:
    """The body of a work process: build the bot, then run the work it receives on a
    thread pool until told to stop or until the server that started it is gone. Sets its
    `ready_flag` (the pool's readiness array and its index) once it can take work. Not
    `told` of new work (a worker dyno), it looks for it every WORKER_POLL_SECONDS."""
    # Shutdown is the master's to order (after its web workers have stopped adding work);
    # a signal to the whole process group (Ctrl-C, Heroku's SIGTERM) must not cut it short.
    forget_the_server(keep=reader)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lower_priority(settings.work_nice)
    configure_logging(settings.log_level)

    runner = work_runner(bootstrap(settings))
    log.info("work process %s ready", os.getpid())
    # A worker dyno's processes take any free row at once: no web worker has told one of
    # them about it, so none is on its way to another.
    every, older_than = (
        (SWEEP_SECONDS, ORPHANED_AFTER) if told else (WORKER_POLL_SECONDS, timedelta(0))
    )
    reader.settimeout(every)
    if ready_flag is not None:
        flags, index = ready_flag
        flags[index] = 1
    swept_at = 0.0
    while True:
        if time.monotonic() - swept_at >= every:
            runner.sweep(older_than)
            swept_at = time.monotonic()
        try:
            message = reader.recv(MAX_MESSAGE_BYTES)
        except TimeoutError:
            runner.give_back_memory_if_idle()
            if os.getppid() != parent_pid:
                log.warning("the server that started this work process is gone; exiting")
                break
            continue
        if message == STOP:
            break
        runner.take(decode_work_id(message))
        while not runner.wait_for_room(every):
            if time.monotonic() - swept_at >= every:
                # Still renew the claims of the work in progress.
                runner.sweep(older_than)
                swept_at = time.monotonic()
    # Finish the work already taken; what is only recorded waits for the next start.
    runner.stop()
    log.info("work process %s finished", os.getpid())


def run_worker(settings: Settings) -> None:
    """`deploybot work`: WORK_PROCESSES work processes that do the work the web dynos
    record (WORK_ON_WEB=false, docs/adr/0020), until SIGTERM or SIGINT; then each
    finishes the work it has taken, and what is only recorded waits in the database."""
    # As in the web dyno's master: the forked work processes share what is imported.
    gc.freeze()
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("%s: stopping once the work taken is done", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    work = WorkProcesses(settings, told=False)
    work.start()
    while not stop.wait(PARENT_CHECK_SECONDS):
        pass
    work.stop(timeout=WORKER_STOP_SECONDS)
    log.info("worker stopped")
