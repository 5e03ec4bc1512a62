"""/healthz answers 200 only once the bot can do the work: with work processes
(docs/adr/0013), only once one of them has built its Bolt app and takes work. Until then
it answers 503 and says in JSON what is not ready."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from multiprocessing.sharedctypes import RawArray

import httpx
import pytest

from bot.container import build_container
from bot.settings import load_settings
from bot.web.app import create_web_app
from support.server import BotProcess


@pytest.fixture
def channel() -> Iterator[socket.socket]:
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    yield writer
    reader.close()
    writer.close()


def test_healthz_says_starting_until_a_work_process_is_ready(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    channel: socket.socket,
    request: pytest.FixtureRequest,
) -> None:
    for name, value in bot_env.items():
        monkeypatch.setenv(name, value)
    flags = RawArray("b", 2)
    container = build_container(load_settings())
    # Let go of the session's SQLite file when done: a connection left to the garbage
    # collector closed at some later moment, while other processes wrote the same file.
    request.addfinalizer(container.database.dispose)
    request.addfinalizer(container.close)
    web = create_web_app(container, channel, work_readiness=flags).test_client()

    starting = web.get("/healthz")
    assert starting.status_code == 503
    assert starting.json == {"status": "starting", "database": "ok", "work_processes": "starting"}

    flags[1] = 1
    one = web.get("/healthz")
    assert one.status_code == 200
    assert one.json == {"status": "ok", "database": "ok", "work_processes": "1/2 ready"}

    flags[0] = 1
    both = web.get("/healthz")
    assert both.status_code == 200
    assert both.json == {"status": "ok", "database": "ok", "work_processes": "ready"}


def test_first_healthy_answer_comes_after_the_work_process_is_ready(
    start_bot: Callable[..., BotProcess],
) -> None:
    bot = start_bot(wait=False)
    deadline = time.monotonic() + 60
    seen: list[dict[str, str]] = []
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                answer = client.get(f"{bot.base_url}/healthz")
            except httpx.HTTPError:
                time.sleep(0.05)
                continue
            if answer.status_code == 200:
                # The work process logs "ready" just before it raises its flag.
                assert re.search(r"work process \d+ ready", bot.log_text()), bot.log_tail()
                assert answer.json()["work_processes"] == "ready"
                break
            assert answer.status_code == 503, answer.text
            seen.append(answer.json())
            time.sleep(0.05)
        else:
            pytest.fail(f"never healthy; last answers {seen[-3:]}\n{bot.log_tail()}")
    for body in seen:
        assert body["status"] == "starting"
        assert body["work_processes"] == "starting"
