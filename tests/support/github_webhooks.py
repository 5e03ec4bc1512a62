"""GitHub webhook deliveries in GitHub's shape, built from octokit's recorded examples
(tests/fixtures/external/octokit-webhooks) and the fake's own pull requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.fake_github import FakeGitHub

PAYLOADS = (
    Path(__file__).resolve().parents[1]
    / "fixtures/external/octokit-webhooks/payload-examples/api.github.com"
)


def pull_request_payload(github: FakeGitHub, repo: str, action: str, number: int) -> dict[str, Any]:
    """A `pull_request` delivery about the fake's pull request `repo#number`."""
    example = {"closed": "closed", "synchronize": "synchronize"}.get(action, "opened")
    payload: dict[str, Any] = json.loads(
        (PAYLOADS / f"pull_request/{example}.payload.json").read_text()
    )
    payload["action"] = action
    payload["number"] = number
    payload["pull_request"] = github.pull(repo, number)
    payload["repository"]["full_name"] = repo
    payload["repository"]["name"] = repo.split("/")[1]
    return payload
