"""Step 2 of the gate (bot/gate/service.py): read a pull request's changed migrations
from GitHub, run the migration analyser on them, and store the result per (head, base)
commit pair in `pr_analysis`.

Apart from the service because this is the gate's long talk with GitHub (a listing, one
request per changed migration, up to MAX_HISTORY_FILES earlier ones), with the limits on
what one PR may cost and the rule that no failure passes a PR. The service only reads the
stored result (`stored_analysis`) and hands `Analyses` its way of rewriting a row's wish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db import Database, lock_for_writing
from bot.gate.model import PullRequestAnalysisRow, PullRequestGate
from bot.github.client import (
    FileTooLarge,
    GitHubClient,
    GitHubError,
    GitHubUnavailable,
)
from bot.migration_analysis import (
    FileAnalysis,
    OperationFinding,
    PullRequestAnalysis,
    Verdict,
    analyse_pull_request,
    history_paths_needed,
    is_migration_path,
)

log = logging.getLogger(__name__)

# Earlier migrations fetched per analysis at most (one request each): enough for a big
# app's history, and a bound on what one PR can cost in API calls.
MAX_HISTORY_FILES = 400
# Changed migration files fetched per analysis at most.
MAX_MIGRATION_FILES = 300
# How many due analyses one clock tick works off.
ANALYSIS_BATCH = 20
TRUNCATED_NOTE = (
    "GitHub lists only the first 3,000 files of a pull request; the files after those "
    "were not read, so this PR needs a person's review."
)


@dataclass
class _Fetched:
    changed: list[str] = field(default_factory=list)
    sources: dict[str, bytes | None] = field(default_factory=dict)
    history: dict[str, bytes] = field(default_factory=dict)
    unreadable: list[FileAnalysis] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Analyses:
    """Works off the analyses the gate's rows say are due (`GateService.analyses`).
    `rewish` is the service's: it rewrites the wish of a row this transaction has
    locked (`_locked_row`), in the transaction that stores its analysis or failure."""

    def __init__(
        self,
        database: Database,
        github: GitHubClient,
        *,
        enabled: bool,
        es_patterns: Sequence[str],
        rewish: Callable[[Session, PullRequestGate], bool],
    ) -> None:
        self.database = database
        self.github = github
        self.enabled = enabled
        self.es_patterns = tuple(es_patterns)
        self.rewish = rewish

    def analyse(self, gate_id: int) -> bool:
        """Analyse the row's head commit if that is still due. Returns whether the PR now
        has an analysis or a final failure (False: try again later)."""
        with self.database.transaction() as session:
            row = _locked_row(session, gate_id)
            if row is None:
                return True
            if not row.analysis_due:
                return True
            repo, number, head_sha, base_sha = row.repo, row.number, row.head_sha, row.base_sha
            changed_files = row.changed_files
            if stored_analysis(session, repo, head_sha, base_sha) is not None:
                # Analysed before (a redelivery, or a push back to an earlier commit).
                row.analysis_due = False
                self.rewish(session, row)
                return True
        try:
            fetched = self._fetch(repo, number, head_sha, base_sha, changed_files)
        except GitHubUnavailable as exc:
            # Down or rate limited: the clock tries again; the status says "pending".
            log.warning("could not read #%s from GitHub (will retry): %s", number, exc)
            self._analysis_failed(gate_id, (head_sha, base_sha), _short_error(exc), final=False)
            return False
        except GitHubError as exc:
            # 403/404/422: retrying will not help; the status fails closed and says why.
            log.warning("GitHub refused to show #%s: %s", number, exc)
            self._analysis_failed(gate_id, (head_sha, base_sha), _short_error(exc), final=True)
            return True
        except (ValueError, KeyError, TypeError) as exc:
            # An answer not shaped as GitHub documents it (bad base64, missing fields).
            log.warning("unreadable answer from GitHub about #%s: %r", number, exc)
            self._analysis_failed(
                gate_id, (head_sha, base_sha), "GitHub's answer was unreadable", final=True
            )
            return True
        analysis = self._run_analyser(fetched)
        with self.database.transaction() as session:
            try:
                with session.begin_nested():
                    session.add(
                        PullRequestAnalysisRow(
                            repo=repo,
                            head_sha=head_sha,
                            base_sha=base_sha or "",
                            verdict=analysis.verdict.value,
                            kind=analysis.kind,
                            analysis=analysis.to_json(),
                            notes=fetched.notes,
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # another process stored the same commit's analysis first
            row = _locked_row(session, gate_id)
            # Still the commits analysed: a push or a new base meanwhile is analysed anew.
            if row is not None and (row.head_sha, row.base_sha) == (head_sha, base_sha):
                row.analysis_due = False
                row.analysis_error = None
                row.analysis_failed = False
                self.rewish(session, row)
        log.info("analysed #%s at %s: %s", number, head_sha[:12], analysis.verdict.value)
        return True

    def analyse_due(self, limit: int = ANALYSIS_BATCH) -> int:
        """Work off analyses still due (the clock). Stops when GitHub is unavailable."""
        if not self.enabled:
            return 0
        with self.database.transaction() as session:
            ids = list(
                session.scalars(
                    sa.select(PullRequestGate.id)
                    .where(PullRequestGate.analysis_due.is_(True))
                    .order_by(PullRequestGate.updated_at)
                    .limit(limit)
                )
            )
        done = 0
        for gate_id in ids:
            if not self.analyse(gate_id):
                break
            done += 1
        return done

    def _fetch(
        self,
        repo: str,
        number: int,
        head_sha: str,
        base_sha: str | None,
        changed_files: int | None,
    ) -> _Fetched:
        """Read what the analyser needs from GitHub. A PR from a fork is read from the
        base repository by head sha: GitHub serves a PR's commits there too."""
        fetched = _Fetched()
        listing = self.github.pull_files(repo, number, changed_files=changed_files)
        if listing.truncated:
            fetched.notes.append(TRUNCATED_NOTE)
            fetched.unreadable.append(
                _unreadable("(files after the first 3,000)", "GitHub lists only 3,000 files")
            )
        fetched.changed = [item.filename for item in listing.files]
        migrations = [item for item in listing.files if is_migration_path(item.filename)]
        if len(migrations) > MAX_MIGRATION_FILES:
            fetched.notes.append(
                f"{len(migrations)} migration files changed; only the first "
                f"{MAX_MIGRATION_FILES} were read."
            )
            fetched.unreadable.append(
                _unreadable("(more migration files)", "too many migration files to read")
            )
            migrations = migrations[:MAX_MIGRATION_FILES]
        for item in migrations:
            if item.status == "removed":
                fetched.sources[item.filename] = None
                fetched.notes.append(f"{item.filename} is deleted by this pull request.")
                continue
            try:
                content = self.github.file_content(repo, item.filename, head_sha)
            except FileTooLarge:
                fetched.unreadable.append(_unreadable(item.filename, "over 1 MB: not read"))
                continue
            if content is None:
                fetched.unreadable.append(
                    _unreadable(item.filename, f"GitHub has no such file at {head_sha[:12]}")
                )
                continue
            fetched.sources[item.filename] = content
        wanted = history_paths_needed(path for path, src in fetched.sources.items() if src)
        if wanted and base_sha:
            budget = MAX_HISTORY_FILES
            for directory in sorted(wanted):
                for path in self.github.directory(repo, directory, base_sha):
                    if not path.endswith(".py") or path in fetched.sources or budget <= 0:
                        continue
                    budget -= 1
                    try:
                        content = self.github.file_content(repo, path, base_sha)
                    except FileTooLarge:
                        continue
                    if content is not None:
                        fetched.history[path] = content
            if budget <= 0:
                fetched.notes.append(
                    f"Only {MAX_HISTORY_FILES} earlier migrations were read for context."
                )
        return fetched

    def _run_analyser(self, fetched: _Fetched) -> PullRequestAnalysis:
        try:
            result = analyse_pull_request(
                fetched.changed, fetched.sources, fetched.history or None, self.es_patterns
            )
        except Exception as exc:
            # The analyser reads untrusted source; whatever it trips over, the gate
            # fails closed (review) instead of crashing the work behind the webhook.
            log.exception("the migration analyser failed")
            return PullRequestAnalysis.build(
                [
                    _unreadable(path, f"analyser error: {type(exc).__name__}")
                    for path in fetched.sources
                ]
                or [_unreadable("(pull request)", f"analyser error: {type(exc).__name__}")]
            )
        if not fetched.unreadable:
            return result
        return PullRequestAnalysis.build(
            result.files + tuple(fetched.unreadable), result.es_mapping_paths, result.advice
        )

    def _analysis_failed(
        self, gate_id: int, commits: tuple[str, str | None], error: str, *, final: bool
    ) -> None:
        """Record why the (head, base) `commits` could not be analysed, unless the PR has
        moved on from them."""
        with self.database.transaction() as session:
            row = _locked_row(session, gate_id)
            if row is None or (row.head_sha, row.base_sha) != commits:
                return
            row.analysis_error = error
            row.analysis_failed = final
            row.analysis_due = not final
            self.rewish(session, row)


def _locked_row(session: Session, gate_id: int) -> PullRequestGate | None:
    """The row, locked and read afresh: what is decided from it (is the analysis still
    due, is this still the head commit) and the wish written from it must not be undone
    by a delivery or a booking change committing in between (GateService._rewish)."""
    lock_for_writing(session)
    return session.get(PullRequestGate, gate_id, with_for_update=True, populate_existing=True)


def stored_analysis(
    session: Session, repo: str, head_sha: str, base_sha: str | None
) -> PullRequestAnalysisRow | None:
    """The stored analysis of this commit pair, if it was analysed."""
    return session.scalars(
        sa.select(PullRequestAnalysisRow)
        .where(PullRequestAnalysisRow.repo == repo)
        .where(PullRequestAnalysisRow.head_sha == head_sha)
        .where(PullRequestAnalysisRow.base_sha == (base_sha or ""))
    ).first()


def _unreadable(path: str, why: str) -> FileAnalysis:
    finding = OperationFinding(
        operation="(unread)", model=None, field=None, verdict=Verdict.REVIEW, reason=why
    )
    return FileAnalysis(path=path, verdict=Verdict.REVIEW, operations=(finding,))


def _short_error(exc: GitHubError) -> str:
    code = f"HTTP {exc.status_code}" if exc.status_code else "no answer"
    if exc.status_code == 404:
        return "GitHub answered 404: is GITHUB_TOKEN allowed to read this repository?"
    if exc.status_code == 403:
        return "GitHub answered 403: GITHUB_TOKEN needs contents and pull requests: read"
    if isinstance(exc, GitHubUnavailable):
        return f"GitHub unavailable or rate limited ({code})"
    return f"GitHub refused ({code})"
