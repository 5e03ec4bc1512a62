"""Enforcing a freeze on GitHub: a `deploybot/freeze` commit status on every open pull
request against the frozen branch (failure while frozen, success otherwise), so that
branch protection blocks the merge. See docs/adr/0008-freeze-enforcement.md.

GitHub is only ever told what the database already says (`pr_status`), in three steps:

1. Decide: a freeze or unfreeze marks its row `sweep_pending`; a pull-request webhook
   writes that one pull request's wish directly (`record_pull_request`).
2. Sweep: list the branch's open pull requests and write each one's wish (failure or
   success) into `pr_status`, unsynced. Done right after the change and by the clock
   until it succeeds.
3. Sync: post every unsynced wish to GitHub and mark it synced. A wish that could not be
   posted (GitHub down, rate limited) stays unsynced and the clock tries again.

Nothing here runs before a Slack acknowledgement: callers run it after `ack()` (Bolt
listeners), after a webhook's response was sent, or in the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db import Database, utcnow
from bot.freeze.model import Freeze, PullRequestStatus
from bot.freeze.rules import STATUS_CONTEXT, FreezeFacts, desired_status
from bot.github.client import GitHubClient, GitHubError, GitHubUnavailable, PullRequest
from bot.idempotency import AlreadyProcessed, claim

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
MAX_CHASES = 3

PULL_REQUEST_ACTIONS = frozenset({"opened", "reopened", "synchronize", "closed", "edited"})


@dataclass(frozen=True)
class WebhookResult:
    """What a pull_request delivery did, for the HTTP answer and the log."""

    status: str  # "recorded", "forgotten", "ignored" or "duplicate"
    detail: str = ""
    pull_status_id: int | None = None


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


class FreezeEnforcer:
    def __init__(
        self,
        database: Database,
        github: GitHubClient,
        *,
        repo: str | None,
        branch: str,
        enabled: bool,
        target_url: str | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.github = github
        self.repo = repo
        self.branch = branch
        # Off when GITHUB_TOKEN or GITHUB_REPO is missing: freezes are then announced only.
        self.enabled = enabled and repo is not None
        self.target_url = target_url
        self.now = now

    # -- the whole job ---------------------------------------------------------------

    def enforce(self) -> SyncReport:
        """Sweep if a freeze started or ended, then post whatever is unsynced. Safe to
        call from anywhere after the acknowledgement, and repeatedly."""
        if not self.enabled:
            return SyncReport()
        report = self.sweep()
        return report + self.sync()

    def safe_enforce(self) -> None:
        """`enforce`, for callers that have nobody to report to: failures are logged and
        left for the clock."""
        try:
            self.enforce()
        except Exception:
            log.exception("freeze enforcement failed; the clock will try again")

    # -- step 2: sweep ---------------------------------------------------------------

    def sweep(self) -> SyncReport:
        """If the branch's freeze changed since the last sweep, list its open pull
        requests and write down the status each one should have now."""
        repo = self._repo()
        with self.database.transaction() as session:
            pending_ids = list(
                session.scalars(
                    sa.select(Freeze.id)
                    .where(Freeze.branch == self.branch)
                    .where(Freeze.sweep_pending.is_(True))
                )
            )
            if not pending_ids:
                return SyncReport()
            before = self._state(session)
            # First, from what we already know: pull requests that have a row get their
            # new wish now, so an unfreeze turns them green even if the listing below
            # fails (GitHub down). The listing then adds the ones we did not know of.
            known_rows = list(
                session.scalars(sa.select(PullRequestStatus).where(PullRequestStatus.repo == repo))
            )
            for known_row in known_rows:
                self._wish(session, known_row.number, known_row.head_sha, before)
        started = self.now()
        try:
            pulls = list(self.github.open_pulls(repo, self.branch))
        except GitHubUnavailable as exc:
            log.warning("could not list open pull requests (will retry): %s", exc)
            return SyncReport(failed=1)
        with self.database.transaction() as session:
            facts = self._state(session)
            if facts != before:
                # The freeze changed while we listed: what we were about to write is
                # already stale. The change left its own sweep pending; leave it be.
                return SyncReport()
            known = {
                row.number: row
                for row in session.scalars(
                    sa.select(PullRequestStatus).where(PullRequestStatus.repo == repo)
                )
            }
            listed = {pull.number for pull in pulls}
            for pull in pulls:
                row = known.get(pull.number)
                # A webhook that arrived while we were listing knows a newer head commit
                # than our listing does: keep its sha (the state follows the freeze).
                fresher = row is not None and row.updated_at >= started
                head_sha = row.head_sha if row is not None and fresher else pull.head_sha
                self._wish(session, pull.number, head_sha, facts)
            # Pull requests we knew of that are no longer open against the branch
            # (closed, or retargeted, while a webhook was missed) need nothing more;
            # rows written since we listed are a webhook's news and stay.
            gone = [n for n, row in known.items() if n not in listed and row.updated_at < started]
            if gone:
                session.execute(
                    sa.delete(PullRequestStatus)
                    .where(PullRequestStatus.repo == repo)
                    .where(PullRequestStatus.number.in_(gone))
                )
            session.execute(
                sa.update(Freeze).where(Freeze.id.in_(pending_ids)).values(sweep_pending=False)
            )
        log.info("freeze sweep: %d open pull request(s) against %s", len(pulls), self.branch)
        return SyncReport(swept=len(pulls))

    # -- webhooks --------------------------------------------------------------------

    def record_pull_request(
        self, action: str, payload: dict[str, object], delivery_id: str
    ) -> WebhookResult:
        """Write down the status one pull request should carry after a webhook, in the
        same transaction that claims the delivery id (a redelivery does nothing)."""
        if action not in PULL_REQUEST_ACTIONS:
            return WebhookResult("ignored", f"action {action!r}")
        if not self.enabled:
            return WebhookResult("ignored", "GitHub enforcement is not configured")
        repo = _dig(payload, "repository", "full_name")
        if not isinstance(repo, str) or repo.lower() != (self.repo or "").lower():
            return WebhookResult("ignored", f"repository {repo!r} is not GITHUB_REPO")
        raw_pull = payload.get("pull_request")
        if not isinstance(raw_pull, dict):
            raise ValueError("pull_request event without a pull_request object")
        pull = PullRequest.from_api(self.repo or repo, raw_pull)
        try:
            with self.database.transaction() as session:
                claim(session, f"github:{delivery_id}")
                on_branch = pull.base_ref == self.branch and pull.state == "open"
                if action == "closed" or not on_branch:
                    session.execute(
                        sa.delete(PullRequestStatus)
                        .where(PullRequestStatus.repo == self.repo)
                        .where(PullRequestStatus.number == pull.number)
                    )
                    return WebhookResult("forgotten", f"#{pull.number}")
                row = self._wish(session, pull.number, pull.head_sha, self._state(session))
                return WebhookResult("recorded", f"#{pull.number} {row.state}", row.id)
        except AlreadyProcessed:
            return WebhookResult("duplicate", delivery_id)

    # -- step 3: sync ----------------------------------------------------------------

    def sync(self, only: Iterable[int] | None = None) -> SyncReport:
        """Post unsynced statuses to GitHub (all of them, or the `only` row ids). Stops at
        the first sign that GitHub is unavailable: the clock carries on later."""
        repo = self._repo()
        now = self.now()
        with self.database.transaction() as session:
            query = (
                sa.select(PullRequestStatus.id)
                .where(PullRequestStatus.synced.is_(False))
                .where(PullRequestStatus.repo == repo)
                .where(PullRequestStatus.attempts < MAX_REFUSED_ATTEMPTS)
                .where(
                    sa.or_(
                        PullRequestStatus.claimed_until.is_(None),
                        PullRequestStatus.claimed_until < now,
                    )
                )
                .order_by(PullRequestStatus.id)
                .limit(SYNC_BATCH)
            )
            if only is not None:
                query = query.where(PullRequestStatus.id.in_(list(only)))
            ids = list(session.scalars(query))
        posted = failed = 0
        for row_id in ids:
            try:
                if self._sync_one(row_id):
                    posted += 1
            except GitHubUnavailable as exc:
                failed += 1
                log.warning("GitHub unavailable, statuses left for the clock: %s", exc)
                break
            except GitHubError as exc:
                failed += 1
                log.warning("GitHub refused a freeze status: %s", exc)
        return SyncReport(posted=posted, failed=failed)

    def unsynced_count(self) -> int:
        with self.database.transaction() as session:
            return int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(PullRequestStatus)
                    .where(PullRequestStatus.synced.is_(False))
                )
                or 0
            )

    def _sync_one(self, row_id: int) -> bool:
        """Post one row's status while holding it, so no other process posts an older
        wish for the same pull request after ours. Returns whether anything was posted."""
        wish = self._take(row_id)
        if wish is None:
            return False
        held = True
        try:
            for _ in range(MAX_CHASES):
                try:
                    self.github.set_status(
                        self._repo(),
                        wish[0],
                        state=wish[1],
                        context=STATUS_CONTEXT,
                        description=wish[2],
                        target_url=self.target_url,
                    )
                except GitHubError as exc:
                    self._record_failure(row_id, exc)
                    raise
                with self.database.transaction() as session:
                    # Synced (and released) only if the wish did not change while we
                    # posted it; otherwise go round again and post the new one.
                    done = session.execute(
                        sa.update(PullRequestStatus)
                        .where(PullRequestStatus.id == row_id)
                        .where(PullRequestStatus.head_sha == wish[0])
                        .where(PullRequestStatus.state == wish[1])
                        .where(PullRequestStatus.description == wish[2])
                        .values(synced=True, attempts=0, last_error=None, claimed_until=None)
                    )
                    if done.rowcount == 1:  # type: ignore[attr-defined]
                        held = False
                        return True
                    row = session.get(PullRequestStatus, row_id)
                    if row is None or row.synced:
                        return True
                    wish = (row.head_sha, row.state, row.description)
            return True
        finally:
            if held:
                self._release(row_id)

    def _take(self, row_id: int) -> tuple[str, str, str] | None:
        """Hold the row for this process and return its wish (head sha, state,
        description), or None if it is synced already or someone else holds it."""
        now = self.now()
        with self.database.transaction() as session:
            taken = session.execute(
                sa.update(PullRequestStatus)
                .where(PullRequestStatus.id == row_id)
                .where(PullRequestStatus.synced.is_(False))
                .where(
                    sa.or_(
                        PullRequestStatus.claimed_until.is_(None),
                        PullRequestStatus.claimed_until < now,
                    )
                )
                .values(claimed_until=now + SYNC_LEASE)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = session.get(PullRequestStatus, row_id)
            if row is None:
                return None
            return row.head_sha, row.state, row.description

    def _release(self, row_id: int) -> None:
        with self.database.transaction() as session:
            session.execute(
                sa.update(PullRequestStatus)
                .where(PullRequestStatus.id == row_id)
                .values(claimed_until=None)
            )

    def _record_failure(self, row_id: int, exc: GitHubError) -> None:
        # An outage says nothing about this wish, so it does not count towards giving up
        # (the clock retries it for as long as GitHub is down); a refusal does.
        counts = not isinstance(exc, GitHubUnavailable)
        with self.database.transaction() as session:
            session.execute(
                sa.update(PullRequestStatus)
                .where(PullRequestStatus.id == row_id)
                .values(
                    last_error=str(exc)[:1000],
                    attempts=PullRequestStatus.attempts + (1 if counts else 0),
                )
            )

    # -- helpers ---------------------------------------------------------------------

    def _repo(self) -> str:
        if self.repo is None:
            raise RuntimeError("freeze enforcement needs GITHUB_REPO")
        return self.repo

    def _state(self, session: Session) -> FreezeFacts | None:
        freeze = session.scalars(
            sa.select(Freeze)
            .where(Freeze.branch == self.branch)
            .where(Freeze.unfrozen_at.is_(None))
        ).first()
        return freeze.facts if freeze is not None else None

    def _wish(
        self, session: Session, number: int, head_sha: str, facts: FreezeFacts | None
    ) -> PullRequestStatus:
        """Upsert the status pull request `number` should carry; unchanged wishes keep
        their synced flag, so a sweep does not re-post hundreds of identical statuses."""
        repo = self._repo()
        wanted = desired_status(facts, self.branch, number)
        row = session.scalars(
            sa.select(PullRequestStatus)
            .where(PullRequestStatus.repo == repo)
            .where(PullRequestStatus.number == number)
        ).first()
        if row is None:
            row = PullRequestStatus(
                repo=repo,
                number=number,
                head_sha=head_sha,
                state=wanted.state.value,
                description=wanted.description,
                synced=False,
                attempts=0,
            )
            try:
                # A savepoint, so that losing an insert race to another webhook or sweep
                # leaves this transaction usable; the winner's row is then updated.
                with session.begin_nested():
                    session.add(row)
                return row
            except sa.exc.IntegrityError:
                row = session.scalars(
                    sa.select(PullRequestStatus)
                    .where(PullRequestStatus.repo == repo)
                    .where(PullRequestStatus.number == number)
                ).one()
        if (row.head_sha, row.state, row.description) == (
            head_sha,
            wanted.state.value,
            wanted.description,
        ):
            return row
        row.head_sha = head_sha
        row.state = wanted.state.value
        row.description = wanted.description
        row.synced = False
        row.attempts = 0
        row.last_error = None
        session.flush()
        return row


def _dig(data: dict[str, object], *keys: str) -> object:
    value: object = data
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
