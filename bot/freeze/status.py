"""`deploybot freeze-status`: is the branch frozen? Read from the database, or from a
running bot's `/api/freeze`, for CI and deploy scripts."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from bot.db import Database
from bot.freeze.service import FreezeService
from bot.freeze.web import freeze_json
from bot.settings import Settings

KEYS = ("frozen", "branch", "reason", "since", "by", "booking")


class FreezeStatusError(Exception):
    """The freeze could not be read; the message says why, in one line."""


def read_freeze_status(settings: Settings, *, url: str | None = None) -> dict[str, Any]:
    if url:
        return _from_bot(url)
    database = Database(settings.database_url)
    try:
        current = FreezeService(database, settings.freeze_branch).current()
    except sa.exc.SQLAlchemyError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise FreezeStatusError(f"database error: {first_line}") from None
    finally:
        database.dispose()
    return freeze_json(settings.freeze_branch, current)


def _from_bot(base_url: str) -> dict[str, Any]:
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/api/freeze", timeout=10.0)
    except httpx.HTTPError as exc:
        raise FreezeStatusError(f"{base_url}: {exc.__class__.__name__}: {exc}") from None
    if response.status_code != 200:
        raise FreezeStatusError(f"{base_url}/api/freeze answered HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        raise FreezeStatusError(f"{base_url}/api/freeze did not answer JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("frozen"), bool):
        raise FreezeStatusError(f"{base_url}/api/freeze answered an unexpected document")
    return {key: document.get(key) for key in KEYS}


def summary_line(document: dict[str, Any]) -> str:
    branch = document.get("branch")
    if not document["frozen"]:
        return f"{branch} is not frozen"
    line = f"{branch} is FROZEN since {document.get('since')} by {document.get('by')}"
    if document.get("booking"):
        line += f" (booking {document['booking']})"
    return f"{line}: {document.get('reason') or 'no reason given'}"
