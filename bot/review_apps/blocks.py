"""Block Kit for review-app messages. Presentation only.

The main message never contains credentials; they go in a reply in its thread (or, for
an incoming webhook, which cannot thread or edit, in the one message it posts). See ADR
0009 for why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import SecretStr

from bot.review_apps.model import ReviewApp
from bot.review_apps.rules import Event, tag_for
from bot.slack.format import escape, slack_date

Blocks = list[dict[str, Any]]
Message = tuple[str, Blocks]

OPEN_APP_ACTION = "review_app_open"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def subject(app: ReviewApp) -> str:
    """The PR (tagged, linked, titled) or the branch the app was built from."""
    if app.pr_number is None:
        return f"Branch `{escape(app.branch or '?')}`"
    if app.pr_title is None:
        where = f"<{app.pr_url}|PR #{app.pr_number}>" if app.pr_url else f"PR #{app.pr_number}"
        if app.pr_lookup_pending:
            # GitHub has not answered yet: say what we know; the clock fills in the rest.
            return f"{where} _(title and labels from GitHub to follow)_"
        return where
    tag = tag_for(app.pr_labels or [])
    title = escape(app.pr_title)
    linked = (
        f"<{app.pr_url}|#{app.pr_number} {title}>" if app.pr_url else f"#{app.pr_number} {title}"
    )
    return f"*[{tag.value}]* {linked}"


def status_line(app: ReviewApp) -> str:
    when = slack_date(app.state_at)
    version = f" v{app.release_version}" if app.release_version else ""
    return {
        Event.READY: f":large_green_circle: Ready since {when}",
        Event.RELEASED: f":rocket: Release{version} deployed {when}",
        Event.FAILED: f":x: Release{version} *failed* {when}; the app may run older code",
        Event.DESTROYED: f":wastebasket: Destroyed {when}: the app and its login are gone",
    }[Event(app.state)]


def _head(app: ReviewApp) -> Blocks:
    section = _section(f"*Review app `{escape(app.app_name)}`*\n{subject(app)}")
    if app.state != Event.DESTROYED:
        section["accessory"] = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open app"},
            "url": app.app_url,
            "action_id": OPEN_APP_ACTION,
        }
    return [section, _context(status_line(app))]


def fallback_text(app: ReviewApp) -> str:
    # Used by notifications and old clients: never the credentials.
    what = f"PR #{app.pr_number}" if app.pr_number is not None else f"branch {app.branch}"
    return f"Review app {app.app_name} ({what}): {Event(app.state).value}"


def main_message(app: ReviewApp, *, has_credentials_reply: bool) -> Message:
    blocks = _head(app)
    if app.state == Event.DESTROYED:
        if has_credentials_reply:
            blocks.append(_context("The admin login in the thread was removed."))
    elif has_credentials_reply:
        blocks.append(_context(":key: Admin login and password: in the thread."))
    return fallback_text(app), blocks


def credentials_fields(username: str, password: SecretStr) -> dict[str, Any]:
    # plain_text, so characters such as * _ ~ ` in a generated password show as typed
    # instead of being read as formatting.
    return {
        "type": "section",
        "fields": [
            {"type": "plain_text", "text": f"Username: {username}"},
            {"type": "plain_text", "text": f"Password: {password.get_secret_value()}"},
        ],
    }


def credentials_reply(app_name: str, username: str, password: SecretStr) -> Message:
    text = f"Admin login for review app {app_name}"
    blocks = [
        _section(f":key: *Admin login for `{escape(app_name)}`*"),
        credentials_fields(username, password),
    ]
    return text, blocks


def credentials_removed(app_name: str, at: datetime) -> Message:
    text = f"Admin login for review app {app_name}: removed"
    return text, [
        _context(
            f":lock: The admin login of `{escape(app_name)}` was removed: "
            f"the app was destroyed {slack_date(at)}."
        )
    ]


# ------------------------------------------------------------ incoming-webhook mode


def webhook_message(app: ReviewApp, username: str | None, password: SecretStr | None) -> Message:
    """A whole message for the incoming webhook: it can neither thread nor be edited, so
    a `ready` message carries the login and later events post short follow-ups."""
    blocks = _head(app)
    if username is not None and password is not None:
        blocks.append(credentials_fields(username, password))
    elif app.state == Event.DESTROYED:
        blocks.append(_context("The admin login posted earlier for this app no longer works."))
    return fallback_text(app), blocks
