"""Rendering analyses for people: the CLI's text output and one-line summaries the
Slack messages and commit statuses can quote."""

from __future__ import annotations

from collections.abc import Sequence

from bot.migration_analysis.model import (
    FileAnalysis,
    OperationFinding,
    PullRequestAnalysis,
    Verdict,
)

_WIDTH = max(len(verdict.value) for verdict in Verdict)


def finding_line(finding: OperationFinding) -> str:
    """`RemoveField person.nick: drops column person.nick while ...` (no verdict)."""
    return f"{finding.operation}: {finding.reason}"


def file_lines(analysis: FileAnalysis) -> list[str]:
    lines = [f"{analysis.path}: {analysis.verdict.value}"]
    if not analysis.operations:
        lines.append(f"  {'routine':<{_WIDTH}}  (no operations)")
    for finding in analysis.operations:
        lines.append(f"  {finding.verdict.value:<{_WIDTH}}  {finding_line(finding)}")
    lines.extend(f"  warning: {warning}" for warning in analysis.warnings)
    lines.extend(f"  advice: {advice}" for advice in analysis.advice)
    return lines


def counts_line(files: Sequence[FileAnalysis]) -> str:
    """`3 migration files: 1 tricky, 1 review, 1 routine`."""
    noun = "migration file" if len(files) == 1 else "migration files"
    parts = [
        f"{sum(1 for item in files if item.verdict == verdict)} {verdict.value}"
        for verdict in (Verdict.TRICKY, Verdict.REVIEW, Verdict.ROUTINE)
    ]
    return f"{len(files)} {noun}: " + ", ".join(parts)


def render_text(files: Sequence[FileAnalysis]) -> str:
    """The CLI's text output: one block per file, one line per operation, then counts."""
    blocks = ["\n".join(file_lines(item)) for item in files]
    return "\n\n".join([*blocks, counts_line(files)]) + "\n"


def summary(analysis: PullRequestAnalysis, limit: int = 140) -> str:
    """One line for a commit status description (GitHub keeps 140 characters)."""
    if analysis.kind == "es":
        paths = ", ".join(analysis.es_mapping_paths[:2])
        more = "..." if len(analysis.es_mapping_paths) > 2 else ""
        text = f"Elasticsearch mapping change ({paths}{more})"
    else:
        concern = analysis.first_concern()
        if concern is None:
            text = "No backward-incompatible migration"
        else:
            text = f"{concern.verdict.value}: {finding_line(concern)}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
