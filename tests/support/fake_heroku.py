"""A fake Heroku Platform API (v3) for the two reads the bot makes: release info
(`GET /apps/{app}/releases/{id_or_version}`) and slug info (`GET /apps/{app}/slugs/{id}`).

Bodies, headers and errors are shaped as Heroku's API reference documents them: every
request needs `Accept: application/vnd.heroku+json; version=3` and the bearer token;
errors are `{"id": "...", "message": "..."}` (401 `unauthorized`, 404 `not_found`, 429
`rate_limit`, 503 `unavailable`); answers carry `RateLimit-Remaining` and `Request-Id`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .fake_server import FakeServer, Fault, http_selector

TOKEN = "test-heroku-api-token"
ACCEPT = "application/vnd.heroku+json; version=3"
CREATED = "2026-11-30T14:00:00Z"


@dataclass(frozen=True)
class HerokuCall:
    method: str
    path: str  # without the query string
    headers: dict[str, str]
    status: int = 0

    def summary(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class _App:
    id: str
    name: str
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    slugs: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeHeroku(FakeServer[HerokuCall]):
    """The fake Platform API; calls are selected as ``"GET /apps/*/releases/*"`` (see
    support/fake_server.py for waiting, faults, delays and the outage)."""

    thread_name = "fake-heroku"
    server_version = "Heroku-Fake/1.0"

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self._apps: dict[str, _App] = {}

    def _reset(self) -> None:
        self._apps = {}

    def _key(self, call: HerokuCall) -> str:
        return f"{call.method} {call.path}"

    def _selector(self, where: str) -> str:
        return http_selector(where)

    @property
    def url(self) -> str:
        """The API base URL; give it to the bot as HEROKU_API_URL."""
        return super().url

    # -- configuration -------------------------------------------------------------

    def add_release(
        self,
        app: str,
        version: int,
        *,
        commit: str | None,
        status: str = "succeeded",
        description: str = "",
        with_slug: bool = True,
    ) -> dict[str, Any]:
        """A release of `app` (built from a slug of `commit`, or without a slug: a
        config-var release); returns its release info as the API answers it."""
        with self._lock:
            found = self._apps.get(app)
            if found is None:
                found = self._apps[app] = _App(str(uuid.uuid4()), app)
            slug_ref = None
            if with_slug:
                slug_id = str(uuid.uuid4())
                found.slugs[slug_id] = {
                    "blob": {"method": "get", "url": "https://s3.example.com/slug.tgz"},
                    "buildpack_provided_description": "Python",
                    "checksum": "SHA256:" + "0" * 64,
                    "commit": commit,
                    "commit_description": "",
                    "created_at": CREATED,
                    "id": slug_id,
                    "process_types": {"web": "gunicorn app:app"},
                    "size": 2048,
                    "stack": {"id": str(uuid.uuid4()), "name": "heroku-24"},
                    "updated_at": CREATED,
                }
                slug_ref = {"id": slug_id}
            release = {
                "addon_plan_names": ["heroku-postgresql:essential-0"],
                "artifacts": [{"type": "slug", "id": slug_ref["id"]}] if slug_ref else [],
                "app": {"id": found.id, "name": app},
                "created_at": CREATED,
                "description": description,
                "status": status,
                "id": str(uuid.uuid4()),
                "slug": slug_ref,
                "updated_at": CREATED,
                "user": {"id": str(uuid.uuid4()), "email": "dev-dana@example.com"},
                "version": version,
                "current": True,
                "output_stream_url": None,
                "eligible_for_rollback": True,
            }
            found.releases[str(release["id"])] = release
            return dict(release)

    def fail_next(self, where: str = "*", status: int = 503, *, times: int = 1) -> None:
        """Make the next ``times`` calls ``where`` selects answer Heroku's error for
        ``status`` (429 ``rate_limit``, 503 ``unavailable``, 500 ``internal_server_error``)."""
        self._add_fault(Fault(where=where, status=status, remaining=times))

    # -- the API ---------------------------------------------------------------------

    def handle(
        self, http_method: str, path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        method = http_method.upper()
        path = path.split("?")[0]
        delay = self._delay_for(f"{method} {path}")
        if delay:
            time.sleep(delay)
        status, body = self._answer(method, path, headers)
        self._record(HerokuCall(method, path, headers, status))
        raw = json.dumps(body).encode()
        return (
            status,
            {
                "Content-Type": "application/json",
                "RateLimit-Remaining": "0" if status == 429 else "4499",
                "Request-Id": str(uuid.uuid4()),
            },
            raw,
        )

    def _answer(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._down:
                return 503, _error("unavailable", "Heroku API is temporarily unavailable.")
            fault = self._take_fault(f"{method} {path}")
            if fault is not None:
                ids = {429: "rate_limit", 503: "unavailable", 500: "internal_server_error"}
                return fault.status, _error(
                    ids.get(fault.status, "error"), f"Fault {fault.status}."
                )
            if headers.get("authorization") != f"Bearer {self.token}":
                return 401, _error("unauthorized", "Invalid credentials provided.")
            if headers.get("accept") != ACCEPT:
                return 400, _error("bad_request", "Please specify a version in Accept.")
            match = re.fullmatch(r"/apps/([^/]+)/(releases|slugs)/([^/]+)", path)
            if method != "GET" or match is None:
                return 404, _error("not_found", "The requested API endpoint was not found.")
            app = self._apps.get(match.group(1))
            if app is None:
                return 404, _error("not_found", "Couldn't find that app.")
            kind, key = match.group(2), match.group(3)
            if kind == "slugs":
                slug = app.slugs.get(key)
                if slug is None:
                    return 404, _error("not_found", "Couldn't find that slug.")
                return 200, slug
            release = app.releases.get(key) or next(
                (r for r in app.releases.values() if str(r["version"]) == key), None
            )
            if release is None:
                return 404, _error("not_found", "Couldn't find that release.")
            return 200, release


def _error(error_id: str, message: str) -> dict[str, Any]:
    return {"id": error_id, "message": message}
