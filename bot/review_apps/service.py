"""Review-app use cases: a review app reports itself, Heroku reports a release or a
destroy, the clock completes PR details GitHub could not give earlier.

Each use case is one transaction per review app, and the Slack calls for that app happen
inside it, after a write has locked the app's row. That serializes everything about one
app (a `ready` from postdeploy racing the first release webhook, a Heroku retry racing
the original) so there is only ever one message per app, and a failed Slack call rolls
back the state change and the delivery's idempotency claim, so Heroku's retry or the
CLI's next attempt does the work again. Slack calls are short; the lock is per app.

Credentials arrive in a `Notice`, go to Slack, and are forgotten (ADR 0009).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.orm import Session

from bot.db import Database, utcnow
from bot.github.client import GitHubClient, GitHubError, GitHubUnavailable, PullRequest
from bot.idempotency import AlreadyProcessed, claim
from bot.review_apps import blocks
from bot.review_apps.messenger import Messenger, SlackUnavailable
from bot.review_apps.model import ReviewApp
from bot.review_apps.rules import Event, HerokuUpdate, Notice, changes_anything

log = logging.getLogger(__name__)

# The clock gives up on a PR's details after this many failed tries (about an hour of
# ticks): the message keeps its PR number and link, just no title.
MAX_PR_LOOKUPS = 120
PR_LOOKUPS_PER_TICK = 10
NOT_CONFIGURED = "set REVIEW_APPS_CHANNEL (with SLACK_BOT_TOKEN) or SLACK_WEBHOOK_RA"


@dataclass(frozen=True)
class Done:
    """The message was posted (`posted`) or edited."""

    app: str
    posted: bool


@dataclass(frozen=True)
class Unchanged:
    app: str
    reason: str


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class Duplicate:
    delivery_id: str


@dataclass(frozen=True)
class SlackFailed:
    app: str
    reason: str


@dataclass(frozen=True)
class NotConfigured:
    reason: str


Outcome = Done | Unchanged | Ignored | Duplicate | SlackFailed | NotConfigured


class _Rollback(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


@dataclass(frozen=True)
class _PrLookup:
    pull: PullRequest | None
    pending: bool  # GitHub could not be reached: try again later
    url: str | None


class ReviewAppService:
    def __init__(
        self,
        database: Database,
        messenger: Messenger | None,
        github: GitHubClient,
        github_repo: str | None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.messenger = messenger
        self.github = github
        self.github_repo = github_repo
        self.now = now

    # ------------------------------------------------------------- use cases

    def notify(self, notice: Notice) -> Outcome:
        """A review app reports itself (postdeploy, pr-predestroy, or a release script)."""
        messenger = self.messenger
        if messenger is None:
            return NotConfigured(
                "set REVIEW_APPS_CHANNEL (with SLACK_BOT_TOKEN) or SLACK_WEBHOOK_RA"
            )
        # GitHub is asked before any lock is taken: it may be slow or down.
        lookup = self._lookup(notice.pr_number) if notice.event is Event.READY else None
        for _ in range(2):
            try:
                with self.database.transaction() as session:
                    return self._apply_notice(session, messenger, notice, lookup)
            except _Rollback as rollback:
                return rollback.outcome
            except sa.exc.IntegrityError:
                # Two first reports of one app raced to insert its row and the other
                # won: go round again, as an update of that row.
                continue
        raise AssertionError("review_app row neither inserted nor found")

    def heroku(self, delivery: str, update: HerokuUpdate | None) -> Outcome:
        """A verified Heroku webhook delivery."""
        messenger = self.messenger
        try:
            with self.database.transaction() as session:
                claim(session, f"heroku:{delivery}")
                if update is None:
                    return Ignored("not a release result or an app destroy")
                # An app the bot does not know is ignored (2xx, so Heroku stops retrying)
                # even where review apps are not configured.
                row = self._lock(session, update.app)
                if row is None:
                    return Ignored(f"{update.app} is not a review app the bot knows")
                if messenger is None:
                    return NotConfigured(NOT_CONFIGURED)
                if not changes_anything(
                    row.state, row.release_version, update.event, update.release_version
                ):
                    return Unchanged(row.app_name, f"already {row.state}")
                row.state = update.event.value
                row.state_at = update.at or self.now()
                if update.release_version is not None:
                    row.release_version = update.release_version
                return self._publish(session, messenger, row, credentials=None)
        except AlreadyProcessed:
            return Duplicate(delivery)
        except _Rollback as rollback:
            return rollback.outcome

    def complete_pr_details(self, now: datetime) -> int:
        """Clock task: fetch PR details GitHub could not give when the app was ready."""
        messenger = self.messenger
        if messenger is None:
            return 0
        with self.database.transaction() as session:
            pending = list(
                session.scalars(
                    sa.select(ReviewApp.app_name)
                    .where(ReviewApp.pr_lookup_pending.is_(True))
                    .where(ReviewApp.state != Event.DESTROYED.value)
                    .order_by(ReviewApp.updated_at)
                    .limit(PR_LOOKUPS_PER_TICK)
                )
            )
        completed = 0
        for app_name in pending:
            with self.database.transaction() as session:
                number = session.scalar(
                    sa.select(ReviewApp.pr_number).where(ReviewApp.app_name == app_name)
                )
            lookup = self._lookup(number)
            try:
                with self.database.transaction() as session:
                    row = self._lock(session, app_name)
                    if row is None or not row.pr_lookup_pending:
                        continue
                    if lookup is not None and lookup.pending:
                        row.pr_lookup_attempts += 1
                        if row.pr_lookup_attempts < MAX_PR_LOOKUPS:
                            continue
                        log.warning("giving up on GitHub details of %s", app_name)
                    self._apply_lookup(row, lookup, final=True)
                    outcome = self._publish(session, messenger, row, credentials=None)
                    if isinstance(outcome, Done):
                        completed += 1
            except _Rollback as rollback:
                log.warning("could not update %s: %s", app_name, rollback.outcome)
        return completed

    # --------------------------------------------------------------- helpers

    def _apply_notice(
        self,
        session: Session,
        messenger: Messenger,
        notice: Notice,
        lookup: _PrLookup | None,
    ) -> Outcome:
        now = self.now()
        row = self._lock(session, notice.app)
        if row is None:
            if notice.event is not Event.READY:
                return Ignored(f"{notice.app} never reported ready")
            row = ReviewApp(app_name=notice.app, pr_lookup_pending=False, pr_lookup_attempts=0)
            session.add(row)
        elif notice.event is Event.READY and row.state == Event.DESTROYED:
            # A new app with a recycled name: start a new message.
            row.message_ts = row.credentials_ts = row.channel_id = None
            row.release_version = None
        if not changes_anything(row.state, row.release_version, notice.event, None):
            return Unchanged(row.app_name, f"already {row.state}")
        if notice.event is Event.READY:
            row.pr_number = notice.pr_number
            row.branch = notice.branch
            row.app_url = str(notice.url)
        else:
            # Later events need not repeat what `ready` said; what they do give wins.
            if notice.pr_number is not None:
                row.pr_number = notice.pr_number
            if notice.branch is not None:
                row.branch = notice.branch
            if notice.url is not None:
                row.app_url = str(notice.url)
        row.state = notice.event.value
        row.state_at = now
        if lookup is not None:
            self._apply_lookup(row, lookup, final=False)
        session.flush()
        credentials = None
        if notice.username is not None and notice.password is not None:
            credentials = (notice.username, notice.password)
        return self._publish(session, messenger, row, credentials=credentials)

    def _publish(
        self,
        session: Session,
        messenger: Messenger,
        row: ReviewApp,
        *,
        credentials: tuple[str, SecretStr] | None,
    ) -> Outcome:
        """Bring Slack in line with `row`. Raises _Rollback when nothing reached Slack."""
        if row.state == Event.DESTROYED:
            credentials = None  # a destroyed app's login is never posted again
        if not messenger.can_edit:
            return self._publish_by_webhook(messenger, row, credentials)
        will_have_reply = row.credentials_ts is not None or credentials is not None
        text, main = blocks.main_message(row, has_credentials_reply=will_have_reply)
        posted = row.message_ts is None
        try:
            if row.message_ts is None:
                row.message_ts = messenger.post(text, main)
                row.channel_id = messenger.channel
            else:
                messenger.update(row.message_ts, text, main)
        except SlackUnavailable as exc:
            log.warning("review app %s: Slack failed: %s", row.app_name, exc)
            raise _Rollback(SlackFailed(row.app_name, str(exc))) from None
        # The main message is in Slack now: keep its ts even if the thread reply fails,
        # so a retry edits it instead of posting a second one.
        try:
            if credentials is not None:
                username, password = credentials
                text, reply = blocks.credentials_reply(row.app_name, username, password)
                if row.credentials_ts is None:
                    row.credentials_ts = messenger.post(text, reply, thread_ts=row.message_ts)
                else:
                    messenger.update(row.credentials_ts, text, reply)
            elif row.state == Event.DESTROYED and row.credentials_ts is not None:
                text, reply = blocks.credentials_removed(row.app_name, row.state_at)
                messenger.update(row.credentials_ts, text, reply)
        except SlackUnavailable as exc:
            log.warning("review app %s: Slack failed on the login reply: %s", row.app_name, exc)
            session.flush()
            return SlackFailed(row.app_name, str(exc))
        return Done(row.app_name, posted=posted)

    def _publish_by_webhook(
        self,
        messenger: Messenger,
        row: ReviewApp,
        credentials: tuple[str, SecretStr] | None,
    ) -> Outcome:
        username, password = credentials if credentials is not None else (None, None)
        text, message = blocks.webhook_message(row, username, password)
        try:
            messenger.post(text, message)
        except SlackUnavailable as exc:
            log.warning("review app %s: incoming webhook failed: %s", row.app_name, exc)
            raise _Rollback(SlackFailed(row.app_name, str(exc))) from None
        return Done(row.app_name, posted=True)

    def _lock(self, session: Session, app_name: str) -> ReviewApp | None:
        """The app's row, locked for the rest of the transaction (None if unknown).

        A write takes the lock on both databases: a row lock on PostgreSQL, the database
        write lock on SQLite (where SELECT ... FOR UPDATE does not exist).
        """
        result = session.execute(
            sa.update(ReviewApp)
            .where(ReviewApp.app_name == app_name)
            .values(updated_at=self.now())
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        return session.scalars(sa.select(ReviewApp).where(ReviewApp.app_name == app_name)).one()

    def _lookup(self, number: int | None) -> _PrLookup | None:
        if number is None or not self.github_repo:
            return None
        url = f"https://github.com/{self.github_repo}/pull/{number}"
        try:
            return _PrLookup(self.github.get_pull(self.github_repo, number), False, url)
        except GitHubUnavailable as exc:
            log.warning("GitHub unavailable for PR #%s (%s); the clock will retry", number, exc)
            return _PrLookup(None, True, url)
        except GitHubError as exc:
            log.warning("GitHub refused PR #%s: %s", number, exc)
            return _PrLookup(None, False, url)

    @staticmethod
    def _apply_lookup(row: ReviewApp, lookup: _PrLookup | None, *, final: bool) -> None:
        if lookup is None:
            row.pr_lookup_pending = False
            return
        row.pr_url = lookup.url
        if lookup.pull is not None:
            row.pr_title = lookup.pull.title[:300]
            row.pr_url = lookup.pull.html_url or lookup.url
            row.pr_labels = list(lookup.pull.labels)
        row.pr_lookup_pending = lookup.pending and not final
