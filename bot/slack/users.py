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


# What a person is told when Slack could not say whether they are an approver.
APPROVER_UNKNOWN_TEXT = "I couldn't check the approver group with Slack; please try again."


def is_approver(client: WebClient, usergroup_id: str | None, user_id: str) -> bool | None:
    """Whether `user_id` is an approver (who may approve, unfreeze, override the windows,
    mark a pull request routine, finish someone else's deploy): anyone when no
    APPROVER_USERGROUP is set, otherwise its members (`usergroups.users.list`).

    None when Slack cannot tell (the call failed): logged here, never raised. Every
    caller then refuses what needs an approver, since refusing is the safe side, and one
    answering the person says so with APPROVER_UNKNOWN_TEXT rather than "only approvers"."""
    if not usergroup_id:
        return True
    try:
        response = client.usergroups_users_list(usergroup=usergroup_id)
    except SlackApiError as exc:
        log.warning("could not read the approver group: %s", exc.response.get("error"))
        return None
    return user_id in (response.get("users") or [])
