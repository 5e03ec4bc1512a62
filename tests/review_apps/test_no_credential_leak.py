"""The admin password reaches Slack and nothing else: not the bot's log (at DEBUG, with
slack_sdk and httpx loggers on), not the CLI's output, not a single database row, not
even on the error paths (a refused body, a Slack failure and the CLI's retry)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from support.fake_github import FakeGitHub
from support.fake_slack import FakeSlack
from support.server import BotProcess

from .test_review_apps_http import (
    APP,
    CHANNEL,
    FIXTURES,
    REPO,
    ZULIP,
    deliver,
    dump_database,
    heroku_env,
    notice,
    post_notice,
    release,
    run_notify,
)

# The real `python -m bot serve` subprocess: it reads the server's own output, with its
# logging set up as in production.
pytestmark = pytest.mark.real_server

# Distinctive enough that finding it anywhere can only mean a leak.
PASSWORD = "leak-canary-7Qe9Zt2Lw4Xv"


def test_a_full_notify_cycle_leaves_no_trace_of_the_password(
    review_bot: Callable[..., BotProcess],
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    db_engine: Engine,
) -> None:
    fake_github.add_pull(REPO, 12, title="Bump requests", labels=["dependencies"])
    bot = review_bot(LOG_LEVEL="DEBUG")
    mark = bot.log_mark()
    outputs: list[str] = []

    # A refused body that carries the password.
    refused = post_notice(bot, notice(password=PASSWORD, pr_number="twelve"))
    assert refused.status_code == 422
    outputs.append(refused.text)

    # Slack refuses the first post; the CLI retries and the second attempt goes through.
    fake_slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    result = run_notify(
        "ready",
        heroku_env(bot, LOG_LEVEL="DEBUG", REVIEW_APP_ADMIN_PASSWORD=None),
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    outputs += [result.stdout, result.stderr]

    deliver(bot, (ZULIP / "release_create.json").read_bytes())
    deliver(bot, release("failed", 4, "leak-failed-4"))
    gone = run_notify("destroyed", heroku_env(bot, LOG_LEVEL="DEBUG"))
    assert gone.returncode == 0, gone.stderr
    outputs += [gone.stdout, gone.stderr]

    # It did reach Slack (so the test is not vacuous), and was stripped on destroy.
    reply = [c for c in fake_slack.calls("chat.postMessage") if c.get("thread_ts") and c.ok]
    assert PASSWORD in json.dumps(reply[0].body)
    assert all(PASSWORD not in json.dumps(m) for m in fake_slack.messages(CHANNEL))

    log = bot.log_text(since=mark)
    # The log really was at DEBUG and had the bot's own lines, so silence proves nothing.
    assert "DEBUG" in log
    assert f"review app {APP} ready: Done" in log
    assert "heroku delivery" in log
    assert PASSWORD not in log
    for output in outputs:
        assert PASSWORD not in output

    assert PASSWORD not in dump_database(db_engine)
    with db_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM review_app")).scalar_one() == 1
    if db_engine.url.get_backend_name() == "sqlite":
        # Not even in freed pages or the write-ahead log. Read by another process: closing
        # a file descriptor of the database file in this one would drop every POSIX lock
        # this process's SQLite connections hold on it (SQLite's "How To Corrupt An SQLite
        # Database File", 2.2), and the session's database was then found corrupt ("disk
        # I/O error", "file is not a database") by the tests that came after.
        database = Path(str(db_engine.url.database))
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                assert not contains_elsewhere(path, PASSWORD)
    assert FIXTURES.exists()


def contains_elsewhere(path: Path, text: str) -> bool:
    """Whether the file holds `text`, read by a separate Python process."""
    script = "import sys; sys.exit(sys.argv[2].encode() not in open(sys.argv[1], 'rb').read())"
    found = subprocess.run(  # noqa: S603 (this interpreter, a script of ours)
        [sys.executable, "-c", script, str(path), text], check=False
    )
    assert found.returncode in (0, 1), "could not read the file"
    return found.returncode == 0
