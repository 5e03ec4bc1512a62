"""Helpers for the gate's over-HTTP tests: signed `pull_request` deliveries shaped on
octokit/webhooks' recorded payloads, about pull requests the GitHub fake serves."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from gate.migrations import BASE_TREE
from support.fake_github import FakeGitHub
from support.github_webhooks import pull_request_payload
from support.server import BotProcess

REPO = "mozilla/foundation.mozilla.org"
SECRET = "test-github-webhook-secret"
PUBLIC_URL = "https://deploybot.example.org"
CONTEXT = "deploybot/deploy"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def open_pull(
    github: FakeGitHub,
    number: int,
    files: Mapping[str, bytes | None],
    *,
    base_tree: Mapping[str, bytes] = BASE_TREE,
    **pull: Any,
) -> str:
    """Open PR `number` changing `files` on top of a base holding `base_tree`; returns
    its head sha."""
    head = github.add_pull(REPO, number, title=pull.pop("title", f"PR {number}"), **pull)
    github.set_tree(REPO, github.base_sha(REPO, number), base_tree)
    github.set_pull_files(REPO, number, files)
    return str(head["head"]["sha"])


def push(github: FakeGitHub, number: int, files: Mapping[str, bytes | None]) -> str:
    """A new commit on the PR; returns the new head sha."""
    sha = uuid.uuid4().hex + "00000000"
    github.update_pull(REPO, number, head_sha=sha)
    github.set_pull_files(REPO, number, files)
    return sha


def payload(github: FakeGitHub, action: str, number: int) -> dict[str, Any]:
    """A pull_request delivery in GitHub's shape, about the fake's pull request."""
    return pull_request_payload(github, REPO, action, number)


def deliver(
    bot: BotProcess,
    body_or_payload: dict[str, Any],
    *,
    event: str = "pull_request",
    delivery: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    body = json.dumps(body_or_payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/a1b2c3d",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": signature or sign(body),
    }
    return httpx.post(f"{bot.base_url}/webhooks/github", content=body, headers=headers, timeout=10)


def deploy_status(github: FakeGitHub, sha: str) -> dict[str, Any]:
    return github.latest_status(REPO, sha, CONTEXT) or {}


def wait_until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll for an outcome the bot reaches after answering (generous: not a speed test)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.1)


def wait_for_status(
    github: FakeGitHub, sha: str, state: str, words: str = "", timeout: float = 60.0
) -> dict[str, Any]:
    def arrived() -> bool:
        status = deploy_status(github, sha)
        return status.get("state") == state and words in str(status.get("description"))

    try:
        wait_until(arrived, timeout)
    except AssertionError:
        raise AssertionError(
            f"wanted {state} {words!r}, last status: {deploy_status(github, sha)}"
        ) from None
    return deploy_status(github, sha)
