"""Small helpers for Slack's message syntax (dates, mentions, escaping)."""

from __future__ import annotations

from datetime import UTC, datetime

DEFAULT_DATE_FORMAT = "{date_short_pretty} at {time}"


def slack_date(value: datetime, fmt: str = DEFAULT_DATE_FORMAT) -> str:
    """A date token each reader's Slack client renders in their own time zone; the
    fallback (for notifications, e-mails and old clients) is the same instant in UTC.

    Times just parsed from a person's words carry that person's zone, so the value is
    converted before formatting: formatting it as it stands would print their local
    hour labelled "UTC". A naive value is refused, as the database's UTCDateTime refuses
    it: nothing says whose clock it came from, and even its timestamp would be a guess.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} given for a Slack date token")
    utc = value.astimezone(UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{fmt}|{fallback}>"


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup in mrkdwn text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
