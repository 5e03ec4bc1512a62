"""What GitHub and Heroku deliveries mean for followed deploys: plain Python, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Heroku's description of a release built from a commit: "Deploy 1a2b3c4" (or a full sha).
_DEPLOY_DESCRIPTION = re.compile(r"^Deploy ([0-9a-f]{7,40})\b")
FINAL_STATUSES = frozenset({"succeeded", "failed"})
RELEASE_STATUSES = FINAL_STATUSES | {"pending"}


@dataclass(frozen=True)
class ReleaseEvent:
    """An `api:release` delivery about one release of an app."""

    heroku_app: str
    release_id: str
    version: int
    status: str  # pending, succeeded or failed
    commit_sha: str | None
    description: str
    deployed_by: str
    output_url: str | None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def heroku_app_of(payload: dict[str, Any]) -> str | None:
    """The app a Heroku delivery is about (release and app resources alike)."""
    name = _dig(payload, "data", "app", "name") or (
        _dig(payload, "data", "name") if payload.get("resource") == "app" else None
    )
    return str(name) if name else None


def release_commit(data: dict[str, Any]) -> str | None:
    """The commit a release runs: its slug's commit, else the one its description names
    ("Deploy 1a2b3c4", what `git push heroku` and GitHub deploys write)."""
    commit = _dig(data, "slug", "commit")
    if isinstance(commit, str) and re.fullmatch(r"[0-9a-f]{7,40}", commit):
        return commit
    match = _DEPLOY_DESCRIPTION.match(str(data.get("description") or ""))
    return match.group(1) if match else None


def parse_release(payload: dict[str, Any]) -> ReleaseEvent | None:
    """The release a delivery reports, or None if it is not a release create/update."""
    if payload.get("resource") != "release" or payload.get("action") not in ("create", "update"):
        return None
    data = payload.get("data")
    if not isinstance(data, dict):
        return None
    app = _dig(data, "app", "name")
    version = data.get("version")
    status = str(data.get("status") or "")
    if not app or not isinstance(version, int) or status not in RELEASE_STATUSES:
        return None
    who = _dig(data, "user", "email") or _dig(payload, "actor", "email") or ""
    output = data.get("output_stream_url")
    return ReleaseEvent(
        heroku_app=str(app),
        release_id=str(data.get("id") or ""),
        version=version,
        status=status,
        commit_sha=release_commit(data),
        description=str(data.get("description") or "")[:300],
        deployed_by=str(who)[:200],
        output_url=str(output)[:500] if isinstance(output, str) and output else None,
    )


def status_moves(current: str, new: str) -> bool:
    """Whether a delivery saying `new` changes a release recorded as `current`: a final
    status is never taken back by a late `pending` (Heroku retries, out of order)."""
    if current == new:
        return False
    return current not in FINAL_STATUSES


@dataclass(frozen=True)
class MergeEvent:
    repo: str
    number: int
    merge_sha: str
    head_sha: str
    merged_by: str
    base_ref: str
    title: str

    @property
    def ref(self) -> str:
        return f"{self.repo}#{self.number}"


def parse_merge(action: str, payload: dict[str, Any]) -> MergeEvent | None:
    """A `pull_request` delivery that merged the PR, or None. Raises KeyError/TypeError
    on a payload not shaped as GitHub's."""
    if action != "closed":
        return None
    pull = payload["pull_request"]
    if pull.get("merged") is not True or not pull.get("merge_commit_sha"):
        return None
    return MergeEvent(
        repo=str(payload["repository"]["full_name"]),
        number=int(pull["number"]),
        merge_sha=str(pull["merge_commit_sha"]),
        head_sha=str(pull["head"]["sha"]),
        merged_by=str(_dig(pull, "merged_by", "login") or "")[:100],
        base_ref=str(pull["base"]["ref"]),
        title=str(pull.get("title") or "")[:300],
    )
