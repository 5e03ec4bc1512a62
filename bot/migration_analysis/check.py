"""`deploybot migrations check [--json] PATH...`: the analyser from the command line.

For CI and pre-commit: needs no bot settings, no database and no network. Each file is
judged against the other migrations of its directory on disk (its history). Django
migrations (`*/migrations/*.py`) and Alembic revisions (`*/versions/*.py` with
`revision`, `down_revision` and `def upgrade()`) are both found and judged.

Exit status: 0 every file routine; 1 anything tricky or needing review (including a path
that does not exist, when others were read); 2 nothing could be read (no migration file
found at the paths given, or none could be opened).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.migration_analysis.alembic_reader import is_revision_path, looks_like_revision
from bot.migration_analysis.analyser import history_analyser, is_migration_path
from bot.migration_analysis.model import FileAnalysis, OperationFinding, Verdict, worst
from bot.migration_analysis.reader import MAX_BYTES
from bot.migration_analysis.report import render_text

# Directories a walk never enters: installed packages carry their own Django migrations
# (django.contrib.auth's, for one), which are not the project's to judge.
SKIPPED_DIRECTORIES = frozenset({"site-packages", "node_modules", "__pycache__"})

EXIT_ROUTINE = 0
EXIT_ATTENTION = 1
EXIT_UNREADABLE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array, one object per file (path, verdict, operations, warnings)",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="migration files, or directories to search for */migrations/*.py and "
        "Alembic revisions (*/versions/*.py)",
    )


def run(args: argparse.Namespace) -> int:
    return check(args.paths, as_json=args.json, out=sys.stdout, err=sys.stderr)


def check(paths: list[str], *, as_json: bool, out: TextIO, err: TextIO) -> int:
    files: list[Path] = []
    problems = 0
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(_migrations_below(path))
            if not found:
                print(
                    f"deploybot: no */migrations/*.py files or Alembic revisions under {raw}",
                    file=err,
                )
                problems += 1
            files.extend(found)
        elif path.is_file():
            if path.suffix != ".py" or path.name.startswith(("_", "~")):
                print(f"deploybot: skipping {raw}: not a migration file", file=err)
                continue
            files.append(path)
        else:
            print(f"deploybot: no such file or directory: {raw}", file=err)
            problems += 1
    files = list(dict.fromkeys(files))  # a file named twice is judged once

    analysers: dict[Path, Callable[[str, bytes], FileAnalysis]] = {}
    results: list[FileAnalysis] = []
    opened = 0
    for path in files:
        source = _read(path)
        if source is None:
            results.append(_unopenable(path))
            continue
        opened += 1
        # Analysed under its absolute path, so that `0002_x.py` given from inside its
        # migrations directory still has an app label and a history; shown as given.
        real = path.resolve()
        if real.parent not in analysers:
            analysers[real.parent] = history_analyser(_history(real.parent))
        analysis = analysers[real.parent](real.as_posix(), source)
        results.append(replace(analysis, path=str(path)))

    if as_json:
        out.write(json.dumps([item.to_json() for item in results], indent=2) + "\n")
    elif results:
        out.write(render_text(results))
    if opened == 0:
        if not files and not problems:
            print("deploybot: no migration files to check", file=err)
        return EXIT_UNREADABLE
    if problems or worst(item.verdict for item in results) != Verdict.ROUTINE:
        return EXIT_ATTENTION
    return EXIT_ROUTINE


def _migrations_below(root: Path) -> Iterator[Path]:
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).parts[:-1]
        if any(part.startswith(".") or part in SKIPPED_DIRECTORIES for part in relative):
            continue
        if _is_migration(path.resolve()):
            yield path


def _is_migration(path: Path) -> bool:
    """A Django migration by its path, or an Alembic revision by its path and markers."""
    if is_migration_path(path.as_posix()):
        return True
    if not is_revision_path(path.as_posix()):
        return False
    source = _read(path)
    return source is not None and looks_like_revision(source)


def _read(path: Path) -> bytes | None:
    """The file's bytes, at most one over the limit (the reader reports it as too big)."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_BYTES + 1)
    except OSError:
        return None


def _history(directory: Path) -> dict[str, bytes]:
    history = {}
    for path in sorted(directory.glob("*.py")):
        if is_migration_path(path.as_posix()) or is_revision_path(path.as_posix()):
            source = _read(path)
            if source is not None:
                history[path.as_posix()] = source
    return history


def _unopenable(path: Path) -> FileAnalysis:
    finding = OperationFinding("(file)", None, None, Verdict.REVIEW, "cannot open this file")
    return FileAnalysis(path=str(path), verdict=Verdict.REVIEW, operations=(finding,))
