"""What the bot needs to know about Slack users."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

UTC_ZONE = ZoneInfo("UTC")


def user_timezone(client: WebClient, user_id: str) -> ZoneInfo:
    """The user's Slack time zone (users.info), or UTC if Slack cannot tell us."""
    try:
        response = client.users_info(user=user_id)
        name = response["user"].get("tz") or "UTC"
        return ZoneInfo(name)
    except (SlackApiError, ZoneInfoNotFoundError, KeyError) as exc:
        log.warning("could not read the time zone of %s, using UTC: %s", user_id, exc)
        return UTC_ZONE


def is_approver(client: WebClient, usergroup_id: str | None, user_id: str) -> bool:
    """Whether `user_id` may approve (and unfreeze): anyone when no APPROVER_USERGROUP is
    set, otherwise its members (`usergroups.users.list`)."""
    if not usergroup_id:
        return True
    response = client.usergroups_users_list(usergroup=usergroup_id)
    return user_id in (response.get("users") or [])
