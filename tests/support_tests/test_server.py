"""BotProcess starts, health-checks, logs and stops a server process correctly.

Run against a stub module with the bot's CLI shape, so these tests do not need the bot.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.server import (
    BotProcess,
    BotStartError,
    child_env,
    free_port,
    run_bot_command,
    schema_at_head,
)

TESTS_DIR = Path(__file__).resolve().parents[1]
STUB = "support_tests.stubbot"


def stub(tmp_path: Path, **env: str | None) -> BotProcess:
    return BotProcess(
        {"PYTHONPATH": str(TESTS_DIR), "DATABASE_URL": "sqlite:///x.db", **env},
        module=STUB,
        log_path=tmp_path / "bot.log",
        cwd=tmp_path,
        startup_timeout=10,
    )


def test_start_health_log_and_sigterm(tmp_path: Path) -> None:
    process = stub(tmp_path, SLACK_SIGNING_SECRET="s3cret")
    with process:
        assert process.is_running()
        assert process.get("/healthz").json() == {"ok": True}
        assert process.signing_secret == "s3cret"
        assert process.database_url == "sqlite:///x.db"
        mark = process.log_mark()
        process.get("/healthz")
        assert "GET /healthz" in process.log_text(since=mark)
    assert not process.is_running()
    assert process.returncode == 0
    log = process.log_text()
    # migrate ran first, with the same environment, and its output is in the same log.
    assert log.index("migrated sqlite:///x.db") < log.index("listening on")
    assert "SIGTERM received" in log


def test_environment_is_isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-developer-shell")
    monkeypatch.setenv("DATABASE_URL", "postgres://prod")
    with stub(tmp_path, DEPLOY_CHANNEL="C1", DATABASE_URL=None) as process:
        env = process.get("/env").json()
    assert "SLACK_BOT_TOKEN" not in env and "DATABASE_URL" not in env
    assert env["DEPLOY_CHANNEL"] == "C1"
    assert env["PATH"] == os.environ["PATH"]
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["XDG_RUNTIME_DIR"].startswith(str(tmp_path))  # private gunicorn socket dir
    assert set(child_env({})) <= {"PATH", "HOME", "PYTHONUNBUFFERED", "PYTHONPATH"} | {
        "COVERAGE_PROCESS_START",
        "COVERAGE_PROCESS_CONFIG",
    }


def test_start_failure_shows_the_output(tmp_path: Path) -> None:
    process = stub(tmp_path, STUB_FAIL="SLACK_SIGNING_SECRET is not set")
    with pytest.raises(BotStartError, match="SLACK_SIGNING_SECRET is not set") as err:
        process.start()
    assert "exited with code 2" in str(err.value)


def test_failed_migration_stops_start(tmp_path: Path) -> None:
    process = stub(tmp_path, STUB_MIGRATE_EXIT="3")
    with pytest.raises(BotStartError, match="migrate` exited 3"):
        process.start()
    assert not process.is_running()


def test_refused_start_can_be_awaited(tmp_path: Path) -> None:
    process = stub(tmp_path, STUB_FAIL="DEPLOY_CHANNEL is not set")
    process.migrate = False
    process.start(wait=False)
    assert process.wait_exit(timeout=10) == 2
    assert "DEPLOY_CHANNEL is not set" in process.log_text()


def test_health_timeout_kills_and_reports(tmp_path: Path) -> None:
    process = stub(tmp_path, STUB_SLOW_START="30")
    process.startup_timeout = 1
    with pytest.raises(BotStartError, match="not healthy"):
        process.start()
    assert not process.is_running()


def test_restart_keeps_the_port(tmp_path: Path) -> None:
    with stub(tmp_path) as process:
        port = process.port
        process.restart()
        assert process.port == port
        assert process.get("/healthz").status_code == 200


def test_run_bot_command_and_free_port(tmp_path: Path) -> None:
    result = run_bot_command(
        ["migrate"],
        {"PYTHONPATH": str(TESTS_DIR), "DATABASE_URL": "sqlite:///y.db"},
        module=STUB,
        log_path=tmp_path / "cli.log",
    )
    assert result.returncode == 0 and "sqlite:///y.db" in result.stdout
    assert "migrate (exit 0)" in (tmp_path / "cli.log").read_text()
    assert 0 < free_port() < 65536


def test_schema_at_head_only_for_a_database_migrated_to_the_newest_revision(
    tmp_path: Path,
) -> None:
    from bot.migrations import downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'schema.sqlite3'}"
    assert not schema_at_head(url)
    assert not (tmp_path / "schema.sqlite3").exists(), "checking must not create the file"
    upgrade(url)
    assert schema_at_head(url)
    downgrade(url, "-1")
    assert not schema_at_head(url)
    assert not schema_at_head(None)
    assert not schema_at_head("postgresql://postgres@127.0.0.1:1/nowhere")
