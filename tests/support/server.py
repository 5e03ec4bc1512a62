"""Run the real bot as a subprocess, the way Heroku runs it, for integration tests.

The bot is started with ``python -m bot serve --port N`` and configured only through its
environment, so tests exercise the real settings parsing, web server, migrations and
logging. Nothing from the test process leaks in: the child gets PATH and HOME from the
parent and otherwise only what the test passes, so a developer's own SLACK_* or
DATABASE_URL can never reach it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from support.processes import process_tree

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSTHROUGH_ENV = ("PATH", "HOME")
# Optional extras that only change tooling, never the bot's behaviour.
OPTIONAL_PASSTHROUGH_ENV = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")

_running: weakref.WeakSet[BotProcess] = weakref.WeakSet()
# What a work process logs once it can take work (bot/slack/work_processes.py).
_WORK_PROCESS_READY = re.compile(r"work process \d+ ready")


@functools.cache
def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from bot.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def schema_at_head(database_url: str | None) -> bool:
    """Whether the database's schema is at the newest migration already.

    Heroku's release phase migrates once per release, not at every start of a dyno, so a
    bot started again on a database it has migrated skips ``python -m bot migrate`` (a
    process of its own, a second or two of CPU each time) as a restarted dyno would.
    Anything unexpected (no such table, a URL only the bot understands) answers False,
    and the bot migrates."""
    if not database_url:
        return False
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    try:
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
            return False  # connecting would create the file: leave that to the bot
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        finally:
            engine.dispose()
    except Exception:  # any doubt means: migrate
        return False
    return [row[0] for row in current] == [_head_revision()]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(env: Mapping[str, str | None]) -> dict[str, str]:
    """The complete environment for a bot process: PATH/HOME plus ``env``.

    A ``None`` value removes the variable, so tests can check start-up without a setting.
    """
    result = {
        k: os.environ[k] for k in PASSTHROUGH_ENV + OPTIONAL_PASSTHROUGH_ENV if k in os.environ
    }
    # Unbuffered output so log_text() sees a line as soon as the bot writes it; PYTHONPATH
    # so `-m bot` imports this checkout even when the bot runs in a scratch directory.
    result["PYTHONUNBUFFERED"] = "1"
    result["PYTHONPATH"] = str(REPO_ROOT)
    for key, value in env.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = str(value)
    return result


def run_bot_command(
    args: Sequence[str],
    env: Mapping[str, str | None],
    *,
    cwd: Path | str | None = None,
    timeout: float = 120.0,
    log_path: Path | None = None,
    module: str = "bot",
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot <args>`` to completion (``migrate``, freeze checks, ...).

    Output is returned, and also appended to ``log_path`` when given so that log-based
    assertions (no secrets logged) cover one-off commands too.
    """
    # The command is this interpreter plus arguments chosen by the test code: no shell,
    # no untrusted input, so bandit's S603 warning does not apply.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", module, *args],
        env=child_env(env),
        cwd=str(cwd or REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if log_path is not None:
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- python -m {module} {' '.join(args)} (exit {result.returncode})\n")
            log.write(result.stdout)
            log.write(result.stderr)
    return result


class BotStartError(RuntimeError):
    """The bot did not become healthy; the message carries its output."""


class BotFacts:
    """What a test reads of a bot, whether a subprocess (BotProcess) or served in the
    test process (support/inprocess.py): where it listens, its settings, its log."""

    env: dict[str, str]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str | None:
        return self.env.get("DATABASE_URL")

    @property
    def signing_secret(self) -> str:
        return self.env.get("SLACK_SIGNING_SECRET", "")

    def log_text(self, since: int = 0) -> str:
        """Everything the bot (and its migrate runs) wrote to stdout and stderr so far.

        ``since`` is a ``log_mark()``: a shared bot's log spans many tests, and a test
        usually wants only what was written while it ran.
        """
        try:
            with self.log_path.open("rb") as log:
                log.seek(since)
                return log.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self) -> int:
        """The current end of the log, for ``log_text(since=...)``."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class BotProcess(BotFacts):
    """The bot's web process (``serve``) on a local port.

    ``base_url`` is where to send requests; ``env`` is exactly what the process got.
    Before serving, ``python -m bot migrate`` runs with the same environment (what
    Heroku's release phase does) unless the schema is at head already (a restart); it is
    harmless on SQLite, where serve also migrates.
    """

    def __init__(
        self,
        env: Mapping[str, str | None],
        *,
        port: int | None = None,
        cwd: Path | str | None = None,
        log_path: Path | None = None,
        startup_timeout: float = 30.0,
        migrate: bool = True,
        serve_args: Sequence[str] = (),
        module: str = "bot",
    ) -> None:
        # ``module`` exists so the harness can test itself against a stub server.
        self.module = module
        self.env = child_env(env)
        self._fixed_port = port
        self.port = port or free_port()
        # A scratch working directory: if a test removes DATABASE_URL, the bot's default
        # SQLite file lands there instead of in the checkout.
        self.cwd = Path(cwd) if cwd else Path(tempfile.mkdtemp(prefix="deploybot-cwd-"))
        if "XDG_RUNTIME_DIR" not in self.env:
            # gunicorn puts its control socket in $XDG_RUNTIME_DIR (else ~/.gunicorn/):
            # a private one per bot keeps concurrent test bots from sharing that socket.
            runtime_dir = self.cwd / ".run"
            runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.env["XDG_RUNTIME_DIR"] = str(runtime_dir)
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="deploybot-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.migrate = migrate
        self.serve_args = tuple(serve_args)
        self._proc: subprocess.Popen[bytes] | None = None
        self._spawn_mark = 0

    # ------------------------------------------------------------------ facts

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -------------------------------------------------------------- lifecycle

    def run_command(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run ``python -m bot <args>`` with this bot's environment and log."""
        return run_bot_command(
            args,
            self.env,
            cwd=self.cwd,
            timeout=timeout,
            log_path=self.log_path,
            module=self.module,
        )

    def tick(self) -> None:
        """Run the clock's tasks once (`deploybot clock --once`) with this bot's settings;
        raises where that exits non-zero, as InProcessBot.tick does."""
        result = self.run_command("clock", "--once")
        if result.returncode != 0:
            raise AssertionError(
                f"deploybot clock --once exited {result.returncode}: {result.stderr}"
            )

    def start(self, *, wait: bool = True) -> BotProcess:
        """Migrate, start serving, and (with ``wait``) block until ``/healthz`` is 200."""
        if self.is_running():
            return self
        if self.migrate and not schema_at_head(self.env.get("DATABASE_URL")):
            result = self.run_command("migrate")
            if result.returncode != 0:
                raise BotStartError(
                    f"`python -m bot migrate` exited {result.returncode}:\n"
                    f"{_tail(result.stdout + result.stderr)}"
                )
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            self._spawn()
            if not wait:
                return self
            try:
                self.wait_healthy(self.startup_timeout)
                self.wait_work_processes_ready(self.startup_timeout)
                return self
            except BotStartError:
                # free_port() can race with another process grabbing the port; pick
                # another one rather than failing the test for an unrelated reason.
                in_use = "address already in use" in self.log_tail(20).lower()
                if not in_use or attempt == attempts - 1:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        self._spawn_mark = self.log_mark()
        args = [sys.executable, "-m", self.module, "serve", "--port", str(self.port)]
        args.extend(self.serve_args)
        self._proc = _popen_logged(args, self.env, self.cwd, self.log_path)
        _running.add(self)

    def wait_healthy(self, timeout: float = 30.0) -> dict[str, Any]:
        """Poll ``GET /healthz`` until 200; raise ``BotStartError`` with the log tail if not."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    code = self._proc.returncode if self._proc else None
                    raise BotStartError(
                        f"bot exited with code {code} before becoming healthy. Output:\n"
                        f"{self.log_tail()}"
                    )
                try:
                    response = client.get(f"{self.base_url}/healthz")
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code == 200:
                        try:
                            body = response.json()
                        except ValueError:
                            body = {}
                        return body if isinstance(body, dict) else {"body": body}
                    last = f"HTTP {response.status_code}: {response.text[:200]}"
                time.sleep(0.1)
        self.stop()
        raise BotStartError(
            f"bot not healthy at {self.base_url}/healthz after {timeout}s ({last}). Output:\n"
            f"{self.log_tail()}"
        )

    def expected_work_processes(self) -> int:
        """How many work processes this server starts (docs/adr/0013): WORK_PROCESSES
        (default 1), none without a bot token or with WORK_ON_WEB=false (a worker dyno's
        processes do the work, docs/adr/0020)."""
        if not self.env.get("SLACK_BOT_TOKEN"):
            return 0
        if self.env.get("WORK_ON_WEB", "true").strip().lower() in ("false", "0", "no", "off"):
            return 0
        try:
            return int(self.env.get("WORK_PROCESSES", "1"))
        except ValueError:
            return 0  # a malformed value: the server refuses to start anyway

    def wait_work_processes_ready(self, timeout: float = 30.0) -> None:
        """Wait until each work process of this start has said it is ready. /healthz
        answers before they have: at the lowest CPU priority on a busy machine, one can
        take many seconds to import the bot, and work acknowledged meanwhile waits in the
        channel, beyond what a test waits for Slack's reply."""
        expected = self.expected_work_processes()
        deadline = time.monotonic() + timeout
        while expected:
            ready = len(_WORK_PROCESS_READY.findall(self.log_text(since=self._spawn_mark)))
            if ready >= expected or not self.is_running():
                return
            if time.monotonic() >= deadline:
                raise BotStartError(
                    f"{expected} work process(es) not ready after {timeout}s. Output:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (what Heroku sends), then SIGKILL the group if it does not exit."""
        proc = self._proc
        if proc is None:
            return None
        # Work processes have sessions of their own (docs/adr/0013): read the tree before
        # the master goes, or nothing would reach one that outlives it.
        members = process_tree(proc.pid)[1:] if proc.poll() is None else []
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_tree(proc)
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        # Workers a server may have forked share the group; make sure none survive.
        _kill_group(proc)
        # A work process still finishing after its master left would go on writing to
        # the test database, which the next test has emptied and whose row ids restart.
        _end_stragglers(members, grace=5.0)
        _running.discard(self)
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL the server and every process under it at once, as a crashed dyno."""
        if self._proc is not None:
            _kill_tree(self._proc)
        self.stop()

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the process to exit by itself (e.g. refused to start); its exit code."""
        if self._proc is None:
            raise RuntimeError("bot was never started")
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"bot still running after {timeout}s. Output:\n{self.log_tail()}"
            ) from None
        _running.discard(self)
        return code

    def restart(self) -> BotProcess:
        """Stop and start again on the same port (e.g. to prove nothing is lost)."""
        self.stop()
        return self.start()

    def __enter__(self) -> BotProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ plain HTTP

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.base_url}{path}", timeout=kwargs.pop("timeout", 10.0), **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.base_url}{path}", timeout=kwargs.pop("timeout", 10.0), **kwargs)


class WorkerProcess:
    """`python -m bot work`, the Procfile's `worker` (a dyno that does the work the web
    dynos record, WORK_ON_WEB=false), with the environment given and its output in
    ``log_path``."""

    def __init__(self, env: Mapping[str, str | None], *, log_path: Path, cwd: Path) -> None:
        self.env = child_env(env)
        self.log_path = log_path
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._mark = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self, *, timeout: float = 30.0) -> WorkerProcess:
        """Start it and wait until each of its work processes has said it is ready."""
        self._mark = len(self.log_text())
        self._proc = _popen_logged(
            [sys.executable, "-m", "bot", "work"], self.env, self.cwd, self.log_path
        )
        expected = int(self.env.get("WORK_PROCESSES", "1"))
        deadline = time.monotonic() + timeout
        while len(_WORK_PROCESS_READY.findall(self.log_text()[self._mark :])) < expected:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise BotStartError(f"worker not ready. Output:\n{_tail(self.log_text())}")
            time.sleep(0.1)
        return self

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as Heroku stops a dyno; its exit code (raises if it does not exit)."""
        assert self._proc is not None, "never started"
        self._proc.send_signal(signal.SIGTERM)
        try:
            return self._proc.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        """SIGKILL it and every process under it (idempotent)."""
        if self._proc is not None:
            members = process_tree(self._proc.pid) if self._proc.poll() is None else []
            _kill_tree(self._proc)
            self._proc.wait(timeout=5)
            _end_stragglers(members, grace=0)


def _popen_logged(
    args: list[str], env: dict[str, str], cwd: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start `args` with its output appended to `log_path`, after a line naming it."""
    with log_path.open("ab") as log:
        log.write(f"--- python {' '.join(args[1:])}\n".encode())
        log.flush()
        return subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
            args,
            env=env,
            cwd=str(cwd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Own process group, so stop() can clean up any processes it forks.
            start_new_session=True,
        )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group and every process under the server: work processes
    (docs/adr/0013) have sessions of their own, out of the group's reach. The tree is read
    first, since children of a dead master are handed to init."""
    members = process_tree(proc.pid)
    _kill_group(proc)
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running, not a zombie: one whose parent died waits for init to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _end_stragglers(pids: list[int], grace: float) -> None:
    """Give processes that outlived their server `grace` seconds to exit, then SIGKILL
    them."""
    deadline = time.monotonic() + grace
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


@atexit.register
def _stop_all() -> None:
    # If pytest dies between start and teardown, do not leave bots holding ports/databases.
    for bot in list(_running):
        bot.stop(timeout=3)
