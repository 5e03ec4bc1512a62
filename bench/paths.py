"""Where things are, and access to the test suite's Slack helpers."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"
REPORT_PATH = REPO_ROOT / "docs" / "performance.md"
TESTS_DIR = REPO_ROOT / "tests"


def use_test_support() -> None:
    """Make `support` (tests/support: the fake Slack, request builders, BotProcess)
    importable. The benchmark reuses them rather than keeping its own copies."""
    if str(TESTS_DIR) not in sys.path:
        sys.path.insert(0, str(TESTS_DIR))
