"""Django migration analysis: is a pull request's deploy tricky?

Migration files are read as source with `ast` only; nothing from a pull request is
imported, executed or evaluated (see docs/adr/0014-migration-analysis.md). Alembic
revisions are read the same way and judged by the same rules (docs/adr/0023).
"""

from bot.migration_analysis.analyser import (
    analyse_file,
    analyse_pull_request,
    history_paths_needed,
    is_migration_path,
)
from bot.migration_analysis.model import (
    KIND_ES,
    KIND_MIGRATION,
    FileAnalysis,
    OperationFinding,
    PullRequestAnalysis,
    Verdict,
    worst,
)

__all__ = [
    "KIND_ES",
    "KIND_MIGRATION",
    "FileAnalysis",
    "OperationFinding",
    "PullRequestAnalysis",
    "Verdict",
    "analyse_file",
    "analyse_pull_request",
    "history_paths_needed",
    "is_migration_path",
    "worst",
]
