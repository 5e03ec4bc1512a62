"""The `deploybot/deploy` gate: what the bot does about each pull request's migrations.

Like the freeze status (bot/freeze/enforcement.py), GitHub is only ever told what the
database already says, in steps that can each fail and be retried by the clock:

1. Record: a `pull_request` delivery upserts the PR's `pr_gate` row (head and base
   commits, `analysis_due` when the head commit has no stored analysis yet) in the
   transaction that claims the delivery id, and answers at once.
2. Analyse (after the response, or by the clock): list the PR's files, fetch its changed
   migrations at the head commit and their apps' earlier migrations at the base commit,
   run the analyser, store the result per head commit (`pr_analysis`): bot/gate/analysis.py,
   held here as `analyses`.
3. Wish: the status the PR should carry (bot/gate/rules.py) from the stored analysis, the
   booking that covers the PR and any allowance. Rewritten whenever one of those changes:
   a booking change anywhere in the bot rewrites the wishes of the PRs it names, in the
   same transaction (`watch_bookings`, bot/gate/watch.py).
4. Sync: post unsynced wishes as commit statuses (bot/github/statuses.py).

Nothing here runs before an acknowledgement: callers run it after a webhook's response,
after a Slack `ack()`, or in the clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.audit.model import record
from bot.booking.model import Booking
from bot.booking.rules import Kind, Status
from bot.db import Database, lock_for_writing, utcnow
from bot.gate.analysis import Analyses, stored_analysis
from bot.gate.model import PullRequestGate
from bot.gate.rules import (
    COVER_ORDER,
    STATUS_CONTEXT,
    Allowance,
    AnalysisFacts,
    Cover,
    GateFacts,
    GateStatus,
    best_cover,
    desired_gate_status,
)
from bot.github.client import GitHubClient
from bot.github.statuses import StatusSyncer, SyncReport
from bot.idempotency import AlreadyProcessed, claim
from bot.migration_analysis import KIND_ES, PullRequestAnalysis, Verdict
from bot.plans.model import PlanStep

log = logging.getLogger(__name__)

# Deliveries that can change what a pull request's status should be. `edited` counts
# only when the base branch changed (a title edit changes nothing).
GATE_ACTIONS = frozenset(
    {"opened", "reopened", "synchronize", "ready_for_review", "edited", "closed"}
)


@dataclass(frozen=True)
class GateDelivery:
    """What a pull_request delivery did to the gate, for the HTTP answer and the log."""

    status: str  # "recorded", "forgotten", "ignored" or "duplicate"
    detail: str = ""
    gate_id: int | None = None


@dataclass(frozen=True)
class GateView:
    """Everything the page and the channel message show about one pull request."""

    id: int
    repo: str
    number: int
    title: str
    author: str
    html_url: str
    head_sha: str
    base_sha: str | None
    state: str
    description: str
    analysis: PullRequestAnalysis | None
    notes: tuple[str, ...]
    analysis_error: str | None
    allowed_by: str | None
    allowed_by_name: str | None
    allowed_reason: str | None
    message_channel: str | None
    message_ts: str | None
    cover_short_id: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.repo}#{self.number}"


@dataclass(frozen=True)
class Allowed:
    view: GateView


@dataclass(frozen=True)
class NotTracked:
    number: int


@dataclass(frozen=True)
class Ambiguous:
    """Several watched repositories have an open PR of that number: say which."""

    number: int
    repos: tuple[str, ...]


AllowOutcome = Allowed | NotTracked | Ambiguous


class Notices(Protocol):
    """The channel's notice of an allowance (bot/gate/notices.py), recorded in the
    allowance's own transaction (docs/adr/0019)."""

    def allowed(self, session: Session, view: GateView, user_id: str, reason: str) -> None: ...


class GateService:
    def __init__(
        self,
        database: Database,
        github: GitHubClient,
        *,
        repo: str | None = None,
        repos: Sequence[str] = (),
        branch: str,
        enabled: bool,
        es_patterns: Sequence[str] = (),
        public_url: str | None = None,
        now: Callable[[], datetime] = utcnow,
        window_hold: Callable[[Session, int], str | None] | None = None,
        notices: Notices | None = None,
    ) -> None:
        self.database = database
        self.github = github
        self.notices = notices
        # GITHUB_REPO and the repositories of APPS: pull requests of any of them are
        # judged; `repo` is the first (what one-repository callers mean).
        self.repos = _unique([repo, *repos])
        self.repo = self.repos[0] if self.repos else None
        self.branch = branch
        # Off when GITHUB_TOKEN or every repository is missing, like freeze enforcement.
        self.enabled = enabled and bool(self.repos)
        self.public_url = public_url.rstrip("/") if public_url else None
        self.now = now
        # Why a deploying booking's change must not merge now (a deploy window), if so.
        self.window_hold = window_hold
        self.statuses = StatusSyncer(
            database,
            github,
            PullRequestGate,
            context=STATUS_CONTEXT,
            target_url=self.page_url,
            now=lambda: self.now(),
        )
        # Step 2 (bot/gate/analysis.py): it rewrites a row's wish, through `_rewish`, when
        # the row's analysis is stored or fails.
        self.analyses = Analyses(
            database, github, enabled=self.enabled, es_patterns=es_patterns, rewish=self._rewish
        )
        self._sync_lock = threading.Lock()
        self._sync_wanted = False
        self._sync_running = False
        self._sync_thread: threading.Thread | None = None
        self._closed = False

    def page_url(self, repo: str, number: int) -> str | None:
        """The bot's page showing a pull request's whole analysis (the status's link)."""
        if not self.public_url:
            return None
        return f"{self.public_url}/pulls/{repo}/{number}"

    # -- 1. record a delivery ------------------------------------------------------

    def record_pull_request(
        self, action: str, payload: dict[str, Any], delivery_id: str
    ) -> GateDelivery:
        if action not in GATE_ACTIONS:
            return GateDelivery("ignored", f"action {action!r}")
        if not self.enabled:
            return GateDelivery("ignored", "GitHub is not configured")
        named = _dig(payload, "repository", "full_name")
        repo = self.known_repo(named)
        if repo is None:
            return GateDelivery("ignored", f"repository {named!r} is not GITHUB_REPO or in APPS")
        if action == "edited" and not isinstance(_dig(payload, "changes", "base"), dict):
            return GateDelivery("ignored", "edited, but not its base")
        pull = payload.get("pull_request")
        if not isinstance(pull, dict):
            raise ValueError("pull_request event without a pull_request object")
        number = int(pull["number"])
        head_sha = str(pull["head"]["sha"])
        base_sha = str(pull["base"].get("sha") or "") or None
        base_ref = str(pull["base"]["ref"])
        open_ = str(pull.get("state") or "") == "open"
        changed_files = pull.get("changed_files")
        try:
            with self.database.transaction() as session:
                claim(session, f"github-gate:{delivery_id}")
                row = self._row(session, repo, number, lock=True)
                if action == "closed" or not open_ or base_ref != self.branch:
                    if row is not None:
                        session.delete(row)
                    return GateDelivery("forgotten", f"#{number}")
                if row is None:
                    row = PullRequestGate(
                        repo=repo,
                        number=number,
                        head_sha=head_sha,
                        state="pending",
                        description="",
                        synced=False,
                        attempts=0,
                        analysis_due=True,
                        analysis_failed=False,
                        title="",
                        author="",
                        html_url="",
                    )
                    try:
                        # A savepoint: losing the insert race to a parallel delivery
                        # leaves this transaction usable; the winner's row is updated.
                        with session.begin_nested():
                            session.add(row)
                    except sa.exc.IntegrityError:
                        found = self._row(session, repo, number, lock=True)
                        if found is None:
                            raise
                        row = found
                if (row.head_sha, row.base_sha) != (head_sha, base_sha) or row.description == "":
                    # A new push (or a new base): analysed afresh unless this very commit
                    # pair was analysed before. The allowance ends with the old head
                    # (`allowed_now` compares shas).
                    row.head_sha = head_sha
                    row.base_sha = base_sha
                    row.analysis_due = stored_analysis(session, repo, head_sha, base_sha) is None
                    row.analysis_error = None
                    row.analysis_failed = False
                row.title = str(pull.get("title") or "")[:300]
                row.author = str(_dig(pull, "user", "login") or "")[:100]
                row.html_url = str(pull.get("html_url") or "")[:500]
                row.changed_files = changed_files if isinstance(changed_files, int) else None
                self._rewish(session, row)
                return GateDelivery("recorded", f"#{number} {row.state}", row.id)
        except AlreadyProcessed:
            return GateDelivery("duplicate", delivery_id)

    # -- 3. wishes -------------------------------------------------------------------

    def known_repo(self, repo: object) -> str | None:
        """`repo` as the settings spell it, if the gate watches it (GitHub's names are
        case-insensitive)."""
        if not isinstance(repo, str):
            return None
        return next((known for known in self.repos if known.lower() == repo.lower()), None)

    def _row(
        self, session: Session, repo: str, number: int, *, lock: bool = False
    ) -> PullRequestGate | None:
        """The PR's row; with `lock`, locked for this transaction before it is read (a
        writer decides from what it reads: `_rewish`)."""
        query = (
            sa.select(PullRequestGate)
            .where(PullRequestGate.repo == repo)
            .where(PullRequestGate.number == number)
        )
        if lock:
            lock_for_writing(session)
            query = query.with_for_update().execution_options(populate_existing=True)
        return session.scalars(query).first()

    def _covers(self, session: Session, repo: str, number: int) -> list[Cover]:
        ref = f"{repo}#{number}".lower()
        # Bookings keep their PRs as a JSON list of "owner/name#number"; the LIKE narrows
        # the search on both databases, the exact test below decides.
        candidates = session.scalars(
            sa.select(Booking)
            .where(Booking.status.in_([status.value for status in COVER_ORDER]))
            .where(sa.func.lower(sa.cast(Booking.pull_requests, sa.Text)).like(f'%"{ref}"%'))
        )
        covers = []
        for booking in candidates:
            if ref not in {item.lower() for item in booking.pull_requests or ()}:
                continue
            step, waits_for = self._plan_position(session, booking)
            covers.append(
                Cover(
                    short_id=booking.short_id,
                    status=Status(booking.status),
                    starts_at=booking.starts_at,
                    waits_for=waits_for,
                    step=step,
                    held=(
                        self.window_hold(session, booking.id)
                        if self.window_hold is not None and booking.status == Status.DEPLOYING.value
                        else None
                    ),
                )
            )
        return covers

    @staticmethod
    def _plan_position(
        session: Session, booking: Booking
    ) -> tuple[int | None, tuple[int, str] | None]:
        mine = session.scalars(sa.select(PlanStep).where(PlanStep.booking_id == booking.id)).first()
        if mine is None or mine.step <= 1:
            return (mine.step if mine else None), None
        previous = session.execute(
            sa.select(Booking.short_id, Booking.status)
            .join(PlanStep, PlanStep.booking_id == Booking.id)
            .where(PlanStep.plan_id == mine.plan_id)
            .where(PlanStep.step == mine.step - 1)
        ).first()
        if previous is None or previous.status == Status.LANDED.value:
            return mine.step, None
        return mine.step, (mine.step - 1, previous.short_id)

    def _facts(self, session: Session, row: PullRequestGate) -> GateFacts:
        stored = None
        if not row.analysis_due:
            stored = stored_analysis(session, row.repo, row.head_sha, row.base_sha)
        analysis = None
        if stored is not None:
            parsed = PullRequestAnalysis.from_json(stored.analysis)
            analysis = AnalysisFacts(
                verdict=parsed.verdict,
                kind=parsed.kind,
                first_concern=parsed.first_concern(),
                es_paths=parsed.es_mapping_paths,
            )
        allowance = None
        if row.allowed_now():
            allowance = Allowance(
                by=row.allowed_by_name or row.allowed_by or "", reason=row.allowed_reason or ""
            )
        return GateFacts(
            number=row.number,
            analysis=analysis,
            problem=row.analysis_error,
            problem_final=row.analysis_failed,
            cover=best_cover(self._covers(session, row.repo, row.number)),
            allowance=allowance,
        )

    def desired(self, session: Session, row: PullRequestGate) -> GateStatus:
        return desired_gate_status(self._facts(session, row))

    def _rewish(self, session: Session, row: PullRequestGate) -> bool:
        """Write down the status the row's PR should carry now. An unchanged wish keeps its
        synced flag, so refreshes do not re-post identical statuses. Returns whether it
        changed.

        The caller holds the row's lock (FOR UPDATE; on SQLite the database's write lock,
        `lock_for_writing`) and has read the row since: a wish is read from the row, its
        analysis, its bookings and its allowance, which different transactions change.
        Without the lock, an approval and an analysis committing side by side each read
        the other's input as it was before and wrote a wish missing it (write skew): a
        tricky PR stayed "awaiting approval" after its approval, until the clock's
        refresh. With it, the second to take the lock reads after the first has
        committed (PostgreSQL's READ COMMITTED reads anew at each statement)."""
        wanted = self.desired(session, row)
        if (row.state, row.description) == (wanted.state.value, wanted.description) and (
            row.description
        ):
            return False
        row.rewish(wanted.state.value, wanted.description)
        session.flush()
        return True

    def refresh(self, session: Session, pulls: Iterable[tuple[str, int]] | None = None) -> int:
        """Rewrite the wishes of the given PRs ((repository, number) pairs; all known
        ones when None) in the caller's transaction; returns how many changed."""
        # Locked, in one order (by id) so two refreshes never wait for each other in a
        # circle (`_rewish`). populate_existing: rows this transaction loaded before (a
        # booking flow reads the analyses) are read again, not compared as they were.
        lock_for_writing(session)
        query = (
            sa.select(PullRequestGate)
            .where(PullRequestGate.repo.in_(self.repos))
            .order_by(PullRequestGate.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if pulls is not None:
            wanted = sorted({(repo.lower(), number) for repo, number in pulls})
            if not wanted:
                return 0
            query = query.where(
                sa.tuple_(sa.func.lower(PullRequestGate.repo), PullRequestGate.number).in_(wanted)
            )
        rows = list(session.scalars(query))
        return sum(1 for row in rows if self._rewish(session, row))

    def refresh_all(self) -> int:
        """The clock's catch-all: statuses follow bookings even if a change slipped past
        `watch_bookings` (a booking edited by hand in the database, say). One short
        transaction per PR: each holds only that PR's row while its wish is read and
        written, so a booking change naming it waits for that row alone."""
        if not self.enabled:
            return 0
        with self.database.transaction() as session:
            pulls = [
                (repo, number)
                for repo, number in session.execute(
                    sa.select(PullRequestGate.repo, PullRequestGate.number)
                    .where(PullRequestGate.repo.in_(self.repos))
                    .order_by(PullRequestGate.id)
                )
            ]
        changed = 0
        for repo, number in pulls:
            try:
                with self.database.transaction() as session:
                    changed += self.refresh(session, [(repo, number)])
            except sa.exc.OperationalError as exc:
                # Its row held past the statement timeout (a long transaction): the
                # others still get their wishes, and the next tick comes back to it.
                log.warning("could not refresh %s#%s: %s", repo, number, exc)
        return changed

    def pulls_named(self, refs: Iterable[str]) -> list[tuple[str, int]]:
        """The (repository, number) of the PRs in watched repositories among booking
        references "owner/name#123", in the order given, each once."""
        found: list[tuple[str, int]] = []
        for ref in refs:
            named, _, number = str(ref).partition("#")
            repo = self.known_repo(named)
            if repo is not None and number.isdigit() and (repo, int(number)) not in found:
                found.append((repo, int(number)))
        return found

    def numbers_named(self, refs: Iterable[str]) -> set[int]:
        """The PR numbers among booking references "owner/name#123", in any watched
        repository."""
        return {number for _, number in self.pulls_named(refs)}

    # -- 4. sync ---------------------------------------------------------------------

    def sync(self, only: Iterable[int] | None = None) -> SyncReport:
        if not self.enabled:
            return SyncReport()
        report = SyncReport()
        for repo in self.repos:
            report += self.statuses.sync(repo, only)
        return report

    def sync_soon(self) -> None:
        """Post unsynced statuses on a background thread: for callers (a booking change
        in a Slack listener) that must not wait for GitHub. One thread per process at a
        time; a call while it runs makes it go round once more, so no change waits for
        the clock unless GitHub fails (then the clock posts it)."""
        if not self.enabled:
            return

        def run() -> None:
            while True:
                with self._sync_lock:
                    if not self._sync_wanted or self._closed:
                        self._sync_running = False
                        return
                    self._sync_wanted = False
                try:
                    self.sync()
                except Exception:
                    log.exception("posting deploy statuses failed; the clock will retry")

        with self._sync_lock:
            if self._closed:
                return
            self._sync_wanted = True
            if self._sync_running:
                return
            self._sync_running = True
            self._sync_thread = threading.Thread(target=run, name="gate-sync", daemon=True)
            thread = self._sync_thread
        thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Take no more background posts and wait for the one under way. What is left
        unposted stays unsynced for the clock. Without this, a stopped bot's thread could
        go on posting from a database that is no longer its own (row ids restart after a
        test empties the tables)."""
        with self._sync_lock:
            self._closed = True
            thread = self._sync_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- allowances ------------------------------------------------------------------

    def allow(
        self,
        number: int,
        *,
        user_id: str,
        user_name: str,
        reason: str,
        repo: str | None = None,
    ) -> AllowOutcome:
        """An approver marks the PR's current head commit routine (the caller checked
        that the user is an approver). A new push ends it. Without `repo`, the one
        watched repository with an open PR of that number."""
        with self.database.transaction() as session:
            repos = self.repos if repo is None else [self.known_repo(repo) or repo]
            lock_for_writing(session)
            rows = list(
                session.scalars(
                    sa.select(PullRequestGate)
                    .where(PullRequestGate.repo.in_(repos))
                    .where(PullRequestGate.number == number)
                    .order_by(PullRequestGate.id)
                    .with_for_update()
                )
            )
            if not rows:
                return NotTracked(number)
            if len(rows) > 1:
                return Ambiguous(number, tuple(sorted(found.repo for found in rows)))
            row = rows[0]
            before = _allowance_snapshot(row)
            row.allowed_by = user_id
            row.allowed_by_name = user_name[:100]
            row.allowed_reason = reason
            row.allowed_sha = row.head_sha
            row.allowed_at = self.now()
            self._rewish(session, row)
            record(
                session,
                actor_id=user_id,
                action="pull_request.allowed",
                entity_type="pull_request",
                entity_id=f"{row.repo}#{row.number}",
                before=before,
                after=_allowance_snapshot(row),
                reason=reason,
                at=self.now(),
            )
            view = self._view(session, row)
            if self.notices is not None:
                self.notices.allowed(session, view, user_id, reason)
            return Allowed(view)

    # -- views -----------------------------------------------------------------------

    def _view(self, session: Session, row: PullRequestGate) -> GateView:
        stored = stored_analysis(session, row.repo, row.head_sha, row.base_sha)
        cover = best_cover(self._covers(session, row.repo, row.number))
        return GateView(
            id=row.id,
            repo=row.repo,
            number=row.number,
            title=row.title,
            author=row.author,
            html_url=row.html_url,
            head_sha=row.head_sha,
            base_sha=row.base_sha,
            state=row.state,
            description=row.description,
            analysis=PullRequestAnalysis.from_json(stored.analysis) if stored else None,
            notes=tuple(stored.notes or ()) if stored else (),
            analysis_error=row.analysis_error,
            allowed_by=row.allowed_by if row.allowed_now() else None,
            allowed_by_name=row.allowed_by_name if row.allowed_now() else None,
            allowed_reason=row.allowed_reason if row.allowed_now() else None,
            message_channel=row.message_channel,
            message_ts=row.message_ts,
            cover_short_id=cover.short_id if cover else None,
        )

    def view(self, repo: str, number: int) -> GateView | None:
        known = self.known_repo(repo)
        if known is None:
            return None
        with self.database.transaction() as session:
            row = self._row(session, known, number)
            return self._view(session, row) if row is not None else None

    def view_by_id(self, gate_id: int) -> GateView | None:
        with self.database.transaction() as session:
            row = session.get(PullRequestGate, gate_id)
            return self._view(session, row) if row is not None else None

    def analyses_of(
        self, refs: Iterable[str], session: Session | None = None
    ) -> list[tuple[str, PullRequestAnalysis]]:
        """The stored analyses of the current head commits of the PRs among `refs` (a
        booking's PRs), in the order given; PRs not tracked or not analysed are left out.
        With a `session`, read in its transaction (an announcement rendered in the
        decision's own, docs/adr/0019)."""
        pulls = self.pulls_named(refs)
        if not pulls or not self.enabled:
            return []
        if session is None:
            with self.database.transaction() as own:
                return self.analyses_of(refs, own)
        found: list[tuple[str, PullRequestAnalysis]] = []
        for repo, number in pulls:
            row = self._row(session, repo, number)
            if row is None:
                continue
            stored = stored_analysis(session, repo, row.head_sha, row.base_sha)
            if stored is not None:
                found.append(
                    (f"{row.repo}#{number}", PullRequestAnalysis.from_json(stored.analysis))
                )
        return found

    def booking_kind(self, refs: Iterable[str]) -> Kind | None:
        """The kind a booking of these PRs should default to, from their analyses: an ES
        mapping change if any is one, else a migration if any is tricky; None if none is
        (or none was analysed)."""
        analyses = [analysis for _, analysis in self.analyses_of(refs)]
        if any(a.kind == KIND_ES for a in analyses):
            return Kind.ES_MAPPING
        if any(a.verdict != Verdict.ROUTINE for a in analyses):
            return Kind.MIGRATION
        return None

    # -- the channel message ---------------------------------------------------------

    def messages_due(self) -> list[int]:
        """PRs whose channel message must be posted (first found tricky) or updated (a
        later push was analysed); a message being posted right now is left alone."""
        if not self.enabled:
            return []
        due = []
        with self.database.transaction() as session:
            rows = session.scalars(
                sa.select(PullRequestGate)
                .where(PullRequestGate.repo.in_(self.repos))
                .where(PullRequestGate.analysis_due.is_(False))
            )
            for row in list(rows):
                if row.message_ts == "":
                    continue  # claimed by a process that is posting it
                if row.message_ts is not None:
                    if row.message_sha != row.head_sha:
                        due.append(row.id)
                    continue
                stored = stored_analysis(session, row.repo, row.head_sha, row.base_sha)
                if stored is not None and stored.verdict != Verdict.ROUTINE.value:
                    due.append(row.id)
        return due

    def claim_message(self, gate_id: int, channel: str) -> bool:
        """Take the right to post the PR's first message ("" marks it being posted), so
        that two processes never both post it."""
        with self.database.transaction() as session:
            taken = session.execute(
                sa.update(PullRequestGate)
                .where(PullRequestGate.id == gate_id)
                .where(PullRequestGate.message_ts.is_(None))
                .values(message_ts="", message_channel=channel)
            )
            return bool(taken.rowcount == 1)  # type: ignore[attr-defined]

    def record_message(self, gate_id: int, channel: str, ts: str, head_sha: str) -> None:
        with self.database.transaction() as session:
            session.execute(
                sa.update(PullRequestGate)
                .where(PullRequestGate.id == gate_id)
                .values(message_channel=channel, message_ts=ts, message_sha=head_sha)
            )

    def release_message(self, gate_id: int) -> None:
        """Posting failed: let the next attempt (the clock) post it."""
        with self.database.transaction() as session:
            session.execute(
                sa.update(PullRequestGate)
                .where(PullRequestGate.id == gate_id)
                .where(PullRequestGate.message_ts == "")
                .values(message_ts=None)
            )


# -- helpers ---------------------------------------------------------------------------


def _allowance_snapshot(row: PullRequestGate) -> dict[str, Any]:
    return {
        "head_sha": row.head_sha,
        "allowed_by": row.allowed_by,
        "allowed_reason": row.allowed_reason,
        "allowed_sha": row.allowed_sha,
    }


def _dig(data: Any, *keys: str) -> Any:
    value = data
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
