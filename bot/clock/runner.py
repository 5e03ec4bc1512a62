"""Runs the clock's tasks on an APScheduler interval.

APScheduler only provides the heartbeat: what is due is always read from the database
(see sent_once.py), so a restart loses nothing and a second clock sends nothing twice.
Of several clock processes only the one holding the lease (lease.py) ticks; the others
stand by and take over when it dies.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from bot.clock.lease import ClockLease
from bot.db import utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 30


@dataclass(frozen=True)
class ClockTask:
    name: str
    run: Callable[[datetime], int]  # returns how many things it did, for the log


def tick(
    tasks: Sequence[ClockTask],
    now: datetime | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> dict[str, int]:
    """Run every task once. A failing task is logged and does not stop the others;
    `keep_going` is asked before each task (a clock that lost its lease stops)."""
    now = now or utcnow()
    done: dict[str, int] = {}
    for task in tasks:
        if not keep_going():
            log.warning("clock lease lost mid-tick; leaving the rest to its new holder")
            break
        try:
            done[task.name] = task.run(now)
        except Exception:
            log.exception("clock task %s failed", task.name)
            done[task.name] = -1
    if any(done.values()):
        log.info("clock tick at %s: %s", now.isoformat(), done)
    return done


def run_forever(
    tasks: Sequence[ClockTask],
    clock: Callable[[], datetime] = utcnow,
    lease: ClockLease | None = None,
) -> None:
    """Tick every TICK_SECONDS while this process holds `lease` (always, without one)."""
    scheduler = BlockingScheduler(timezone="UTC")

    def held() -> bool:
        return lease is None or lease.held()

    def run_tick() -> None:
        if held():
            # Each tick asks the bot's clock (the composition root's) what time it is.
            tick(tasks, clock(), keep_going=held)

    scheduler.add_job(
        run_tick,
        "interval",
        seconds=TICK_SECONDS,
        next_run_time=utcnow(),
        # A tick that overran its interval is not worth running twice in a row.
        coalesce=True,
        max_instances=1,
        id="tick",
    )
    if lease is not None:
        lease.acquire()
        if not lease.held():
            log.info("another clock holds the lease; standing by (%s)", lease.holder)

        def keep_lease() -> None:
            had = lease.held()
            if lease.acquire() and not had:
                # Taken over from a clock that died: tick now, not at the next interval,
                # so what it left undone goes out within the minute.
                log.info("took over the clock lease; ticking now")
                scheduler.modify_job("tick", next_run_time=utcnow())
            elif had and not lease.held():
                log.warning("lost the clock lease; standing by")

        # On a thread of its own beside a long tick, so that a tick slower than the
        # lease does not lose it.
        scheduler.add_job(
            keep_lease,
            "interval",
            seconds=lease.renew_every.total_seconds(),
            coalesce=True,
            max_instances=1,
            id="lease",
        )

    def stop(signum: int, _frame: object) -> None:
        scheduler.shutdown(wait=False)

    # Heroku stops a dyno with SIGTERM: give the lease up on the way out, so the standby
    # takes over at its next try instead of when the lease runs out.
    signal.signal(signal.SIGTERM, stop)
    log.info("clock started: %s every %ss", ", ".join(t.name for t in tasks), TICK_SECONDS)
    try:
        scheduler.start()
    except KeyboardInterrupt:
        pass
    finally:
        if lease is not None:
            lease.release()
