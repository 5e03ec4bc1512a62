"""A small GitHub REST client on httpx.

Honours GitHub's rate-limit signals (`Retry-After`, `X-RateLimit-Remaining: 0` with
`X-RateLimit-Reset`) and retries transient failures (connection errors, 5xx) with
exponential backoff, via tenacity. Pagination follows the `Link: rel="next"` header.
"""

from __future__ import annotations

import base64
import logging
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
# Never wait longer than this for a rate limit inside one call; the caller (often the
# clock) will try again later instead of holding a worker.
MAX_RATE_LIMIT_WAIT = 60.0


class GitHubError(Exception):
    """GitHub refused or failed a request in a way retrying will not fix."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class GitHubUnavailable(GitHubError):
    """GitHub could not be reached, kept failing (5xx) or rate limited us (403/429 with
    rate-limit headers); worth trying again later."""


class GitHubNotFound(GitHubError):
    """404: the repository, pull request, commit or file does not exist (or the token may
    not see it: GitHub answers 404 rather than 403 for private repositories)."""


class GitHubForbidden(GitHubError):
    """403 that is not a rate limit: the token lacks a permission."""


# The pulls files API lists at most this many files of a pull request.
MAX_PULL_FILES = 3000
# The contents API gives a file's content inline only up to this size.
MAX_CONTENT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PullFile:
    """One entry of `GET /repos/{repo}/pulls/{number}/files`."""

    filename: str
    status: str  # added, removed, modified, renamed, copied, changed, unchanged
    previous_filename: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> PullFile:
        previous = data.get("previous_filename")
        return cls(
            filename=str(data["filename"]),
            status=str(data.get("status") or "modified"),
            previous_filename=str(previous) if previous else None,
        )


@dataclass(frozen=True)
class PullFiles:
    files: tuple[PullFile, ...]
    # GitHub stops listing at MAX_PULL_FILES: the rest of a bigger PR is unseen.
    truncated: bool


class FileTooLarge(GitHubError):
    """The contents API would not give this file inline (over 1 MB)."""


@dataclass(frozen=True)
class PullRequest:
    repo: str
    number: int
    title: str
    html_url: str
    head_sha: str
    base_ref: str
    state: str
    labels: tuple[str, ...] = field(default_factory=tuple)
    author: str = ""

    @classmethod
    def from_api(cls, repo: str, data: dict[str, Any]) -> PullRequest:
        return cls(
            repo=repo,
            number=int(data["number"]),
            title=str(data.get("title") or ""),
            html_url=str(data.get("html_url") or ""),
            head_sha=str(data["head"]["sha"]),
            base_ref=str(data["base"]["ref"]),
            state=str(data.get("state") or ""),
            labels=tuple(str(label["name"]) for label in data.get("labels") or []),
            author=str((data.get("user") or {}).get("login") or ""),
        )


@dataclass(frozen=True)
class Comparison:
    """`GET /repos/{repo}/compare/{base}...{head}`: how head relates to base, the commits
    head has that base has not (oldest first) and the files they change."""

    status: str  # "identical", "ahead", "behind" or "diverged"
    commits: tuple[str, ...]
    files: tuple[PullFile, ...]
    total_commits: int

    @property
    def head_contains_base(self) -> bool:
        return self.status in ("identical", "ahead")

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Comparison:
        return cls(
            status=str(data["status"]),
            commits=tuple(str(item["sha"]) for item in data.get("commits") or []),
            files=tuple(PullFile.from_api(item) for item in data.get("files") or []),
            total_commits=int(data.get("total_commits") or 0),
        )


class _Transient(Exception):
    """A failure worth retrying right away (after backoff)."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds GitHub asks us to wait, or None if this is not a rate-limit answer."""
    if response.status_code not in (403, 429):
        return None
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None and retry_after.isdigit():
        return float(retry_after)
    if response.headers.get("X-RateLimit-Remaining") == "0":
        reset = response.headers.get("X-RateLimit-Reset", "")
        if reset.isdigit():
            return max(0.0, float(reset) - time.time()) + 1.0
        return 60.0
    return None


def _wait_for(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _Transient) and exc.wait is not None:
        return exc.wait
    return float(wait_exponential(multiplier=0.5, max=8)(state))


class GitHubClient:
    def __init__(
        self,
        token: str | None,
        api_url: str = "https://api.github.com",
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "deploybot",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=timeout)
        self._attempts = attempts
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    # -- requests --------------------------------------------------------------------

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        @retry(
            retry=retry_if_exception(lambda e: isinstance(e, _Transient)),
            stop=stop_after_attempt(self._attempts),
            wait=_wait_for,
            sleep=self._sleep,
            reraise=True,
        )
        def attempt() -> httpx.Response:
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                raise _Transient(f"{method} {url}: {exc.__class__.__name__}") from exc
            wait = _rate_limit_wait(response)
            if wait is not None:
                if wait > MAX_RATE_LIMIT_WAIT:
                    raise GitHubUnavailable(f"rate limited for {wait:.0f}s", response.status_code)
                log.warning("GitHub rate limit on %s %s; waiting %.1fs", method, url, wait)
                raise _Transient("rate limited", wait)
            if response.status_code >= 500:
                raise _Transient(f"{method} {url}: HTTP {response.status_code}")
            return response

        try:
            response = attempt()
        except _Transient as exc:
            raise GitHubUnavailable(str(exc)) from exc
        if response.status_code >= 400:
            body = response.json() if _is_json(response) else None
            message = body.get("message", "") if isinstance(body, dict) else ""
            error = {404: GitHubNotFound, 403: GitHubForbidden}.get(
                response.status_code, GitHubError
            )
            raise error(
                f"{method} {url}: HTTP {response.status_code} {message}".strip(),
                response.status_code,
            )
        return response

    def _paginate(self, url: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        next_url: str | None = url
        next_params: dict[str, Any] | None = params
        while next_url:
            response = self._request("GET", next_url, params=next_params)
            yield from response.json()
            next_url = response.links.get("next", {}).get("url")
            next_params = None  # the next link carries the query string itself

    # -- API -------------------------------------------------------------------------

    def get_pull(self, repo: str, number: int) -> PullRequest:
        response = self._request("GET", f"/repos/{repo}/pulls/{number}")
        return PullRequest.from_api(repo, response.json())

    def open_pulls(self, repo: str, base: str) -> Iterator[PullRequest]:
        params = {"state": "open", "base": base, "per_page": 100}
        for data in self._paginate(f"/repos/{repo}/pulls", params):
            yield PullRequest.from_api(repo, data)

    def pull_files(self, repo: str, number: int, *, changed_files: int | None = None) -> PullFiles:
        """The files a pull request changes, every page of them. GitHub lists at most
        3,000; `changed_files` (from the pull request object) tells whether it stopped."""
        params = {"per_page": 100}
        files = tuple(
            PullFile.from_api(data)
            for data in self._paginate(f"/repos/{repo}/pulls/{number}/files", params)
        )
        truncated = len(files) >= MAX_PULL_FILES or (
            changed_files is not None and changed_files > len(files)
        )
        return PullFiles(files, truncated)

    def file_content(self, repo: str, path: str, ref: str) -> bytes | None:
        """A file's bytes at commit `ref`, or None if it does not exist there. Raises
        FileTooLarge over 1 MB (the contents API gives no inline content then)."""
        try:
            response = self._request(
                "GET", f"/repos/{repo}/contents/{_quote_path(path)}", params={"ref": ref}
            )
        except GitHubNotFound:
            return None
        data = response.json()
        if not isinstance(data, dict) or data.get("type") != "file":
            return None  # a directory, symlink or submodule: not a file we can read
        if data.get("encoding") != "base64":
            raise FileTooLarge(f"{path} at {ref[:12]} is {data.get('size')} bytes", 200)
        return base64.b64decode(str(data.get("content") or ""))

    def directory(self, repo: str, path: str, ref: str) -> list[str]:
        """Paths of the files directly in directory `path` at `ref` (empty if none)."""
        try:
            response = self._request(
                "GET", f"/repos/{repo}/contents/{_quote_path(path)}", params={"ref": ref}
            )
        except GitHubNotFound:
            return []
        data = response.json()
        if not isinstance(data, list):
            return []
        return [
            str(item["path"])
            for item in data
            if isinstance(item, dict) and item.get("type") == "file"
        ]

    def compare(self, repo: str, base: str, head: str) -> Comparison:
        """Compare two commits. GitHub lists at most 250 commits and 300 files in one
        answer; `total_commits` says how many there really are."""
        response = self._request(
            "GET", f"/repos/{repo}/compare/{_quote_path(base)}...{_quote_path(head)}"
        )
        return Comparison.from_api(response.json())

    def set_status(
        self,
        repo: str,
        sha: str,
        *,
        state: str,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "state": state,
            "context": context,
            # GitHub refuses descriptions over 140 characters.
            "description": description if len(description) <= 140 else description[:139] + "…",
        }
        if target_url:
            body["target_url"] = target_url
        self._request("POST", f"/repos/{repo}/statuses/{sha}", json=body)


def _quote_path(path: str) -> str:
    return urllib.parse.quote(path.strip("/"), safe="/")


def _is_json(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("Content-Type", "")
    return content_type.startswith("application/json")
