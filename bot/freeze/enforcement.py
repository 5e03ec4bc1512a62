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
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db import Database, utcnow
from bot.freeze.model import Freeze, PullRequestStatus
from bot.freeze.rules import STATUS_CONTEXT, FreezeFacts, desired_status
from bot.github.client import GitHubClient, GitHubUnavailable, PullRequest
from bot.github.statuses import StatusSyncer, SyncReport
from bot.idempotency import AlreadyProcessed, claim

log = logging.getLogger(__name__)

PULL_REQUEST_ACTIONS = frozenset({"opened", "reopened", "synchronize", "closed", "edited"})


@dataclass(frozen=True)
class WebhookResult:
    """What a pull_request delivery did, for the HTTP answer and the log."""

    status: str  # "recorded", "forgotten", "ignored" or "duplicate"
    detail: str = ""
    pull_status_id: int | None = None


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
        self.statuses = StatusSyncer(
            database,
            github,
            PullRequestStatus,
            context=STATUS_CONTEXT,
            target_url=lambda _repo, _number: self.target_url,
            now=lambda: self.now(),
        )

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
        """Post unsynced statuses to GitHub (all of them, or the `only` row ids); see
        bot/github/statuses.py."""
        return self.statuses.sync(self._repo(), only)

    def unsynced_count(self) -> int:
        return self.statuses.unsynced_count()

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
            # A sweep loaded its rows earlier in this transaction: compare with now.
            .execution_options(populate_existing=True)
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
        row.rewish(wanted.state.value, wanted.description, head_sha=head_sha)
        session.flush()
        return row


def _dig(data: dict[str, object], *keys: str) -> object:
    value: object = data
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
