"""The rules of followed deploys: what a Heroku or GitHub delivery means, on the recorded
payloads (zulip's Heroku fixtures, octokit's pull_request fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.releases.rules import (
    heroku_app_of,
    parse_merge,
    parse_release,
    release_commit,
    status_moves,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures/external"
ZULIP = FIXTURES / "zulip/zerver/webhooks/heroku/fixtures"
OCTOKIT = FIXTURES / "octokit-webhooks/payload-examples/api.github.com/pull_request"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


def test_a_recorded_failed_release_is_read_whole() -> None:
    event = parse_release(load(ZULIP / "release_failed.json"))
    assert event is not None
    assert (event.heroku_app, event.version, event.status) == ("sample-project", 3, "failed")
    assert event.commit_sha == "1a5f89db9a6a62f29689b6eeea65e6b6eb0879cd"
    assert event.deployed_by == "user@example.com"
    assert event.release_id == "6be9012f-1c42-4f2d-bb99-af152aad07d8"
    assert event.output_url is None and event.final


def test_builds_and_app_updates_are_not_releases() -> None:
    assert parse_release(load(ZULIP / "build_create.json")) is None
    assert parse_release(load(ZULIP / "app_update.json")) is None
    assert heroku_app_of(load(ZULIP / "build_create.json")) is not None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"slug": {"commit": "a" * 40}, "description": "Deploy bbbbbbb"}, "a" * 40),
        ({"slug": None, "description": "Deploy 1a2b3c4"}, "1a2b3c4"),
        ({"slug": {"commit": None}, "description": "Rollback to v41"}, None),
        ({"slug": {"commit": "not a sha"}, "description": "Set FOO config vars"}, None),
    ],
)
def test_the_commit_comes_from_the_slug_or_the_description(
    data: dict[str, Any], expected: str | None
) -> None:
    assert release_commit(data) == expected


def test_a_final_status_is_never_taken_back() -> None:
    assert status_moves("pending", "succeeded")
    assert not status_moves("succeeded", "pending")
    assert not status_moves("failed", "succeeded")
    assert not status_moves("succeeded", "succeeded")


def test_only_a_merged_close_is_a_merge() -> None:
    closed = load(OCTOKIT / "closed.payload.json")
    assert parse_merge("opened", closed) is None
    closed["pull_request"]["merged"] = False
    assert parse_merge("closed", closed) is None
    closed["pull_request"]["merged"] = True
    closed["pull_request"]["merge_commit_sha"] = "c" * 40
    closed["pull_request"]["merged_by"] = {"login": "dev-dana"}
    event = parse_merge("closed", closed)
    assert event is not None
    assert event.merge_sha == "c" * 40 and event.merged_by == "dev-dana"
    assert event.ref == f"{closed['repository']['full_name']}#{closed['pull_request']['number']}"
