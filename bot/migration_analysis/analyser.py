"""Entry points: analyse one migration file, or everything a pull request changes.

(First cut: operation names only. The full rules follow in rules.py.)
"""

from __future__ import annotations

import ast
import fnmatch
import posixpath
from collections.abc import Iterable, Mapping, Sequence

from bot.migration_analysis.model import (
    FileAnalysis,
    OperationFinding,
    PullRequestAnalysis,
    Verdict,
    worst,
)

_TRICKY = {"RemoveField", "DeleteModel", "RenameField", "RenameModel", "AlterModelTable"}
_ROUTINE = {"CreateModel", "AddIndex", "RemoveIndex", "AlterModelOptions", "AlterModelManagers"}


def is_migration_path(path: str) -> bool:
    """`<anything>/migrations/<name>.py`, except the package's `__init__.py`."""
    directory, name = posixpath.split(path.replace("\\", "/"))
    return (
        posixpath.basename(directory) == "migrations"
        and name.endswith(".py")
        and name != "__init__.py"
    )


def history_paths_needed(migration_paths: Iterable[str]) -> set[str]:
    """The `migrations/` directories whose earlier files are needed to judge AlterField."""
    return {posixpath.dirname(path) for path in migration_paths if is_migration_path(path)}


def analyse_file(path: str, source: bytes, history: Mapping[str, bytes] | None) -> FileAnalysis:
    try:
        tree = ast.parse(source.decode("utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        finding = OperationFinding("(file)", None, None, Verdict.REVIEW, f"unreadable: {exc}")
        return FileAnalysis(path, Verdict.REVIEW, (finding,))
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name in _TRICKY:
                findings.append(OperationFinding(name, None, None, Verdict.TRICKY, name))
            elif name in _ROUTINE:
                findings.append(OperationFinding(name, None, None, Verdict.ROUTINE, name))
    verdict = worst(finding.verdict for finding in findings)
    return FileAnalysis(path, verdict, tuple(findings))


def analyse_pull_request(
    changed_paths: Sequence[str],
    migration_sources: Mapping[str, bytes | None],
    history: Mapping[str, bytes] | None,
    es_mapping_patterns: Sequence[str],
) -> PullRequestAnalysis:
    files = []
    for path in sorted(migration_sources):
        source = migration_sources[path]
        if source is not None:
            files.append(analyse_file(path, source, history))
    es_paths = [
        path
        for path in changed_paths
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in es_mapping_patterns)
    ]
    return PullRequestAnalysis.build(files, es_paths)
