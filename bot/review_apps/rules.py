"""Review-app decisions in plain Python: what a notification is, which Heroku deliveries
matter, how a PR is tagged, and whether an event still changes anything.

No Slack, no database, no HTTP here, so every rule is testable on its own.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

DEPENDENCIES_LABEL = "dependencies"


class Event(enum.StrEnum):
    READY = "ready"
    RELEASED = "released"
    FAILED = "failed"
    DESTROYED = "destroyed"


class Tag(enum.StrEnum):
    DEPENDABOT = "Dependabot"
    DEVS = "Devs"


def tag_for(labels: tuple[str, ...] | list[str]) -> Tag:
    """Dependabot labels its PRs `dependencies`; everything else is the developers'."""
    return Tag.DEPENDABOT if DEPENDENCIES_LABEL in labels else Tag.DEVS


# The examples shown with every refusal, so a caller sees the right form at once: a
# `ready` event introduces the app (its PR or branch, URL and login); the later events
# only name an app the bot already knows, so they need nothing else.
EXAMPLE_BODY: dict[str, Any] = {
    "event": "ready",
    "app": "foundation-s-pr-1234",
    "pr_number": 1234,
    "branch": "fix-login",
    "url": "https://foundation-s-pr-1234.herokuapp.com",
    "username": "admin",
    "password": "the generated password",
}
REQUIRED_FIELDS: dict[Event, list[str]] = {
    Event.READY: ["event", "app", "pr_number or branch", "url", "username", "password"],
    Event.RELEASED: ["event", "app"],
    Event.FAILED: ["event", "app"],
    Event.DESTROYED: ["event", "app"],
}


def example_for(body: Any) -> dict[str, Any]:
    """The example body for the event the caller meant (a `ready` one when unclear)."""
    raw = body.get("event") if isinstance(body, dict) else None
    event = Event(raw) if raw in set(Event) else Event.READY
    if event is Event.READY:
        return dict(EXAMPLE_BODY)
    return {"event": event.value, "app": EXAMPLE_BODY["app"]}


def required_for(body: Any) -> list[str]:
    raw = body.get("event") if isinstance(body, dict) else None
    return REQUIRED_FIELDS[Event(raw) if raw in set(Event) else Event.READY]


class Notice(BaseModel):
    """What a review app reports to `POST /api/review-apps`.

    The password is a SecretStr: its repr, str and pydantic's error reports all show
    asterisks, so a stray log line or traceback cannot leak it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    event: Event
    app: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")
    pr_number: int | None = Field(default=None, ge=1)
    branch: str | None = Field(default=None, min_length=1, max_length=255)
    # Only `ready` needs the URL: later events name an app the bot already knows.
    url: AnyHttpUrl | None = None
    username: str | None = Field(default=None, min_length=1, max_length=100)
    password: SecretStr | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("branch", "username", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: Any) -> Any:
        # Heroku sets HEROKU_PR_NUMBER / HEROKU_BRANCH to "" when they do not apply.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("pr_number", mode="before")
    @classmethod
    def _blank_number_is_missing(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.event is not Event.READY:
            return self
        if self.pr_number is None and self.branch is None:
            raise ValueError("a ready event must give pr_number or branch (or both)")
        missing = [
            name
            for name, value in (
                ("url", self.url),
                ("username", self.username),
                ("password", self.password),
            )
            if value is None
        ]
        if missing:
            raise ValueError(
                f"a ready event must carry url, username and password (missing: "
                f"{', '.join(missing)})"
            )
        return self

    @property
    def has_credentials(self) -> bool:
        return self.username is not None and self.password is not None


@dataclass(frozen=True)
class FieldProblem:
    field: str
    problem: str


def describe_errors(error: ValidationError) -> list[FieldProblem]:
    """Field names and messages only: pydantic's `input` (which may be the password) is
    deliberately left out."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append(FieldProblem(field, str(item["msg"])))
    return problems


# ------------------------------------------------------------------ Heroku webhooks


def heroku_signature_ok(secret: str, raw_body: bytes, header: str | None) -> bool:
    """Heroku signs the raw body: base64(HMAC-SHA256(secret, body)), compared in
    constant time."""
    if not header:
        return False
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    return hmac.compare_digest(expected, header.strip())


@dataclass(frozen=True)
class HerokuUpdate:
    """A Heroku delivery that changes a review app's message."""

    app: str
    event: Event
    at: datetime | None
    release_version: int | None = None


def delivery_id(payload: dict[str, Any], header: str | None) -> str | None:
    """The delivery's id: Heroku's `Heroku-Webhook-Id` header, else the one in the body."""
    if header:
        return header.strip()
    metadata = payload.get("webhook_metadata")
    delivery = metadata.get("delivery") if isinstance(metadata, dict) else None
    found = (delivery.get("id") if isinstance(delivery, dict) else None) or payload.get("id")
    return str(found) if found else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def interpret_heroku(payload: dict[str, Any]) -> HerokuUpdate | None:
    """What a delivery means for a review app's message, or None if nothing.

    `api:release` that succeeded or failed, and `api:app` destroyed, matter; pending
    releases, builds, dynos and app updates do not.
    """
    resource = payload.get("resource")
    action = payload.get("action")
    data = payload.get("data")
    if not isinstance(data, dict):
        return None
    if resource == "release" and action in ("create", "update"):
        app = (data.get("app") or {}).get("name")
        status = data.get("status")
        event = {"succeeded": Event.RELEASED, "failed": Event.FAILED}.get(str(status))
        if not app or event is None:
            return None
        version = data.get("version")
        return HerokuUpdate(
            app=str(app),
            event=event,
            at=_parse_time(data.get("updated_at")) or _parse_time(payload.get("created_at")),
            release_version=version if isinstance(version, int) else None,
        )
    if resource == "app" and action == "destroy":
        app = data.get("name")
        if not app:
            return None
        return HerokuUpdate(
            app=str(app),
            event=Event.DESTROYED,
            at=_parse_time(payload.get("updated_at")) or _parse_time(payload.get("created_at")),
        )
    return None


def changes_anything(
    current_state: str | None,
    current_version: int | None,
    event: Event,
    version: int | None,
) -> bool:
    """Whether an event still changes a review app that is in `current_state`.

    A destroyed app stays destroyed (only a new `ready` revives the name), and a release
    older than the one shown (deliveries arrive out of order) changes nothing.
    """
    if current_state is None:
        return True
    if current_state == Event.DESTROYED:
        return event is Event.READY
    if event in (Event.RELEASED, Event.FAILED) and version is not None and current_version:
        return version >= current_version
    return True
