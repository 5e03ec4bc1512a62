"""A local HTTP server that plays the GitHub REST API (the parts deploybot uses).

The bot under test talks to this server exactly as it talks to GitHub (its
``GITHUB_API_URL`` points at ``FakeGitHub.url``), so integration tests exercise the bot's
real httpx code, pagination, retries and error handling instead of a mocked function.
Every request is recorded so tests can assert on what the bot sent; faults (5xx, primary
and secondary rate limits, an outage, slowness) can be injected.

Wire format follows GitHub's: JSON bodies, ``Authorization: Bearer <token>`` (``token
<token>`` is accepted too, as GitHub does), errors as ``{"message", "documentation_url",
"status"}``, pagination through the ``Link`` header, and ``X-RateLimit-*`` plus
``X-GitHub-Request-Id`` headers on every response.

Served endpoints:

- ``GET /repos/{owner}/{repo}/pulls`` (``state``, ``base``, ``head``, ``sort``,
  ``direction``, ``per_page``, ``page``). Items are GitHub's *simple* pull request shape:
  unlike the single-PR endpoint they have no ``merged``/``mergeable``/``commits``...
  fields (use ``merged_at``), exactly like the real API.
- ``GET /repos/{owner}/{repo}/pulls/{number}`` (the full pull request shape).
- ``POST /repos/{owner}/{repo}/statuses/{sha}`` and
  ``GET /repos/{owner}/{repo}/commits/{ref}/statuses``.
- ``GET /repos/{owner}/{repo}/pulls/{number}/files`` (``per_page`` up to 100, ``page``;
  at most 3,000 files, as on GitHub, while the pull request's ``changed_files`` counts
  them all). Set with ``set_pull_files``.
- ``GET /repos/{owner}/{repo}/contents/{path}?ref=SHA``: a file as ``{"type": "file",
  "encoding": "base64", "content": ...}`` (base64 in lines of 60, as GitHub sends it;
  ``"encoding": "none"`` and empty content over 1 MB), a directory as an array of
  entries, 404 otherwise. Trees are set with ``set_tree`` (and ``set_pull_files`` puts
  the changed files into the head commit's tree).
- ``GET /rate_limit`` (does not count against the rate limit, as on GitHub).

Anything else answers GitHub's 404 ``{"message": "Not Found"}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal

from .fake_server import FakeServer, Fault, http_selector

DEFAULT_TOKEN = "ghp_testtoken0000000000000000000000000000"
DEFAULT_LOGIN = "deploybot"
API_VERSION = "2022-11-28"
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
CORE_LIMIT = 5000
UNAUTHENTICATED_LIMIT = 60
RATE_WINDOW_SECONDS = 3600
STATUS_STATES = ("error", "failure", "pending", "success")
MAX_DESCRIPTION = 140

DOCS = "https://docs.github.com/rest"
DOCS_GET_PULL = f"{DOCS}/pulls/pulls#get-a-pull-request"
DOCS_LIST_PULLS = f"{DOCS}/pulls/pulls#list-pull-requests"
DOCS_CREATE_STATUS = f"{DOCS}/commits/statuses#create-a-commit-status"
DOCS_LIST_STATUSES = f"{DOCS}/commits/statuses#list-commit-statuses-for-a-reference"
DOCS_PULL_FILES = f"{DOCS}/pulls/pulls#list-pull-requests-files"
DOCS_CONTENTS = f"{DOCS}/repos/contents#get-repository-content"
MAX_PULL_FILES = 3000
MAX_INLINE_CONTENT = 1024 * 1024
DOCS_PRIMARY_LIMIT = f"{DOCS}/overview/rate-limits-for-the-rest-api"
DOCS_SECONDARY_LIMIT = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

# GitHub's own words for its outage answers.
_MSG_UNAVAILABLE = (
    "No server is currently available to service your request. Sorry about that. "
    "Please try resubmitting your request and contact us if the problem persists."
)
_MSG_TIMEOUT = (
    "We couldn't respond to your request in time. Sorry about that. "
    "Please try resubmitting your request and contact us if the problem persists."
)
# A 502 comes from GitHub's edge, not the API: an HTML page, not JSON.
_HTML_502 = (
    "<!DOCTYPE html>\n<html>\n  <head>\n"
    '    <meta http-equiv="Content-type" content="text/html; charset=utf-8">\n'
    "    <title>Unicorn! &middot; GitHub</title>\n  </head>\n  <body>\n"
    "    <p><strong>We had issues producing the response to your request.</strong></p>\n"
    "    <p>Sorry about that. Please try refreshing and contact us if the problem "
    "persists.</p>\n  </body>\n</html>\n"
)

# Full pull request fields absent from the list endpoint's "pull-request-simple" items.
_FULL_ONLY_FIELDS = (
    "merged",
    "mergeable",
    "rebaseable",
    "mergeable_state",
    "merged_by",
    "comments",
    "review_comments",
    "maintainer_can_modify",
    "commits",
    "additions",
    "deletions",
    "changed_files",
)

_REPO_PATH = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"^/rate_limit$"), "_rate_limit"),
    ("GET", re.compile(rf"^{_REPO_PATH}/pulls$"), "_list_pulls"),
    ("GET", re.compile(rf"^{_REPO_PATH}/pulls/(?P<number>\d+)$"), "_get_pull"),
    ("GET", re.compile(rf"^{_REPO_PATH}/pulls/(?P<number>\d+)/files$"), "_list_pull_files"),
    ("GET", re.compile(rf"^{_REPO_PATH}/contents/?(?P<path>.*)$"), "_get_contents"),
    ("POST", re.compile(rf"^{_REPO_PATH}/statuses/(?P<sha>[^/]+)$"), "_create_status"),
    ("GET", re.compile(rf"^{_REPO_PATH}/commits/(?P<ref>.+)/statuses$"), "_list_statuses"),
    (
        "GET",
        re.compile(rf"^{_REPO_PATH}/compare/(?P<base>[^/.]+)\.\.\.(?P<head>[^/.]+)$"),
        "_compare",
    ),
)

FaultKind = Literal["primary", "secondary", "server", "error"]


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(value: datetime | str | None) -> str:
    if value is None:
        return _now_iso()
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stable_id(*parts: str, digits: int = 8) -> int:
    """A deterministic numeric id (GitHub ids are integers) for a login, repo or label."""
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    low = int("1" + "0" * (digits - 1))
    return low + int(digest[:12], 16) % (9 * low)


def _node_id(kind: str, number: int) -> str:
    # GitHub's legacy global ids: base64("0<len(kind)>:<Kind><id>"), e.g. "04:User21031067".
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def _request_id() -> str:
    # Shaped like GitHub's, e.g. "5498:3F219F:18172B2:275A386:66084DC8".
    return ":".join(secrets.token_hex(n).upper() for n in (2, 3, 4, 4, 4))


def _error(
    message: str, status: int, documentation_url: str = DOCS, **extra: Any
) -> dict[str, Any]:
    """GitHub's error body: ``{"message", [errors], "documentation_url", "status"}``."""
    return {
        "message": message,
        **extra,
        "documentation_url": documentation_url,
        "status": str(status),
    }


@dataclass(frozen=True)
class GitHubCall:
    """One request the bot made.

    ``method`` is the HTTP method (upper-case) and ``path`` the URL path without the query
    string, whose parameters are in ``params`` (last value wins). ``headers`` keys are
    lower-case. ``body`` is the decoded JSON body (``None`` if empty or not JSON).
    ``status``, ``response`` (decoded JSON, or text for HTML/plain answers) and
    ``response_headers`` are what the fake answered.
    """

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    time: float
    status: int
    response: Any
    response_headers: dict[str, str]

    def get(self, key: str, default: Any = None) -> Any:
        """A field of the JSON body (``default`` if the body is not an object)."""
        return self.body.get(key, default) if isinstance(self.body, dict) else default

    @property
    def ok(self) -> bool:
        """Whether the fake answered this call successfully (2xx)."""
        return 200 <= self.status < 300

    def summary(self) -> str:
        query = f"?{urllib.parse.urlencode(self.params)}" if self.params else ""
        text = f"{self.method} {self.path}{query} -> {self.status}"
        if self.body is not None:
            body = json.dumps(self.body)
            text += f": {body if len(body) <= 160 else body[:157] + '...'}"
        return text


@dataclass
class _Fault(Fault):
    kind: FaultKind = "server"
    reset_in: float = 2.0


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset: int

    def refresh(self, now: float) -> None:
        if now >= self.reset:
            self.remaining = self.limit
            self.reset = int(now) + RATE_WINDOW_SECONDS

    @property
    def used(self) -> int:
        return self.limit - self.remaining


def _new_bucket(limit: int) -> _Bucket:
    return _Bucket(limit=limit, remaining=limit, reset=int(time.time()) + RATE_WINDOW_SECONDS)


@dataclass
class _Label:
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class _Pull:
    number: int
    id: int
    title: str
    body: str | None
    state: str
    base: str
    head_ref: str
    head_sha: str
    labels: list[_Label]
    user_login: str
    html_url: str
    draft: bool
    created_at: str
    updated_at: str
    closed_at: str | None = None
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    merged_by: str | None = None
    # What GET .../pulls/{n}/files lists: (filename, status, previous_filename).
    files: list[tuple[str, str, str | None]] = field(default_factory=list)


@dataclass
class _Repo:
    full_name: str
    default_branch: str
    pulls: dict[int, _Pull] = field(default_factory=dict)
    # Commits the fake knows about (statuses can only be set on these, as on GitHub).
    commits: set[str] = field(default_factory=set)
    branch_shas: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Each commit's files, path -> bytes (what the contents API serves at ?ref=sha).
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)
    # The commit graph the compare API walks: sha -> parent shas (a merge has two).
    parents: dict[str, list[str]] = field(default_factory=dict)
    # What each commit changed, for the compare API's `files`: (filename, status).
    commit_files: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


@dataclass
class _State:
    """Everything ``reset()`` puts back besides calls, faults, delays and the outage
    (FakeServer's); kept together so reset cannot forget a field."""

    repos: dict[str, _Repo] = field(default_factory=dict)
    core: _Bucket = field(default_factory=lambda: _new_bucket(CORE_LIMIT))
    unauthenticated: _Bucket = field(default_factory=lambda: _new_bucket(UNAUTHENTICATED_LIMIT))


@dataclass
class _Reply:
    status: int
    payload: Any  # JSON-able, or str for a non-JSON (HTML) body
    headers: dict[str, str] = field(default_factory=dict)
    bucket: _Bucket | None = None  # whose X-RateLimit-* values to report


class FakeGitHub(FakeServer[GitHubCall]):
    """The fake GitHub REST API. Use as a context manager or call ``start()``/``stop()``;
    calls are selected as ``"POST /repos/*/statuses/*"``, a path alone or a method alone
    (see support/fake_server.py for waiting, faults, delays and the outage)."""

    thread_name = "fake-github"
    server_version = "GitHub.com"

    def __init__(self, token: str = DEFAULT_TOKEN, *, login: str = DEFAULT_LOGIN) -> None:
        super().__init__()
        self.token = token
        # The user the token belongs to: the ``creator`` of statuses the bot sets.
        self.login = login
        self._initial_token = token
        self._state = _State()
        # Survive reset(), so ids stay unique across a session (as on GitHub).
        self._status_counter = 0

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """API base URL (no trailing slash); give it to the bot as ``GITHUB_API_URL``."""
        return super().url

    base_url = url

    def _api(self) -> str:
        # Resource URLs point back at this fake once it runs, so clients can follow them.
        return self.url if self.running else "https://api.github.com"

    # ---------------------------------------------------------- configuration

    def _key(self, call: GitHubCall) -> str:
        return f"{call.method} {call.path}"

    def _selector(self, where: str) -> str:
        return http_selector(where)

    def _reset(self) -> None:
        # reset() also forgets repos/PRs/statuses and rate-limit usage.
        self._state = _State()
        self.token = self._initial_token

    def add_repo(self, repo: str, *, default_branch: str = "master") -> None:
        """Make ``owner/name`` exist (with no pull requests) if it does not yet."""
        with self._lock:
            self._ensure_repo(repo, default_branch)

    def add_commit(self, repo: str, sha: str | None = None) -> str:
        """Make a commit exist (so statuses can be set on it); returns its sha."""
        sha = sha or secrets.token_hex(20)
        with self._lock:
            self._ensure_repo(repo).commits.add(sha)
        return sha

    def add_pull(
        self,
        repo: str,
        number: int,
        *,
        title: str,
        base: str = "master",
        head_sha: str | None = None,
        head_ref: str | None = None,
        state: str = "open",
        labels: Iterable[str | Mapping[str, Any]] = (),
        user_login: str = "octocat",
        html_url: str | None = None,
        draft: bool = False,
        body: str | None = None,
        created_at: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Create (or replace) pull request ``number``; returns it as GET /pulls/{n} would."""
        if state not in ("open", "closed"):
            raise ValueError(f"state must be 'open' or 'closed', not {state!r}")
        with self._lock:
            r = self._ensure_repo(repo, default_branch=base)
            created = _iso(created_at)
            pull = _Pull(
                number=number,
                id=_stable_id(r.full_name.lower(), "pull", str(number), digits=10),
                title=title,
                body=body,
                state=state,
                base=base,
                head_ref=head_ref or f"pr-{number}",
                head_sha=head_sha or secrets.token_hex(20),
                labels=[_label(x) for x in labels],
                user_login=user_login,
                html_url=html_url or f"https://github.com/{r.full_name}/pull/{number}",
                draft=draft,
                created_at=created,
                updated_at=created,
                closed_at=created if state == "closed" else None,
            )
            r.pulls[number] = pull
            r.commits.add(pull.head_sha)
            r.branch_shas[pull.head_ref] = pull.head_sha
            self._branch_sha(r, base)
            return self._render_pull(r, pull, full=True)

    def update_pull(
        self,
        repo: str,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        base: str | None = None,
        head_sha: str | None = None,
        state: str | None = None,
        labels: Iterable[str | Mapping[str, Any]] | None = None,
        draft: bool | None = None,
    ) -> dict[str, Any]:
        """Change a pull request (e.g. a new ``head_sha`` as after a push); bumps updated_at."""
        with self._lock:
            r, pull = self._pull(repo, number)
            if title is not None:
                pull.title = title
            if body is not None:
                pull.body = body
            if base is not None:
                pull.base = base
                self._branch_sha(r, base)
            if head_sha is not None:
                pull.head_sha = head_sha
                r.commits.add(head_sha)
                r.branch_shas[pull.head_ref] = head_sha
            if labels is not None:
                pull.labels = [_label(x) for x in labels]
            if draft is not None:
                pull.draft = draft
            if state is not None:
                if state not in ("open", "closed"):
                    raise ValueError(f"state must be 'open' or 'closed', not {state!r}")
                pull.state = state
                pull.closed_at = _now_iso() if state == "closed" else None
                if state == "open":
                    pull.merged_at = pull.merge_commit_sha = pull.merged_by = None
            pull.updated_at = _now_iso()
            return self._render_pull(r, pull, full=True)

    def close_pull(
        self, repo: str, number: int, *, merged: bool = False, merged_by: str | None = None
    ) -> dict[str, Any]:
        """Close a pull request, merging it if ``merged`` (sets merged_at/merge_commit_sha)."""
        with self._lock:
            r, pull = self._pull(repo, number)
            now = _now_iso()
            pull.state = "closed"
            pull.closed_at = pull.updated_at = now
            if merged:
                pull.merged_at = now
                pull.merge_commit_sha = secrets.token_hex(20)
                pull.merged_by = merged_by or pull.user_login
                r.commits.add(pull.merge_commit_sha)
                # A merge commit: the base branch's tip and the PR's head are its parents,
                # and it brings the PR's files (what compare lists for the range).
                r.parents[pull.merge_commit_sha] = [self._branch_sha(r, pull.base), pull.head_sha]
                r.commit_files[pull.merge_commit_sha] = [(f, st) for f, st, _ in pull.files]
                if pull.head_sha in r.trees:
                    r.trees[pull.merge_commit_sha] = dict(r.trees[pull.head_sha])
                r.branch_shas[pull.base] = pull.merge_commit_sha
            return self._render_pull(r, pull, full=True)

    def push(
        self,
        repo: str,
        branch: str = "master",
        *,
        sha: str | None = None,
        files: Mapping[str, bytes] | None = None,
    ) -> str:
        """A new commit on ``branch`` (a direct push), child of its tip, adding or
        changing ``files``; returns its sha."""
        with self._lock:
            r = self._ensure_repo(repo)
            parent = self._branch_sha(r, branch)
            sha = sha or secrets.token_hex(20)
            r.commits.add(sha)
            r.parents[sha] = [parent]
            tree = dict(r.trees.get(parent, {}))
            changes = []
            for path, content in (files or {}).items():
                changes.append((path, "modified" if path in tree else "added"))
                tree[path] = content
            r.trees[sha] = tree
            r.commit_files[sha] = changes
            r.branch_shas[branch] = sha
            return sha

    def branch_sha(self, repo: str, branch: str = "master") -> str:
        """The tip of ``branch`` (what Heroku would build and release)."""
        with self._lock:
            return self._branch_sha(self._ensure_repo(repo), branch)

    def set_pull_files(
        self,
        repo: str,
        number: int,
        files: Mapping[str, bytes | None],
        *,
        renamed_from: Mapping[str, str] | None = None,
        extra_unchanged: int = 0,
    ) -> None:
        """Say which files pull request ``number`` changes: path -> new content, or None
        for a file the PR deletes. The contents go into the head commit's tree (on top
        of the base's). ``extra_unchanged`` adds that many more changed non-Python files
        (for huge pull requests); ``renamed_from`` maps new path -> old path."""
        renamed_from = renamed_from or {}
        with self._lock:
            r, pull = self._pull(repo, number)
            base_sha = self._branch_sha(r, pull.base)
            tree = dict(r.trees.get(base_sha, {}))
            entries: list[tuple[str, str, str | None]] = []
            for path, content in files.items():
                if content is None:
                    tree.pop(path, None)
                    entries.append((path, "removed", None))
                    continue
                old = renamed_from.get(path)
                if old is not None:
                    tree.pop(old, None)
                    status = "renamed"
                else:
                    status = "modified" if path in tree else "added"
                tree[path] = content
                entries.append((path, status, old))
            for n in range(extra_unchanged):
                path = f"static/generated/file{n:05d}.txt"
                tree[path] = b"x\n"
                entries.append((path, "added", None))
            pull.files = entries
            r.trees[pull.head_sha] = tree

    def set_tree(self, repo: str, sha: str, files: Mapping[str, bytes]) -> str:
        """Give commit ``sha`` (created if needed) these files; returns the sha."""
        with self._lock:
            r = self._ensure_repo(repo)
            r.commits.add(sha)
            r.trees[sha] = dict(files)
        return sha

    def base_sha(self, repo: str, number: int) -> str:
        """The sha of the pull request's base branch (where its base files live)."""
        with self._lock:
            r, pull = self._pull(repo, number)
            return self._branch_sha(r, pull.base)

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        """The current state of a pull request (GET /pulls/{n} shape)."""
        with self._lock:
            r, pull = self._pull(repo, number)
            return self._render_pull(r, pull, full=True)

    def fail_next(
        self,
        where: str = "*",
        status: int | None = None,
        *,
        times: int = 1,
        retry_after: int | None = None,
        rate_limited: bool = False,
        reset_in: float = 2.0,
        message: str | None = None,
    ) -> None:
        """Make the next ``times`` requests ``where`` selects fail.

        ``where`` is ``"*"`` (any request), a path glob (``"/repos/*/pulls*"``) or
        ``"METHOD path-glob"`` (``"POST /repos/*/statuses/*"``); query strings are ignored.

        - ``rate_limited=True``: the *primary* rate limit (``status`` 403, or 429), with
          ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` ``reset_in`` seconds
          ahead (plus ``Retry-After`` only if ``retry_after`` is given).
        - ``status`` 403/429 without ``message``: a *secondary* rate limit, "You have
          exceeded a secondary rate limit...", with ``Retry-After: retry_after`` if given
          (GitHub sometimes omits it; clients should then wait at least a minute).
        - ``status`` 5xx: GitHub's outage answers (502 is an HTML page; 500/503/504 JSON).
        - anything else (e.g. 404, 422, or 403 with ``message``): a JSON error with
          ``message`` (default: the HTTP reason phrase).

        ``status`` defaults to 403 when ``rate_limited`` or ``retry_after`` is given, else 502.
        """
        if status is None:
            status = 403 if rate_limited or retry_after is not None else 502
        if not 400 <= status <= 599:
            raise ValueError("a fault needs a 4xx or 5xx status")
        kind: FaultKind
        if rate_limited:
            if status not in (403, 429):
                raise ValueError("GitHub's rate limits answer 403 or 429")
            kind = "primary"
        elif status in (403, 429) and message is None:
            kind = "secondary"
        elif status >= 500:
            kind = "server"
        else:
            kind = "error"
        self._add_fault(
            _Fault(
                where=where,
                status=status,
                remaining=times,
                retry_after=retry_after,
                message=message,
                kind=kind,
                reset_in=reset_in,
            )
        )

    def set_rate_limit(
        self, *, remaining: int, limit: int | None = None, reset_in: float = RATE_WINDOW_SECONDS
    ) -> None:
        """Set the token's core rate-limit bucket. ``remaining=0`` makes every request a
        primary-rate-limit 403 until ``reset_in`` seconds pass, then the bucket refills."""
        with self._lock:
            core = self._state.core
            core.limit = limit if limit is not None else core.limit
            core.remaining = max(0, min(remaining, core.limit))
            core.reset = math.ceil(time.time() + reset_in)

    # --------------------------------------------------------------- inspection

    def statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """Every status set on ``sha``, newest first (as GET .../statuses lists them)."""
        with self._lock:
            r = self._repo(repo)
            found = list(reversed(r.statuses.get(sha, []))) if r is not None else []
            copied: list[dict[str, Any]] = json.loads(json.dumps(found))
            return copied

    def latest_status(self, repo: str, sha: str, context: str = "default") -> dict[str, Any] | None:
        """The newest status on ``sha`` for ``context``: what GitHub shows on the PR."""
        return next((s for s in self.statuses(repo, sha) if s["context"] == context), None)

    # ----------------------------------------------------------- request flow

    def handle(
        self, http_method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request; returns (status, headers, body). Records the call."""
        received = time.time()
        method = http_method.upper()
        parsed = urllib.parse.urlsplit(raw_path)
        path = urllib.parse.unquote(parsed.path)
        params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        body: Any = None
        body_error = False
        if raw_body:
            try:
                body = json.loads(raw_body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                body_error = True

        delay = self._delay_for(f"{method} {path}")
        if delay:
            time.sleep(delay)

        request_id = _request_id()
        with self._lock:
            reply = self._respond(method, path, params, headers, body, body_error, request_id)
            bucket = reply.bucket or self._state.core
            bucket.refresh(time.time())
            response_headers = {
                "X-RateLimit-Limit": str(bucket.limit),
                "X-RateLimit-Remaining": str(bucket.remaining),
                "X-RateLimit-Reset": str(bucket.reset),
                "X-RateLimit-Used": str(bucket.used),
                "X-RateLimit-Resource": "core",
                **reply.headers,
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-GitHub-Api-Version-Selected": headers.get("x-github-api-version", API_VERSION),
                "X-GitHub-Request-Id": request_id,
            }
        if isinstance(reply.payload, str):
            payload = reply.payload.encode()
            response_headers.setdefault("Content-Type", "text/html; charset=utf-8")
            response: Any = reply.payload
        else:
            payload = json.dumps(reply.payload, separators=(",", ":")).encode()
            response_headers["Content-Type"] = "application/json; charset=utf-8"
            response = json.loads(payload)
        self._record(
            GitHubCall(
                method=method,
                path=path,
                params=params,
                headers=headers,
                body=body,
                raw_body=raw_body,
                time=received,
                status=reply.status,
                response=response,
                response_headers=response_headers,
            )
        )
        return reply.status, response_headers, payload

    def _respond(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        headers: dict[str, str],
        body: Any,
        body_error: bool,
        request_id: str,
    ) -> _Reply:
        """Called with the lock held."""
        state = self._state
        if self._down:
            return _Reply(503, {"message": _MSG_UNAVAILABLE})
        fault = self._take_fault(f"{method} {path}")
        if isinstance(fault, _Fault):
            return self._fault_reply(fault, request_id)

        token = _bearer(headers.get("authorization", ""))
        if token is None or token != self.token:
            bucket = state.unauthenticated
            bucket.refresh(time.time())
            if token is None and path == "/rate_limit":
                return _Reply(200, self._rate_limit_body(bucket), bucket=bucket)
            bucket.remaining = max(0, bucket.remaining - 1)
            message = "Requires authentication" if token is None else "Bad credentials"
            return _Reply(401, _error(message, 401), bucket=bucket)

        core = state.core
        core.refresh(time.time())
        if path != "/rate_limit":
            if core.remaining <= 0:
                return _Reply(403, self._primary_limit_body(request_id))
            core.remaining -= 1

        for route_method, regex, handler_name in _ROUTES:
            match = regex.match(path)
            if match is None or route_method != method:
                continue
            if body_error or (method == "POST" and not isinstance(body, dict)):
                return _Reply(400, _error("Problems parsing JSON", 400))
            handler: Callable[..., _Reply] = getattr(self, handler_name)
            return handler(params=params, body=body, **match.groupdict())
        return _Reply(404, _error("Not Found", 404))

    def _fault_reply(self, fault: _Fault, request_id: str) -> _Reply:
        extra: dict[str, str] = {}
        if fault.retry_after is not None:
            extra["Retry-After"] = str(fault.retry_after)
        if fault.kind == "primary":
            core = self._state.core
            exhausted = _Bucket(
                limit=core.limit, remaining=0, reset=math.ceil(time.time() + fault.reset_in)
            )
            body = self._primary_limit_body(request_id, fault.status)
            return _Reply(fault.status, body, extra, exhausted)
        if fault.kind == "secondary":
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before "
                "you try again. If you reach out to GitHub Support for help, please include "
                f"the request ID {request_id}."
            )
            return _Reply(fault.status, _error(message, fault.status, DOCS_SECONDARY_LIMIT), extra)
        if fault.kind == "server" and fault.message is None:
            payload: Any
            if fault.status == 502:
                payload = _HTML_502
            elif fault.status == 503:
                payload = {"message": _MSG_UNAVAILABLE}
            elif fault.status == 504:
                payload = {"message": _MSG_TIMEOUT}
            else:
                payload = {"message": "Server Error"}
            return _Reply(fault.status, payload, extra)
        message = fault.message or HTTPStatus(fault.status).phrase
        return _Reply(fault.status, _error(message, fault.status), extra)

    def _primary_limit_body(self, request_id: str, status: int = 403) -> dict[str, Any]:
        user_id = _stable_id("user", self.login)
        return _error(
            f"API rate limit exceeded for user ID {user_id}. If you reach out to GitHub "
            f"Support for help, please include the request ID {request_id}.",
            status,
            DOCS_PRIMARY_LIMIT,
        )

    # ------------------------------------------------------------ API endpoints
    # Called with self._lock held, so they may touch self._state freely.

    def _rate_limit(self, **_: Any) -> _Reply:
        return _Reply(200, self._rate_limit_body(self._state.core))

    @staticmethod
    def _rate_limit_body(core: _Bucket) -> dict[str, Any]:
        def entry(limit: int, used: int, reset: int) -> dict[str, int]:
            return {"limit": limit, "used": used, "remaining": limit - used, "reset": reset}

        rate = entry(core.limit, core.used, core.reset)
        return {
            "resources": {
                "core": rate,
                "search": entry(30, 0, int(time.time()) + 60),
                "graphql": entry(core.limit, 0, core.reset),
                "integration_manifest": entry(5000, 0, core.reset),
            },
            "rate": rate,
        }

    def _list_pulls(self, owner: str, name: str, params: dict[str, str], **_: Any) -> _Reply:
        r = self._repo(f"{owner}/{name}")
        if r is None:
            return _Reply(404, _error("Not Found", 404, DOCS_LIST_PULLS))
        want_state = params.get("state", "open") or "open"
        if want_state not in ("open", "closed", "all"):
            errors = [{"resource": "PullRequest", "field": "state", "code": "invalid"}]
            return _Reply(422, _error("Validation Failed", 422, DOCS_LIST_PULLS, errors=errors))
        pulls = [p for p in r.pulls.values() if want_state in ("all", p.state)]
        if params.get("base"):
            pulls = [p for p in pulls if p.base == params["base"]]
        if params.get("head"):
            # "user:ref" (GitHub's form) or just "ref".
            head_ref = params["head"].split(":", 1)[-1]
            pulls = [p for p in pulls if p.head_ref == head_ref]
        sort = params.get("sort", "created")
        default_direction = "desc" if sort == "created" else "asc"
        descending = params.get("direction", default_direction) == "desc"
        key = "updated_at" if sort == "updated" else "created_at"
        pulls.sort(key=lambda p: (getattr(p, key), p.number), reverse=descending)
        items = [self._render_pull(r, p, full=False) for p in pulls]
        return self._paginate(items, f"/repos/{owner}/{name}/pulls", params)

    def _get_pull(self, owner: str, name: str, number: str, **_: Any) -> _Reply:
        r = self._repo(f"{owner}/{name}")
        pull = r.pulls.get(int(number)) if r is not None else None
        if r is None or pull is None:
            return _Reply(404, _error("Not Found", 404, DOCS_GET_PULL))
        return _Reply(200, self._render_pull(r, pull, full=True))

    def _list_pull_files(
        self, owner: str, name: str, number: str, params: dict[str, str], **_: Any
    ) -> _Reply:
        r = self._repo(f"{owner}/{name}")
        pull = r.pulls.get(int(number)) if r is not None else None
        if r is None or pull is None:
            return _Reply(404, _error("Not Found", 404, DOCS_PULL_FILES))
        tree = r.trees.get(pull.head_sha, {})
        api = self._api()
        items = []
        for filename, status, previous in pull.files[:MAX_PULL_FILES]:
            content = tree.get(filename, b"")
            blob_sha = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324
            quoted = urllib.parse.quote(filename)
            item: dict[str, Any] = {
                "sha": blob_sha,
                "filename": filename,
                "status": status,
                "additions": 0 if status == "removed" else content.count(b"\n"),
                "deletions": 0,
                "changes": content.count(b"\n"),
                "blob_url": f"https://github.com/{r.full_name}/blob/{pull.head_sha}/{quoted}",
                "raw_url": f"https://github.com/{r.full_name}/raw/{pull.head_sha}/{quoted}",
                "contents_url": f"{api}/repos/{r.full_name}/contents/{quoted}?ref={pull.head_sha}",
            }
            if previous is not None:
                item["previous_filename"] = previous
            items.append(item)
        return self._paginate(items, f"/repos/{owner}/{name}/pulls/{number}/files", params)

    def _get_contents(
        self, owner: str, name: str, path: str, params: dict[str, str], **_: Any
    ) -> _Reply:
        r = self._repo(f"{owner}/{name}")
        if r is None:
            return _Reply(404, _error("Not Found", 404, DOCS_CONTENTS))
        ref = params.get("ref") or r.branch_shas.get(r.default_branch, "")
        sha = ref if ref in r.trees else r.branch_shas.get(ref, ref)
        tree = r.trees.get(sha)
        path = path.strip("/")
        if tree is None:
            message = f"No commit found for the ref {ref}"
            return _Reply(404, _error(message, 404, DOCS_CONTENTS))
        api = self._api()

        def entry(item_path: str, kind: str, size: int, blob: str) -> dict[str, Any]:
            url = f"{api}/repos/{r.full_name}/contents/{item_path}?ref={ref}"
            html = f"https://github.com/{r.full_name}/{'blob' if kind == 'file' else 'tree'}"
            git = f"{api}/repos/{r.full_name}/git/{'blobs' if kind == 'file' else 'trees'}"
            return {
                "name": item_path.rsplit("/", 1)[-1],
                "path": item_path,
                "sha": blob,
                "size": size,
                "url": url,
                "html_url": f"{html}/{ref}/{item_path}",
                "git_url": f"{git}/{blob}",
                "download_url": (
                    f"https://raw.githubusercontent.com/{r.full_name}/{ref}/{item_path}"
                    if kind == "file"
                    else None
                ),
                "type": kind,
                "_links": {
                    "self": url,
                    "git": f"{git}/{blob}",
                    "html": f"{html}/{ref}/{item_path}",
                },
            }

        if path in tree:
            content = tree[path]
            blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324
            item = entry(path, "file", len(content), blob)
            if len(content) > MAX_INLINE_CONTENT:
                item.update(content="", encoding="none")
            else:
                encoded = base64.b64encode(content).decode()
                lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
                item.update(content="\n".join(lines) + "\n", encoding="base64")
            return _Reply(200, item)
        prefix = f"{path}/" if path else ""
        children: dict[str, str] = {}
        for item_path in tree:
            if item_path.startswith(prefix):
                rest = item_path[len(prefix) :]
                child, slash, _ = rest.partition("/")
                children[prefix + child] = "dir" if slash else "file"
        if not children:
            return _Reply(404, _error("Not Found", 404, DOCS_CONTENTS))
        listing = []
        for child_path, kind in sorted(children.items()):
            content = tree.get(child_path, b"")
            blob = hashlib.sha1(child_path.encode()).hexdigest()  # noqa: S324
            listing.append(entry(child_path, kind, len(content) if kind == "file" else 0, blob))
        return _Reply(200, listing)

    def _create_status(self, owner: str, name: str, sha: str, body: Any, **_: Any) -> _Reply:
        r = self._repo(f"{owner}/{name}")
        if r is None:
            return _Reply(404, _error("Not Found", 404, DOCS_CREATE_STATUS))
        state = body.get("state")
        if state is None:
            return _Reply(
                422,
                _error('Invalid request.\n\n"state" wasn\'t supplied.', 422, DOCS_CREATE_STATUS),
            )
        if state not in STATUS_STATES:
            errors = [
                {
                    "resource": "Status",
                    "code": "custom",
                    "field": "state",
                    "message": "state is not included in the list",
                }
            ]
            return _Reply(422, _error("Validation Failed", 422, DOCS_CREATE_STATUS, errors=errors))
        description = body.get("description")
        if description is not None and len(str(description)) > MAX_DESCRIPTION:
            errors = [
                {
                    "resource": "Status",
                    "code": "custom",
                    "field": "description",
                    "message": "description is too long (maximum is 140 characters)",
                }
            ]
            return _Reply(422, _error("Validation Failed", 422, DOCS_CREATE_STATUS, errors=errors))
        if sha not in r.commits:
            return _Reply(422, _error(f"No commit found for SHA: {sha}", 422, DOCS_CREATE_STATUS))
        self._status_counter += 1
        status_id = 30_000_000_000 + self._status_counter
        now = _now_iso()
        status_url = f"{self._api()}/repos/{r.full_name}/statuses/{sha}"
        creator = _user(self.login, self._api())
        status = {
            "url": status_url,
            "avatar_url": creator["avatar_url"],
            "id": status_id,
            "node_id": _node_id("StatusContext", status_id),
            "state": state,
            "description": description,
            "target_url": body.get("target_url"),
            "context": body.get("context") or "default",
            "created_at": now,
            "updated_at": now,
            "creator": creator,
        }
        r.statuses.setdefault(sha, []).append(status)
        return _Reply(201, status, {"Location": status_url})

    def _list_statuses(
        self, owner: str, name: str, ref: str, params: dict[str, str], **_: Any
    ) -> _Reply:
        r = self._repo(f"{owner}/{name}")
        if r is None:
            return _Reply(404, _error("Not Found", 404, DOCS_LIST_STATUSES))
        sha = ref if ref in r.commits else r.branch_shas.get(ref.removeprefix("heads/"), ref)
        items = list(reversed(r.statuses.get(sha, [])))
        return self._paginate(items, f"/repos/{owner}/{name}/commits/{ref}/statuses", params)

    # ------------------------------------------------------------------ helpers

    def _paginate(self, items: list[Any], path: str, params: dict[str, str]) -> _Reply:
        per_page = _int_param(params.get("per_page"), DEFAULT_PER_PAGE)
        per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
        page = max(1, _int_param(params.get("page"), 1))
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(to: int, rel: str) -> str:
            query = dict(params)
            query.pop("page", None)
            query["page"] = str(to)
            return f'<{self._api()}{path}?{urllib.parse.urlencode(query)}>; rel="{rel}"'

        # GitHub's order: prev, next, last, first; no Link header for a single page.
        links = []
        if page > 1:
            links.append(link(min(page - 1, last), "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        return _Reply(200, chunk, {"Link": ", ".join(links)} if links else {})

    @staticmethod
    def _resolve(r: _Repo, ref: str) -> str:
        if ref in r.commits or len(ref) < 7:
            return ref
        found = [sha for sha in r.commits if sha.startswith(ref)]
        return found[0] if len(found) == 1 else ref

    def _ancestors(self, r: _Repo, sha: str) -> list[str]:
        """``sha`` and every commit reachable from it, nearest first."""
        seen: list[str] = []
        queue = [sha]
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.append(current)
            queue.extend(r.parents.get(current, []))
        return seen

    def _render_commit(self, r: _Repo, sha: str) -> dict[str, Any]:
        api = self._api()
        repo_url = f"{api}/repos/{r.full_name}"
        person = {"name": "Octo Cat", "email": "octocat@github.com", "date": _now_iso()}
        return {
            "sha": sha,
            "node_id": _node_id("Commit", _stable_id(sha)),
            "commit": {
                "author": person,
                "committer": person,
                "message": f"Commit {sha[:7]}",
                "tree": {"sha": sha[::-1], "url": f"{repo_url}/git/trees/{sha[::-1]}"},
                "url": f"{repo_url}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                },
            },
            "url": f"{repo_url}/commits/{sha}",
            "html_url": f"https://github.com/{r.full_name}/commit/{sha}",
            "comments_url": f"{repo_url}/commits/{sha}/comments",
            "author": _user("octocat", api),
            "committer": _user("web-flow", api),
            "parents": [
                {
                    "sha": parent,
                    "url": f"{repo_url}/commits/{parent}",
                    "html_url": f"https://github.com/{r.full_name}/commit/{parent}",
                }
                for parent in r.parents.get(sha, [])
            ],
        }

    def _compare(self, owner: str, name: str, base: str, head: str, **_: Any) -> _Reply:
        """GET /repos/{owner}/{repo}/compare/{base}...{head}, as GitHub answers it: the
        commits reachable from head but not from base, oldest first, and their files."""
        r = self._repo(f"{owner}/{name}")
        if r is None:
            return _Reply(404, _error("Not Found", 404))
        # GitHub takes any unambiguous abbreviation of a commit's sha.
        base, head = self._resolve(r, base), self._resolve(r, head)
        if base not in r.commits or head not in r.commits:
            return _Reply(404, _error("Not Found", 404))
        from_head = self._ancestors(r, head)
        from_base = self._ancestors(r, base)
        ahead = [sha for sha in from_head if sha not in from_base]
        behind = [sha for sha in from_base if sha not in from_head]
        merge_base = next((sha for sha in from_head if sha in from_base), base)
        if not ahead and not behind:
            status = "identical"
        elif not behind:
            status = "ahead"
        elif not ahead:
            status = "behind"
        else:
            status = "diverged"
        files: dict[str, str] = {}
        for sha in reversed(ahead):
            for filename, change in r.commit_files.get(sha, []):
                files[filename] = change
        api = self._api()
        repo_url = f"{api}/repos/{r.full_name}"
        html = f"https://github.com/{r.full_name}/compare/{base}...{head}"
        return _Reply(
            200,
            {
                "url": f"{repo_url}/compare/{base}...{head}",
                "html_url": html,
                "permalink_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "base_commit": self._render_commit(r, base),
                "merge_base_commit": self._render_commit(r, merge_base),
                "status": status,
                "ahead_by": len(ahead),
                "behind_by": len(behind),
                "total_commits": len(ahead),
                "commits": [self._render_commit(r, sha) for sha in reversed(ahead)],
                "files": [
                    {
                        "sha": _stable_id(filename, change).__format__("040x")[-40:],
                        "filename": filename,
                        "status": change,
                        "additions": 1,
                        "deletions": 0,
                        "changes": 1,
                        "blob_url": f"https://github.com/{r.full_name}/blob/{head}/{filename}",
                        "raw_url": f"https://github.com/{r.full_name}/raw/{head}/{filename}",
                        "contents_url": f"{repo_url}/contents/{filename}?ref={head}",
                        "patch": "@@ -0,0 +1 @@",
                    }
                    for filename, change in files.items()
                ],
            },
        )

    def _repo(self, repo: str) -> _Repo | None:
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise ValueError(f"repo must be 'owner/name', not {repo!r}")
        return self._state.repos.get(repo.lower())  # repo names are case-insensitive

    def _ensure_repo(self, repo: str, default_branch: str = "master") -> _Repo:
        found = self._repo(repo)
        if found is None:
            found = _Repo(full_name=repo, default_branch=default_branch)
            self._state.repos[repo.lower()] = found
        return found

    def _pull(self, repo: str, number: int) -> tuple[_Repo, _Pull]:
        r = self._repo(repo)
        if r is None or number not in r.pulls:
            raise KeyError(f"no pull request {repo}#{number}")
        return r, r.pulls[number]

    @staticmethod
    def _branch_sha(r: _Repo, branch: str) -> str:
        sha = r.branch_shas.get(branch)
        if sha is None:
            sha = r.branch_shas[branch] = secrets.token_hex(20)
            r.commits.add(sha)
        return sha

    def _render_pull(self, r: _Repo, p: _Pull, *, full: bool) -> dict[str, Any]:
        """The pull request as GitHub serialises it (a fresh dict, safe to mutate)."""
        api = self._api()
        repo_url = f"{api}/repos/{r.full_name}"
        pull_url = f"{repo_url}/pulls/{p.number}"
        issue_url = f"{repo_url}/issues/{p.number}"
        owner_login = r.full_name.split("/")[0]
        owner = _user(owner_login, api, kind="Organization")
        repo_obj = _repository(r, api, owner)

        def branch(ref: str, sha: str) -> dict[str, Any]:
            return {
                "label": f"{owner_login}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": dict(owner),
                "repo": json.loads(json.dumps(repo_obj)),
            }

        merged = p.merged_at is not None
        is_open = p.state == "open"
        pull: dict[str, Any] = {
            "url": pull_url,
            "id": p.id,
            "node_id": _node_id("PullRequest", p.id),
            "html_url": p.html_url,
            "diff_url": f"{p.html_url}.diff",
            "patch_url": f"{p.html_url}.patch",
            "issue_url": issue_url,
            "number": p.number,
            "state": p.state,
            "locked": False,
            "title": p.title,
            "user": _user(p.user_login, api),
            "body": p.body,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "closed_at": p.closed_at,
            "merged_at": p.merged_at,
            "merge_commit_sha": p.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [_render_label(r, label, api) for label in p.labels],
            "milestone": None,
            "draft": p.draft,
            "commits_url": f"{pull_url}/commits",
            "review_comments_url": f"{pull_url}/comments",
            "review_comment_url": f"{repo_url}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": f"{repo_url}/statuses/{p.head_sha}",
            "head": branch(p.head_ref, p.head_sha),
            "base": branch(p.base, self._branch_sha(r, p.base)),
            "_links": {
                "self": {"href": pull_url},
                "html": {"href": p.html_url},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{pull_url}/comments"},
                "review_comment": {"href": f"{repo_url}/pulls/comments{{/number}}"},
                "commits": {"href": f"{pull_url}/commits"},
                "statuses": {"href": f"{repo_url}/statuses/{p.head_sha}"},
            },
            "author_association": "MEMBER",
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if full:
            pull.update(
                {
                    "merged": merged,
                    "mergeable": True if is_open else None,
                    "rebaseable": True if is_open else None,
                    "mergeable_state": "clean" if is_open else "unknown",
                    "merged_by": _user(p.merged_by, api) if p.merged_by else None,
                    "comments": 0,
                    "review_comments": 0,
                    "maintainer_can_modify": False,
                    "commits": 1,
                    "additions": 1,
                    "deletions": 1,
                    "changed_files": len(p.files) or 1,
                }
            )
        return pull


def _bearer(authorization: str) -> str | None:
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() in ("bearer", "token") and credentials.strip():
        return credentials.strip()
    return None


def _int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _label(value: str | Mapping[str, Any]) -> _Label:
    if isinstance(value, str):
        return _Label(name=value)
    return _Label(
        name=str(value["name"]),
        color=str(value.get("color", "ededed")),
        description=value.get("description"),
    )


def _render_label(r: _Repo, label: _Label, api: str) -> dict[str, Any]:
    label_id = _stable_id(r.full_name.lower(), "label", label.name, digits=10)
    return {
        "id": label_id,
        "node_id": _node_id("Label", label_id),
        "url": f"{api}/repos/{r.full_name}/labels/{urllib.parse.quote(label.name)}",
        "name": label.name,
        "color": label.color,
        "default": False,
        "description": label.description,
    }


def _user(login: str, api: str, kind: str | None = None) -> dict[str, Any]:
    user_id = _stable_id("user", login)
    user_url = f"{api}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": _node_id("User", user_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": user_url,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{user_url}/followers",
        "following_url": f"{user_url}/following{{/other_user}}",
        "gists_url": f"{user_url}/gists{{/gist_id}}",
        "starred_url": f"{user_url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{user_url}/subscriptions",
        "organizations_url": f"{user_url}/orgs",
        "repos_url": f"{user_url}/repos",
        "events_url": f"{user_url}/events{{/privacy}}",
        "received_events_url": f"{user_url}/received_events",
        "type": kind or ("Bot" if login.endswith("[bot]") else "User"),
        "site_admin": False,
    }


# (key, suffix) of the repository object's API URL templates.
_REPO_URLS = (
    ("forks_url", "/forks"),
    ("keys_url", "/keys{/key_id}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("teams_url", "/teams"),
    ("hooks_url", "/hooks"),
    ("issue_events_url", "/issues/events{/number}"),
    ("events_url", "/events"),
    ("assignees_url", "/assignees{/user}"),
    ("branches_url", "/branches{/branch}"),
    ("tags_url", "/tags"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("trees_url", "/git/trees{/sha}"),
    ("statuses_url", "/statuses/{sha}"),
    ("languages_url", "/languages"),
    ("stargazers_url", "/stargazers"),
    ("contributors_url", "/contributors"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("commits_url", "/commits{/sha}"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("comments_url", "/comments{/number}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("contents_url", "/contents/{+path}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("merges_url", "/merges"),
    ("archive_url", "/{archive_format}{/ref}"),
    ("downloads_url", "/downloads"),
    ("issues_url", "/issues{/number}"),
    ("pulls_url", "/pulls{/number}"),
    ("milestones_url", "/milestones{/number}"),
    ("notifications_url", "/notifications{?since,all,participating}"),
    ("labels_url", "/labels{/name}"),
    ("releases_url", "/releases{/id}"),
    ("deployments_url", "/deployments"),
)


def _repository(r: _Repo, api: str, owner: dict[str, Any]) -> dict[str, Any]:
    repo_id = _stable_id("repo", r.full_name.lower(), digits=9)
    url = f"{api}/repos/{r.full_name}"
    html_url = f"https://github.com/{r.full_name}"
    open_count = sum(1 for p in r.pulls.values() if p.state == "open")
    return {
        "id": repo_id,
        "node_id": _node_id("Repository", repo_id),
        "name": r.full_name.split("/")[1],
        "full_name": r.full_name,
        "private": False,
        "owner": dict(owner),
        "html_url": html_url,
        "description": None,
        "fork": False,
        "url": url,
        **{key: url + suffix for key, suffix in _REPO_URLS},
        "created_at": "2016-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "pushed_at": "2024-01-01T00:00:00Z",
        "git_url": f"git://github.com/{r.full_name}.git",
        "ssh_url": f"git@github.com:{r.full_name}.git",
        "clone_url": f"{html_url}.git",
        "svn_url": html_url,
        "homepage": None,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": open_count,
        "license": None,
        "forks": 0,
        "open_issues": open_count,
        "watchers": 0,
        "default_branch": r.default_branch,
        "is_template": False,
        "topics": [],
        "visibility": "public",
        "web_commit_signoff_required": False,
        "custom_properties": {},
    }
