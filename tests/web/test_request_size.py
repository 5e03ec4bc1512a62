"""No endpoint reads more than MAX_REQUEST_BYTES of a body, and none stores anything
from one that is larger: a body whose Content-Length says it is larger gets a 413
unread, a chunked one is read no further than the limit. A signature can only be checked
once a body has been read, so otherwise anyone could make a web worker hold a body of
any size."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import httpx
import pytest
from faults.common import row_counts
from sqlalchemy.engine import Engine

from bot.web.app import MAX_REQUEST_BYTES
from support.inprocess import InProcessBot
from support.server import BotProcess

ENDPOINTS = ["/slack/events", "/webhooks/github", "/webhooks/heroku", "/api/review-apps"]
TOO_BIG = MAX_REQUEST_BYTES + 1
NOTIFY_TOKEN = "test-notify-token"
# The review-app notice checks its token first: with the right one, the body is read.
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {NOTIFY_TOKEN}"}


SECRETS = {
    "GITHUB_WEBHOOK_SECRET": "test-github-webhook-secret",
    "HEROKU_WEBHOOK_SECRET": "test-heroku-webhook-secret",
    "REVIEW_APP_NOTIFY_TOKEN": NOTIFY_TOKEN,
}


@pytest.fixture
def web_bot(start_bot: Callable[..., InProcessBot]) -> InProcessBot:
    return start_bot(**SECRETS)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(
    web_bot: InProcessBot, db_engine: Engine, path: str
) -> None:
    before = row_counts(db_engine)
    refused = web_bot.post(path, content=b"x" * TOO_BIG, headers=HEADERS)
    assert refused.status_code == 413
    assert row_counts(db_engine) == before


# A chunked body offered to the real server: far more than the limit.
OFFERED = 32 * MAX_REQUEST_BYTES


@pytest.mark.real_server
def test_a_chunked_body_with_no_length_is_read_no_further_than_the_limit(
    start_bot: Callable[..., BotProcess], db_engine: Engine
) -> None:
    # gunicorn, as in production: it passes a chunked body on (the in-process test
    # server does not), and Werkzeug stops reading it at the limit. The request is then
    # refused for what the cut-off body is (unsigned, unreadable), and the server does
    # not read on: the client could hand over only what the sockets' buffers hold
    # (about 6 MiB here; all 64 MiB without the limit).
    bot = start_bot(**SECRETS)
    before = row_counts(db_engine)
    for path in ENDPOINTS:
        sent = 0

        def chunks() -> Iterator[bytes]:
            nonlocal sent
            while sent < OFFERED:
                sent += 64 * 1024
                yield b"x" * (64 * 1024)

        with contextlib.suppress(httpx.TransportError):  # a reset is a refusal too
            refused = httpx.post(
                f"{bot.base_url}{path}", content=chunks(), headers=HEADERS, timeout=10
            )
            assert 400 <= refused.status_code < 500, (path, refused.status_code)
        assert sent < OFFERED // 2, (path, sent)
    assert row_counts(db_engine) == before
    assert bot.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_at_the_limit_is_read_and_judged_on_its_content(
    web_bot: InProcessBot, db_engine: Engine, path: str
) -> None:
    # Unsigned or malformed, so refused all the same, but for what it is, not its size.
    before = row_counts(db_engine)
    answer = web_bot.post(path, content=b"x" * MAX_REQUEST_BYTES, headers=HEADERS)
    assert answer.status_code in {400, 401, 403, 422}, answer.status_code
    assert row_counts(db_engine) == before
