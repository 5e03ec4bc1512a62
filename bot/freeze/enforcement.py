"""Enforcing a freeze on GitHub: a `deploybot/freeze` commit status on every open pull
request against the frozen branch (failure while frozen, success otherwise), so that
branch protection blocks the merge. See docs/adr/0008-freeze-enforcement.md.

GitHub is only ever told what the database already says (`pr_status`), in three steps:

1. Decide: a freeze or unfreeze marks its row `sweep_pending`; a pull-request webhook
   writes that one pull request's wish directly (`record_pull_request`).
2. Sweep: list the branch's open pull requests in every watched repository (GITHUB_REPO
   and the repositories of APPS) and write each one's wish (failure or success) into
   `pr_status`, unsynced. Done right after the change and by the clock until it has
   succeeded for every repository.
3. Sync: post every unsynced wish to GitHub and mark it synced. A wish that could not be
   posted (GitHub down, rate limited) stays unsynced and the clock tries again.

Nothing here runs before a Slack acknowledgement: callers run it after `ack()` (Bolt
listeners), after a webhook's response was sent, or in the clock.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.booking.model import Booking
from bot.db import Database, utcnow
from bot.freeze.model import Freeze, PullRequestStatus
from bot.freeze.rules import STATUS_CONTEXT, FreezeFacts, desired_status
from bot.github.client import GitHubClient, GitHubError, GitHubUnavailable, PullRequest
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
        repo: str | None = None,
        repos: Sequence[str] = (),
        branch: str,
        enabled: bool,
        target_url: str | None = None,
        now: Callable[[], datetime] = utcnow,
        repo_of_app: Callable[[str], str | None] | None = None,
    ) -> None:
        self.database = database
        self.github = github
        self.repos = _unique([repo, *repos])
        # The first (GITHUB_REPO when set): what one-repository callers mean.
        self.repo = self.repos[0] if self.repos else None
        self.branch = branch
        # Off when GITHUB_TOKEN or every repository is missing: freezes are then
        # announced only.
        self.enabled = enabled and bool(self.repos)
        self.target_url = target_url
        self.now = now
        # Which repository a booked app's PR numbers are in: a booking's freeze exempts
        # its own PRs there, not PRs of the same numbers in other apps' repositories.
        self.repo_of_app = repo_of_app
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
        requests in every watched repository and write down the status each one should
        have now. The sweep is done (no longer pending) once every repository's listing
        succeeded; until then the clock sweeps again."""
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
            # new wish now, so an unfreeze turns them green even if the listings below
            # fail (GitHub down). The listings then add the ones we did not know of.
            known_rows = list(
                session.scalars(
                    sa.select(PullRequestStatus).where(PullRequestStatus.repo.in_(self.repos))
                )
            )
            for known_row in known_rows:
                self._wish(session, known_row.repo, known_row.number, known_row.head_sha, before)
        swept = failed = 0
        for index, repo in enumerate(self.repos):
            last = index == len(self.repos) - 1
            listed = self._sweep_repo(repo, before, pending_ids if last and not failed else None)
            if listed is None:
                failed += 1
            elif listed < 0:
                # The freeze changed while we listed: what we were about to write is
                # already stale. The change left its own sweep pending; leave it be.
                return SyncReport(swept=swept)
            else:
                swept += listed
        if failed:
            return SyncReport(swept=swept, failed=failed)
        log.info("freeze sweep: %d open pull request(s) against %s", swept, self.branch)
        return SyncReport(swept=swept)

    def _sweep_repo(
        self, repo: str, before: FreezeFacts | None, done_ids: list[int] | None
    ) -> int | None:
        """List `repo`'s open pull requests and write their wishes; mark the freezes
        `done_ids` swept in the same transaction. Returns how many were listed, None if
        GitHub could not list them, -1 if the freeze changed meanwhile."""
        started = self.now()
        try:
            pulls = list(self.github.open_pulls(repo, self.branch))
        except GitHubUnavailable as exc:
            log.warning("could not list open pull requests of %s (will retry): %s", repo, exc)
            return None
        except GitHubError as exc:
            # A repository the token may not read (403/404) must not keep the other
            # apps' repositories from being swept; the clock tries it again.
            log.error("GitHub refused to list the pull requests of %s: %s", repo, exc)
            return None
        with self.database.transaction() as session:
            facts = self._state(session)
            if facts != before:
                return -1
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
                self._wish(session, repo, pull.number, head_sha, facts)
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
            if done_ids is not None:
                session.execute(
                    sa.update(Freeze).where(Freeze.id.in_(done_ids)).values(sweep_pending=False)
                )
        return len(pulls)

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
        named = _dig(payload, "repository", "full_name")
        repo = self.known_repo(named)
        if repo is None:
            return WebhookResult("ignored", f"repository {named!r} is not GITHUB_REPO or in APPS")
        raw_pull = payload.get("pull_request")
        if not isinstance(raw_pull, dict):
            raise ValueError("pull_request event without a pull_request object")
        pull = PullRequest.from_api(repo, raw_pull)
        try:
            with self.database.transaction() as session:
                claim(session, f"github:{delivery_id}")
                on_branch = pull.base_ref == self.branch and pull.state == "open"
                if action == "closed" or not on_branch:
                    session.execute(
                        sa.delete(PullRequestStatus)
                        .where(PullRequestStatus.repo == repo)
                        .where(PullRequestStatus.number == pull.number)
                    )
                    return WebhookResult("forgotten", f"#{pull.number}")
                facts = self._state(session)
                row = self._wish(session, repo, pull.number, pull.head_sha, facts)
                return WebhookResult("recorded", f"#{pull.number} {row.state}", row.id)
        except AlreadyProcessed:
            return WebhookResult("duplicate", delivery_id)

    # -- step 3: sync ----------------------------------------------------------------

    def sync(self, only: Iterable[int] | None = None) -> SyncReport:
        """Post unsynced statuses to GitHub (all of them, or the `only` row ids); see
        bot/github/statuses.py. Every watched repository's, one after the other."""
        if not self.enabled:
            return SyncReport()
        report = SyncReport()
        for repo in self.repos:
            report += self.statuses.sync(repo, only)
        return report

    def unsynced_count(self) -> int:
        return self.statuses.unsynced_count()

    # -- helpers ---------------------------------------------------------------------

    def known_repo(self, repo: object) -> str | None:
        """`repo` as the settings spell it, if it is one of the watched repositories
        (GitHub's names are case-insensitive)."""
        if not isinstance(repo, str):
            return None
        return next((known for known in self.repos if known.lower() == repo.lower()), None)

    def _state(self, session: Session) -> FreezeFacts | None:
        freeze = session.scalars(
            sa.select(Freeze)
            .where(Freeze.branch == self.branch)
            .where(Freeze.unfrozen_at.is_(None))
        ).first()
        if freeze is None:
            return None
        facts = freeze.facts
        if len(self.repos) > 1 and facts.exempt_pulls and facts.booking_short_id:
            # Several repositories: the exempt numbers are the booked app's PRs.
            app = session.scalar(
                sa.select(Booking.app).where(Booking.short_id == facts.booking_short_id)
            )
            repo = self.repo_of_app(app) if app is not None and self.repo_of_app else None
            # Unknown app: exempt nothing rather than other repositories' PRs.
            facts = dataclasses.replace(
                facts, exempt_repo=repo or "", exempt_pulls=facts.exempt_pulls if repo else ()
            )
        return facts

    def _wish(
        self,
        session: Session,
        repo: str,
        number: int,
        head_sha: str,
        facts: FreezeFacts | None,
    ) -> PullRequestStatus:
        """Upsert the status pull request `number` of `repo` should carry; unchanged
        wishes keep their synced flag, so a sweep does not re-post hundreds of identical
        statuses."""
        wanted = desired_status(facts, self.branch, number, repo)
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


def _unique(repos: Iterable[str | None]) -> tuple[str, ...]:
    """The repositories given, each once whatever its case, in their order."""
    found: list[str] = []
    for repo in repos:
        if repo and repo.lower() not in {known.lower() for known in found}:
            found.append(repo)
    return tuple(found)
