"""Small helpers for Slack's message syntax (dates, mentions, escaping)."""

from __future__ import annotations

from datetime import datetime

DEFAULT_DATE_FORMAT = "{date_short_pretty} at {time}"


def slack_date(value: datetime, fmt: str = DEFAULT_DATE_FORMAT) -> str:
    """A date token each reader's Slack client renders in their own time zone; the
    fallback (for notifications and old clients) is UTC."""
    fallback = value.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(value.timestamp())}^{fmt}|{fallback}>"


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup in mrkdwn text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
