"""Posting the commit statuses the database says a pull request should carry.

Shared by the `deploybot/freeze` and `deploybot/deploy` statuses (docs/adr/0008 and
0015). Each keeps its wishes in its own table (one row per pull request) with the columns
of `StatusWishColumns`; `StatusSyncer` posts the unsynced ones to GitHub and marks them
synced. A wish that could not be posted (GitHub down, rate limited) stays unsynced and the
clock tries again; one GitHub refuses outright is given up after a few attempts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.attributes import flag_modified

from bot.db import Database, UTCDateTime, utcnow
from bot.github.client import GitHubClient, GitHubError, GitHubUnavailable

log = logging.getLogger(__name__)

# How long one process may hold a pull request's status while posting it. Far longer
# than the client's retries take; a process that died holding one frees it after this.
SYNC_LEASE = timedelta(minutes=5)
# A wish GitHub refused outright (404: the commit is gone, 422: bad request) is not
# retried forever.
MAX_REFUSED_ATTEMPTS = 5
# How many statuses one pass posts at most; the rest wait for the next tick.
SYNC_BATCH = 500
# How many times one sync re-posts a status that changed while it was being posted.
# Another sync skips a row this one holds, so whatever this one leaves waits for the
# clock: a deploy started, held by a blackout and overridden within one post is four
# wishes, and three chases once left the last of them unposted until the next tick.
MAX_CHASES = 10
# GitHub refuses commit-status descriptions longer than this.
MAX_STATUS_DESCRIPTION = 140


def fit_description(text: str, limit: int = MAX_STATUS_DESCRIPTION) -> str:
    """`text` cut to what GitHub accepts as a status description."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StatusWishColumns:
    """The columns of a table of status wishes: which commit of which pull request should
    carry which state, and whether GitHub has it yet."""

    repo: Mapped[str] = mapped_column(sa.String(140))
    number: Mapped[int]
    head_sha: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(10))
    description: Mapped[str] = mapped_column(sa.String(200))
    synced: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # A sync in progress holds the row until then, so that two processes never post
    # statuses for one pull request out of order.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def rewish(self, state: str, description: str, head_sha: str | None = None) -> None:
        """Write a new wish and mark it unsynced, so that a sync posts it.

        Every column is written whatever this session loaded: the ORM leaves out of its
        UPDATE a column set to the value it loaded, and a row loaded earlier in the
        transaction may be stale. Another process may have marked the old wish synced
        since; a stale `synced=False` set to False again would then never reach the
        database, and the new wish would never be posted."""
        if head_sha is not None:
            self.head_sha = head_sha
        self.state = state
        self.description = description
        self.synced = False
        self.attempts = 0
        self.last_error = None
        for column in ("head_sha", "state", "description", "synced", "attempts", "last_error"):
            flag_modified(self, column)


@dataclass(frozen=True)
class SyncReport:
    swept: int = 0
    posted: int = 0
    failed: int = 0

    def __add__(self, other: SyncReport) -> SyncReport:
        return SyncReport(
            self.swept + other.swept, self.posted + other.posted, self.failed + other.failed
        )

    @property
    def total(self) -> int:
        return self.swept + self.posted + self.failed


@dataclass(frozen=True)
class _Wish:
    number: int
    head_sha: str
    state: str
    description: str


class StatusSyncer:
    """Posts the unsynced wishes of one table (`model`) as commit statuses of `context`."""

    def __init__(
        self,
        database: Database,
        github: GitHubClient,
        model: type[StatusWishColumns],
        *,
        context: str,
        target_url: Callable[[str, int], str | None],
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.github = github
        # Typed loosely: the mixin's subclasses add `id`, which the mixin cannot name.
        self.model: Any = model
        self.context = context
        self.target_url = target_url
        self.now = now

    def sync(self, repo: str, only: Iterable[int] | None = None) -> SyncReport:
        """Post unsynced statuses to GitHub (all of `repo`'s, or the `only` row ids). Stops
        at the first sign that GitHub is unavailable: the clock carries on later."""
        model = self.model
        now = self.now()
        with self.database.transaction() as session:
            query = (
                sa.select(model.id)
                .where(model.synced.is_(False))
                .where(model.repo == repo)
                .where(model.attempts < MAX_REFUSED_ATTEMPTS)
                .where(sa.or_(model.claimed_until.is_(None), model.claimed_until < now))
                .order_by(model.id)
                .limit(SYNC_BATCH)
            )
            if only is not None:
                query = query.where(model.id.in_(list(only)))
            ids = list(session.scalars(query))
        posted = failed = 0
        for row_id in ids:
            try:
                if self._sync_one(repo, row_id):
                    posted += 1
            except GitHubUnavailable as exc:
                failed += 1
                log.warning(
                    "GitHub unavailable, %s statuses left for the clock: %s", self.context, exc
                )
                break
            except GitHubError as exc:
                failed += 1
                log.warning("GitHub refused a %s status: %s", self.context, exc)
        return SyncReport(posted=posted, failed=failed)

    def unsynced_count(self) -> int:
        model = self.model
        with self.database.transaction() as session:
            return int(
                session.scalar(
                    sa.select(sa.func.count()).select_from(model).where(model.synced.is_(False))
                )
                or 0
            )

    def _sync_one(self, repo: str, row_id: int) -> bool:
        """Post one row's status while holding it, so no other process posts an older
        wish for the same pull request after ours. Returns whether anything was posted."""
        model = self.model
        wish = self._take(row_id)
        if wish is None:
            return False
        held = True
        try:
            for _ in range(MAX_CHASES):
                try:
                    self.github.set_status(
                        repo,
                        wish.head_sha,
                        state=wish.state,
                        context=self.context,
                        description=wish.description,
                        target_url=self.target_url(repo, wish.number),
                    )
                except GitHubError as exc:
                    self._record_failure(row_id, exc)
                    raise
                with self.database.transaction() as session:
                    # Synced (and released) only if the wish did not change while we
                    # posted it; otherwise go round again and post the new one.
                    done = session.execute(
                        sa.update(model)
                        .where(model.id == row_id)
                        .where(model.head_sha == wish.head_sha)
                        .where(model.state == wish.state)
                        .where(model.description == wish.description)
                        .values(synced=True, attempts=0, last_error=None, claimed_until=None)
                    )
                    if done.rowcount == 1:  # type: ignore[attr-defined]
                        held = False
                        return True
                    row = session.get(model, row_id)
                    if row is None or row.synced:
                        return True
                    wish = _Wish(row.number, row.head_sha, row.state, row.description)
            log.warning(
                "%s status of #%s kept changing while posted; left for the clock",
                self.context,
                wish.number,
            )
            return True
        finally:
            if held:
                self._release(row_id)

    def _take(self, row_id: int) -> _Wish | None:
        """Hold the row for this process and return its wish, or None if it is synced
        already or someone else holds it."""
        model = self.model
        now = self.now()
        with self.database.transaction() as session:
            taken = session.execute(
                sa.update(model)
                .where(model.id == row_id)
                .where(model.synced.is_(False))
                .where(sa.or_(model.claimed_until.is_(None), model.claimed_until < now))
                .values(claimed_until=now + SYNC_LEASE)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = session.get(model, row_id)
            if row is None:
                return None
            return _Wish(row.number, row.head_sha, row.state, row.description)

    def _release(self, row_id: int) -> None:
        model = self.model
        with self.database.transaction() as session:
            session.execute(sa.update(model).where(model.id == row_id).values(claimed_until=None))

    def _record_failure(self, row_id: int, exc: GitHubError) -> None:
        # An outage says nothing about this wish, so it does not count towards giving up
        # (the clock retries it for as long as GitHub is down); a refusal does.
        model = self.model
        counts = not isinstance(exc, GitHubUnavailable)
        with self.database.transaction() as session:
            session.execute(
                sa.update(model)
                .where(model.id == row_id)
                .values(
                    last_error=str(exc)[:1000],
                    attempts=model.attempts + (1 if counts else 0),
                )
            )
