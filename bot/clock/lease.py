"""One clock works at a time: a lease row in the database (issue 15).

Every `deploybot clock` process tries to hold the lease named "clock". The holder renews
it every `renew_every` (a third of its length) and ticks only while it holds it; the
others stand by and try again as often. A holder that dies (SIGKILL, a crashed dyno)
stops renewing, so its lease runs out and a standby takes it over, at most the lease's
length plus one renewal interval later (40 s with the defaults). A holder that stops on
purpose gives the lease up at once.

The lease is an extra layer, not the only one: sends stay unique by their own claims
(bot/clock/sent_once.py, ADR 0007), so a holder that stalled past its lease (a long GC
pause, a partition) and ticks once more beside its successor still sends nothing twice.
What the lease adds is that two clocks do not each do the same work (and race over every
claim), and that the second one can run on purpose, as a standby.

Time here is each process's wall clock, not the database's: SQLite has no comparable
clock, and dynos keep theirs in sync to well under the lease's length.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Database, UTCDateTime, utcnow

log = logging.getLogger(__name__)

CLOCK_LEASE = "clock"
DEFAULT_LEASE_SECONDS = 30


class Lease(Base):
    __tablename__ = "clock_lease"

    name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)


def holder_name() -> str:
    """Who holds a lease: host and pid for the operator reading the table, and a random
    part so that a pid reused after a restart is not mistaken for the old holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ClockLease:
    """This process's side of one lease."""

    def __init__(
        self,
        database: Database,
        *,
        seconds: int = DEFAULT_LEASE_SECONDS,
        name: str = CLOCK_LEASE,
        holder: str | None = None,
    ) -> None:
        self._database = database
        self.length = timedelta(seconds=seconds)
        self.name = name
        self.holder = holder or holder_name()
        # Until when this process may act on the lease: the expiry it last wrote. Read
        # before each tick, so that a holder that could not renew (database down) stops
        # working once its lease may have passed to another.
        self._held_until: datetime | None = None

    @property
    def renew_every(self) -> timedelta:
        # Three tries before the lease runs out: one failed renewal does not lose it.
        return self.length / 3

    def held(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self._held_until is not None and now < self._held_until

    def acquire(self, now: datetime | None = None) -> bool:
        """Take the lease if it is free or lapsed, or renew it if this process holds it.
        Return whether this process holds it now."""
        now = now or utcnow()
        expires = now + self.length
        try:
            with self._database.transaction() as session:
                taken = session.execute(
                    sa.update(Lease)
                    .where(Lease.name == self.name)
                    .where(sa.or_(Lease.holder == self.holder, Lease.expires_at < now))
                    .values(
                        holder=self.holder,
                        expires_at=expires,
                        # A renewal keeps the time it was first taken; a takeover resets it.
                        acquired_at=sa.case(
                            (Lease.holder == self.holder, Lease.acquired_at), else_=now
                        ),
                    )
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    if session.get(Lease, self.name) is not None:
                        self._held_until = None
                        return False
                    session.add(
                        Lease(
                            name=self.name, holder=self.holder, expires_at=expires, acquired_at=now
                        )
                    )
        except sa.exc.IntegrityError:
            # Another clock inserted the first row at the same moment: it holds it.
            self._held_until = None
            return False
        except sa.exc.SQLAlchemyError:
            # The database is unreachable: keep what is left of the lease, no more.
            log.exception("could not renew the clock lease")
            return self.held(now)
        if self._held_until is None:
            log.info("this clock (%s) holds the lease", self.holder)
        self._held_until = expires
        return True

    def release(self) -> None:
        """Give the lease up, so that a standby takes over at its next try."""
        self._held_until = None
        try:
            with self._database.transaction() as session:
                session.execute(
                    sa.delete(Lease)
                    .where(Lease.name == self.name)
                    .where(Lease.holder == self.holder)
                )
        except sa.exc.SQLAlchemyError:
            log.exception("could not release the clock lease; it runs out by itself")

    def current_holder(self) -> str | None:
        with self._database.transaction() as session:
            row = session.get(Lease, self.name)
            return row.holder if row is not None else None
