"""The work behind Slack's acknowledgements, done on threads of the process that
acknowledges them, with the guarantee of the work processes (docs/adr/0018): a web
worker with WORK_PROCESSES=0, or the Socket Mode process.

Each acknowledged request is recorded in `slack_work` before the acknowledgement, as a
web worker records it for the work processes; its id is then handed to this process's
own runner (bot/slack/work_processes.py's WorkRunner: a claim, a Bolt app that runs the
lazy functions inline, the row deleted once done), and a thread claims, every second,
the rows nobody is doing: those this process or another one recorded and died with, once
their claims have run out. So a crash of this process loses nothing acknowledged: its
next start (or another web worker) does the work.
"""

from __future__ import annotations

import logging
import threading

from bot.bootstrap import Bot
from bot.slack.work_processes import SWEEP_SECONDS, WorkRunner, work_runner

log = logging.getLogger(__name__)


class WorkThreads:
    """A runner of recorded work, and the thread that sweeps for free rows."""

    def __init__(self, runner: WorkRunner) -> None:
        self._runner = runner
        self._stopping = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_forever, name="work-sweep", daemon=True)

    def start(self) -> None:
        self._sweeper.start()

    def take(self, work_id: int) -> None:
        """The acknowledgement recorded `work_id`: start it now (the runner's pool does
        it; this does not wait)."""
        self._runner.take(work_id)

    def stop(self) -> None:
        """Stop sweeping and finish the work already taken. (A process that exits without
        this loses nothing: Python waits for the runner's pool, and what is only recorded
        waits for the next start.)"""
        self._stopping.set()
        self._sweeper.join()
        self._runner.stop()

    def _sweep_forever(self) -> None:
        while not self._stopping.is_set():
            self._runner.sweep()
            self._stopping.wait(SWEEP_SECONDS)


def start_work_threads(bot: Bot) -> WorkThreads:
    """The work threads of a process that does its own work, started. Its acknowledging
    Bolt app is `bot.bolt_app(work_here=threads.take)`: it records each request's work
    before the acknowledgement and hands the row to these threads."""
    threads = WorkThreads(work_runner(bot))
    threads.start()
    log.info("work threads ready")
    return threads
