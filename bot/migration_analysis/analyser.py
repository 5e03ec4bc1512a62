"""Entry points: analyse one migration file, or everything a pull request changes.

Nothing here raises for bad input: a file that cannot be read, or even a bug in a rule,
becomes a REVIEW finding that says so, because the gate must always give an answer
(and fail closed) and the CLI must report every other file.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterable, Mapping, Sequence

from bot.migration_analysis.alembic_reader import (
    Revision,
    is_revision_path,
    judge_revision,
    looks_like_revision,
    read_revision,
    rebuild_tables,
)
from bot.migration_analysis.globs import matches_any
from bot.migration_analysis.model import (
    FileAnalysis,
    OperationFinding,
    PullRequestAnalysis,
    Verdict,
)
from bot.migration_analysis.reader import Unreadable, read
from bot.migration_analysis.rules import RENAME_ADVICE, FileJudgement, judge_file
from bot.migration_analysis.state import (
    AppState,
    Earlier,
    ancestors,
    app_label,
    migration_name,
    read_earlier,
    rebuild,
)

log = logging.getLogger(__name__)


def _normalise(path: str) -> str:
    return path.replace("\\", "/")


def is_migration_path(path: str) -> bool:
    """`<anything>/migrations/<name>.py`, the files Django loads as migrations: not the
    package's `__init__.py`, nor names starting with `_` or `~` (Django's loader skips
    those too)."""
    directory, name = posixpath.split(_normalise(path))
    return (
        posixpath.basename(directory) == "migrations"
        and name.endswith(".py")
        and not name.startswith(("_", "~"))
    )


def history_paths_needed(migration_paths: Iterable[str]) -> set[str]:
    """The `migrations/` directories whose earlier files the analysis needs (to rebuild
    the previous definition of an altered field): fetch every migration in them."""
    return {
        posixpath.dirname(_normalise(path)) for path in migration_paths if is_migration_path(path)
    }


def analyse_file(path: str, source: bytes, history: Mapping[str, bytes] | None) -> FileAnalysis:
    """Analyse one migration. `history` holds the app's other migrations (path ->
    source; files of other directories and later migrations are ignored), or None when
    they are not available, in which case an AlterField is answered with REVIEW."""
    return _Analyser(history, changed=frozenset()).analyse(path, source, models_changed=None)


def history_analyser(history: Mapping[str, bytes] | None) -> Callable[[str, bytes], FileAnalysis]:
    """`analyse_file` for many files of the same history: each history file is read once
    for all of them, not once per file (the CLI on a directory of 200 revisions: 12 s
    of CPU when each file read them all again, under 1 s read once)."""
    analyser = _Analyser(history, changed=frozenset())
    return lambda path, source: analyser.analyse(path, source, models_changed=None)


def analyse_pull_request(
    changed_paths: Sequence[str],
    migration_sources: Mapping[str, bytes | None],
    history: Mapping[str, bytes] | None,
    es_mapping_patterns: Sequence[str],
) -> PullRequestAnalysis:
    """Analyse everything a pull request changes.

    `migration_sources` maps each changed migration to its content at the head commit
    (None: deleted in the PR, or could not be fetched: judged REVIEW). Only its paths
    are analysed: a changed migration the caller did not read (too big, over its budget)
    is the caller's to report, as the gate does. `history` holds the same apps'
    migrations at the base commit (None: not available).
    """
    sources: dict[str, bytes | None] = {
        _normalise(path): source
        for path, source in migration_sources.items()
        if is_migration_path(path)
    }

    # The state before a changed migration includes the PR's own earlier migrations (at
    # head), and not the files the PR deletes.
    combined: dict[str, bytes] | None = None
    if history is not None:
        combined = {_normalise(path): source for path, source in history.items()}
    readable = {path: source for path, source in sources.items() if source is not None}
    if combined is not None:
        combined.update(readable)
        for path, source in sources.items():
            if source is None:
                combined.pop(path, None)
    else:
        # Without the base, the PR's own files still tell something (a model created in
        # 0005 and altered in 0006 of the same PR).
        combined = dict(readable) if readable else None
    analyser = _Analyser(combined, changed=frozenset(readable), has_base=history is not None)

    model_apps = _apps_with_models_changed(changed_paths)
    files = []
    for path in sorted(sources):
        source = sources[path]
        if source is None:
            files.append(
                _unreadable(
                    path,
                    "deleted in this pull request or not readable at its "
                    "head: a person should check it",
                )
            )
            continue
        app_dir = posixpath.dirname(posixpath.dirname(path))
        files.append(analyser.analyse(path, source, models_changed=app_dir in model_apps))

    es_paths = [path for path in changed_paths if matches_any(path, es_mapping_patterns)]
    return PullRequestAnalysis.build(files, es_paths, advice=_cross_file_advice(files))


def _apps_with_models_changed(changed_paths: Sequence[str]) -> set[str]:
    """Every directory holding a models module the change edits (`models.py`, or a file
    in a `models/` package), and every directory above it: an app's models may sit
    deeper than the app directory (`shop/db/models.py`).

    A RemoveField in an app none of whose models the PR touches was generated from
    models that had already dropped the field: step 2 of a remove plan.
    """
    apps: set[str] = set()
    for path in changed_paths:
        parts = _normalise(path).split("/")
        if "migrations" in parts[:-1]:
            continue
        if parts[-1] == "models.py":
            depth = len(parts) - 1
        elif "models" in parts[:-1]:
            depth = parts.index("models")
        else:
            continue
        apps.update("/".join(parts[:index]) for index in range(depth + 1))
    return apps


def _cross_file_advice(files: Sequence[FileAnalysis]) -> list[str]:
    """A field added in one migration and another removed in another migration of the
    same pull request, on the same model: the rename in one step the seeds forbid."""
    added: dict[tuple[str, str], list[str]] = {}
    removed: dict[tuple[str, str], list[str]] = {}
    for item in files:
        app_dir = posixpath.dirname(item.path)
        for finding in item.operations:
            if finding.model is None or finding.field is None:
                continue
            key = (app_dir, finding.model.lower())
            if finding.operation == "AddField":
                added.setdefault(key, []).append(item.path)
            elif finding.operation == "RemoveField":
                removed.setdefault(key, []).append(item.path)
    advice = []
    for key, paths in sorted(added.items()):
        if key in removed and set(paths) != set(removed[key]):
            advice.append(
                f"model {key[1]} gains a field and loses another in this pull request: if "
                f"this is a rename, split it with {RENAME_ADVICE}"
            )
    return advice


def _unreadable(path: str, reason: str) -> FileAnalysis:
    finding = OperationFinding("(file)", None, None, Verdict.REVIEW, reason)
    return FileAnalysis(path=path, verdict=Verdict.REVIEW, operations=(finding,))


class _Analyser:
    """Reads each history file once, however many changed files need it."""

    def __init__(
        self,
        history: Mapping[str, bytes] | None,
        changed: frozenset[str],
        has_base: bool | None = None,
    ) -> None:
        self.history = history
        self.changed = changed
        self.has_base = history is not None if has_base is None else has_base
        self._earlier: dict[str, dict[str, Earlier]] = {}
        self._revisions: dict[str, dict[str, Revision]] = {}

    def earlier(self, directory: str) -> dict[str, Earlier] | None:
        if self.history is None:
            return None
        if directory not in self._earlier:
            sources = {
                path: source
                for path, source in self.history.items()
                if posixpath.dirname(_normalise(path)) == directory and is_migration_path(path)
            }
            self._earlier[directory] = read_earlier(sources, self.changed)
        return self._earlier[directory]

    def analyse(self, path: str, source: bytes, models_changed: bool | None) -> FileAnalysis:
        path = _normalise(path)
        try:
            return self._analyse(path, source, models_changed)
        except Unreadable as exc:
            return _unreadable(path, f"cannot read this migration: {exc}")
        except Exception as exc:  # the gate must answer; fail closed and say so
            log.exception("migration analysis failed for %s", path)
            return _unreadable(
                path,
                f"the analyser failed on this file ({type(exc).__name__}): "
                "a person should check it",
            )

    def revisions(self, directory: str) -> dict[str, Revision] | None:
        """The Alembic revisions of `directory` in the history, by path."""
        if self.history is None:
            return None
        if directory not in self._revisions:
            found = {}
            for path, source in self.history.items():
                path = _normalise(path)
                if posixpath.dirname(path) != directory or not is_revision_path(path):
                    continue
                if not looks_like_revision(source):
                    continue
                try:
                    revision = read_revision(source)
                except Unreadable:
                    continue  # its tables are unknown; the rules say so where it matters
                if revision is not None:
                    found[path] = revision
            self._revisions[directory] = found
        return self._revisions[directory]

    def _analyse_revision(self, path: str, revision: Revision) -> FileAnalysis:
        earlier = self.revisions(posixpath.dirname(path))
        others = {
            item.revision: item
            for other, item in (earlier or {}).items()
            if other != path and item.revision is not None
        }
        state = rebuild_tables(revision, others)
        state.has_history = state.has_history and earlier is not None
        judgement = judge_revision(revision, state)
        return _file_analysis(path, judgement)

    def _analyse(self, path: str, source: bytes, models_changed: bool | None) -> FileAnalysis:
        if looks_like_revision(source):
            revision = read_revision(source)
            if revision is not None:
                return self._analyse_revision(path, revision)
        migration = read(source)
        label = app_label(path)
        name = migration_name(path)
        earlier = self.earlier(posixpath.dirname(path))
        if earlier is None:
            state = AppState(label=label, has_history=False)
        else:
            own = [dep for app, dep in migration.dependencies if app in (label, "__self__")]
            others = {key: value for key, value in earlier.items() if key != name}
            order = ancestors(name, own, others)
            state = rebuild(label, others, order)
            # A base we do not have (no history passed) leaves the PR's own files only.
            state.has_history = self.has_base and (bool(order) or not own)
        judgement = judge_file(migration, state, models_changed)
        replaced = [dep for app, dep in migration.replaces if app in (label, "__self__")]
        if replaced and earlier is not None and all(dep in earlier for dep in replaced):
            # A squashed migration whose replaced migrations are all in the history:
            # Django records it as applied where they were applied, without running it.
            # Its operations only ever run on a new, empty database.
            finding = OperationFinding(
                "(squashed)",
                None,
                None,
                Verdict.ROUTINE,
                f"squashes {len(replaced)} migrations the app already has: an existing "
                "database is only marked as having applied it, nothing runs",
            )
            return FileAnalysis(
                path=path,
                verdict=Verdict.ROUTINE,
                operations=(finding,),
                warnings=tuple(judgement.warnings),
            )
        return _file_analysis(path, judgement)


def _file_analysis(path: str, judgement: FileJudgement) -> FileAnalysis:
    return FileAnalysis(
        path=path,
        verdict=judgement.verdict,
        operations=tuple(judgement.findings),
        warnings=tuple(judgement.warnings),
        advice=tuple(judgement.advice),
    )
