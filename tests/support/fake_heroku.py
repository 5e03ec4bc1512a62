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
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "test-heroku-api-token"
ACCEPT = "application/vnd.heroku+json; version=3"
CREATED = "2026-11-30T14:00:00Z"


@dataclass(frozen=True)
class HerokuCall:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class _App:
    id: str
    name: str
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    slugs: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeHeroku:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._apps: dict[str, _App] = {}
        self._faults: list[tuple[int, int]] = []  # (status, remaining)
        self._down = False
        self._calls: list[HerokuCall] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> FakeHeroku:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="fake-heroku", kwargs={"poll_interval": 0.05}
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        """The API base URL; give it to the bot as HEROKU_API_URL."""
        if self._server is None:
            raise RuntimeError("FakeHeroku is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

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

    def fail_next(self, status: int = 503, *, times: int = 1) -> None:
        with self._lock:
            self._faults.append((status, times))

    def set_down(self, down: bool = True) -> None:
        with self._lock:
            self._down = down

    def calls(self, path_prefix: str = "") -> list[HerokuCall]:
        with self._lock:
            return [call for call in self._calls if call.path.startswith(path_prefix)]

    # -- the API ---------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self._calls.append(HerokuCall(method, path, headers))
            if self._down:
                return 503, _error("unavailable", "Heroku API is temporarily unavailable.")
            if self._faults:
                status, remaining = self._faults[0]
                if remaining <= 1:
                    self._faults.pop(0)
                else:
                    self._faults[0] = (status, remaining - 1)
                ids = {429: "rate_limit", 503: "unavailable", 500: "internal_server_error"}
                return status, _error(ids.get(status, "error"), f"Fault {status}.")
            if headers.get("authorization") != f"Bearer {self.token}":
                return 401, _error("unauthorized", "Invalid credentials provided.")
            if headers.get("accept") != ACCEPT:
                return 400, _error("bad_request", "Please specify a version in Accept.")
            match = re.fullmatch(r"/apps/([^/]+)/(releases|slugs)/([^/]+)", path.split("?")[0])
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        fake: FakeHeroku = self.server.fake  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body = fake.handle("GET", self.path, headers)
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("RateLimit-Remaining", "0" if status == 429 else "4499")
        self.send_header("Request-Id", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass
