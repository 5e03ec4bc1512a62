"""A small Heroku Platform API client on httpx, for one question: which commit does a
release run? (`GET /apps/{app}/releases/{id}` names the release's slug, `GET
/apps/{app}/slugs/{slug_id}` its commit.) Asked only when the release webhook carries
neither a slug commit nor a "Deploy <sha>" description, and only with HEROKU_API_TOKEN.

Same manners as bot/github/client.py: a timeout on every request, transient failures
(connection errors, 5xx) retried with exponential backoff via tenacity, and whatever is
still failing, or rate limited (Heroku answers 429 and says when only by its
`RateLimit-Remaining` header), raised as `HerokuUnavailable` for the clock to retry
later instead of holding a worker.
"""

from __future__ import annotations

import logging
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)

ACCEPT = "application/vnd.heroku+json; version=3"
DEFAULT_API_URL = "https://api.heroku.com"
_SHA = re.compile(r"[0-9a-f]{7,40}")


class HerokuError(Exception):
    """Heroku refused a request in a way retrying will not fix (401, 403, 404)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class HerokuUnavailable(HerokuError):
    """Heroku could not be reached, kept failing (5xx) or rate limited us (429): worth
    trying again later."""


class _Transient(Exception):
    pass


class HerokuClient:
    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {
            "Accept": ACCEPT,
            "Authorization": f"Bearer {token}",
            "User-Agent": "deploybot",
        }
        self._http = httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=timeout)
        self._attempts = attempts
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def release_commit(self, app: str, release: str) -> str | None:
        """The commit release `release` (its id or version) of `app` runs; None when it
        has no slug (a config-var or add-on release) or its slug names no commit."""
        data = self._get(f"/apps/{_part(app)}/releases/{_part(release)}")
        slug = data.get("slug")
        slug_id = slug.get("id") if isinstance(slug, dict) else None
        if not isinstance(slug_id, str) or not slug_id:
            return None
        commit = self._get(f"/apps/{_part(app)}/slugs/{_part(slug_id)}").get("commit")
        if isinstance(commit, str) and _SHA.fullmatch(commit):
            return commit
        return None

    def _get(self, url: str) -> dict[str, Any]:
        @retry(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=0.5, max=8),
            sleep=self._sleep,
            reraise=True,
        )
        def attempt() -> httpx.Response:
            try:
                response = self._http.get(url)
            except httpx.TransportError as exc:
                raise _Transient(f"GET {url}: {exc.__class__.__name__}") from exc
            if response.status_code >= 500:
                raise _Transient(f"GET {url}: HTTP {response.status_code}")
            return response

        try:
            response = attempt()
        except _Transient as exc:
            raise HerokuUnavailable(str(exc)) from exc
        if response.status_code == 429:
            # The budget refills over minutes: waiting here would hold a worker.
            raise HerokuUnavailable(f"GET {url}: rate limited (HTTP 429)", 429)
        if response.status_code >= 400:
            raise HerokuError(
                f"GET {url}: HTTP {response.status_code} {_error_id(response)}".strip(),
                response.status_code,
            )
        try:
            data = response.json()
        except ValueError:
            raise HerokuError(f"GET {url}: not JSON", response.status_code) from None
        if not isinstance(data, dict):
            raise HerokuError(f"GET {url}: not an object", response.status_code)
        return data


def _part(value: str) -> str:
    # App names and ids never need quoting; anything else must not change the path.
    return urllib.parse.quote(value, safe="")


def _error_id(response: httpx.Response) -> str:
    """Heroku's error body is `{"id": "not_found", "message": "..."}`."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        return f"{body.get('id') or ''}: {body.get('message') or ''}".strip(": ")
    return ""
