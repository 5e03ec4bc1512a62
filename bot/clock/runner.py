"""Runs the clock's tasks on an APScheduler interval.

APScheduler only provides the heartbeat: what is due is always read from the database
(see sent_once.py), so a restart loses nothing and a second clock sends nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from bot.db import utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 30


@dataclass(frozen=True)
class ClockTask:
    name: str
    run: Callable[[datetime], int]  # returns how many things it did, for the log


def tick(tasks: Sequence[ClockTask], now: datetime | None = None) -> dict[str, int]:
    """Run every task once. A failing task is logged and does not stop the others."""
    now = now or utcnow()
    done: dict[str, int] = {}
    for task in tasks:
        try:
            done[task.name] = task.run(now)
        except Exception:
            log.exception("clock task %s failed", task.name)
            done[task.name] = -1
    if any(done.values()):
        log.info("clock tick at %s: %s", now.isoformat(), done)
    return done


def run_forever(tasks: Sequence[ClockTask], clock: Callable[[], datetime] = utcnow) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        # Each tick asks the bot's clock (the composition root's) what time it is.
        lambda: tick(tasks, clock()),
        "interval",
        seconds=TICK_SECONDS,
        next_run_time=utcnow(),
        # A tick that overran its interval is not worth running twice in a row.
        coalesce=True,
        max_instances=1,
        id="tick",
    )
    log.info("clock started: %s every %ss", ", ".join(t.name for t in tasks), TICK_SECONDS)
    scheduler.start()
