"""What the bot needs to know about Slack users."""

from __future__ import annotations

import http.client
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

# What WebClient raises when Slack cannot answer: SlackApiError for an answer that is not
# ok (after its retry handlers gave up), urllib's URLError for a refused connection, a
# failed DNS look-up or a connect timeout, TimeoutError for a read that timed out, and
# http.client's errors (RemoteDisconnected, IncompleteRead) for a connection cut mid-answer.
# URLError, TimeoutError and ConnectionError are all OSError.
SLACK_UNREACHABLE = (SlackClientError, OSError, http.client.HTTPException)


def user_timezone(client: WebClient, user_id: str) -> ZoneInfo | None:
    """The user's Slack time zone (users.info), or None when Slack cannot tell: the call
    failed, or named a zone this machine's zoneinfo does not know. Logged here, never
    raised. A profile without `tz` is UTC, as Slack documents, not a failure."""
    try:
        response = client.users_info(user=user_id)
    except SLACK_UNREACHABLE as exc:
        log.warning("could not read the time zone of %s from Slack: %r", user_id, exc)
        return None
    user = response.get("user")
    if not isinstance(user, dict):
        log.warning("users.info for %s answered without a user", user_id)
        return None
    name = user.get("tz") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # Guessing UTC here would book the wrong hour without the person knowing.
        log.error("Slack's time zone %r of %s is not one zoneinfo knows: %s", name, user_id, exc)
        return None


class UserZones:
    """People's time zones, each read from Slack, and remembered for a short while as a
    fallback in case Slack cannot be reached.

    Slack is asked every time, so a person who changes their zone in Slack is read
    afresh on their next command. Only when that call fails is the zone read within the
    last `keep` used: a brief Slack outage then does not stop someone who booked a
    minute ago (the zone they had then is almost surely the zone they have now), while
    an outage longer than `keep` makes the bot refuse rather than trust an old reading.
    Bounded to `size` people, the least recently read forgotten first, so a large
    workspace cannot grow it without end. One per process; the work threads share it."""

    def __init__(
        self,
        now: Callable[[], datetime],
        *,
        keep: timedelta = timedelta(hours=1),
        size: int = 1000,
    ) -> None:
        self._now = now
        self._keep = keep
        self._size = size
        self._read: OrderedDict[str, tuple[ZoneInfo, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def zone(self, client: WebClient, user_id: str) -> ZoneInfo | None:
        """`user_id`'s zone from Slack, else the one read within `keep`, else None."""
        zone = user_timezone(client, user_id)
        now = self._now()
        with self._lock:
            if zone is not None:
                self._read[user_id] = (zone, now)
                self._read.move_to_end(user_id)
                while len(self._read) > self._size:
                    self._read.popitem(last=False)
                return zone
            remembered = self._read.get(user_id)
        if remembered is not None and now - remembered[1] <= self._keep:
            log.info("using the time zone of %s read at %s", user_id, remembered[1])
            return remembered[0]
        return None

    def clear(self) -> None:
        with self._lock:
            self._read.clear()


# What a person is told when Slack could not say whether they are an approver.
APPROVER_UNKNOWN_TEXT = "I couldn't check the approver group with Slack; please try again."

# What a person is told when the time they typed depends on their time zone and Slack
# could not say what it is (user_timezone gave None): nothing was stored.
ZONE_UNKNOWN_TEXT = (
    "I couldn't read your time zone from Slack, and the time you typed depends on it. "
    "Please try again in a minute."
)


def is_approver(client: WebClient, usergroup_id: str | None, user_id: str) -> bool | None:
    """Whether `user_id` is an approver (who may approve, unfreeze, override the windows,
    mark a pull request routine, finish someone else's deploy): anyone when no
    APPROVER_USERGROUP is set, otherwise its members (`usergroups.users.list`).

    None when Slack cannot tell (an error answer, a refused connection, a timeout):
    logged here, never raised. Every caller then refuses what needs an approver, since
    refusing is the safe side, and one answering the person says so with
    APPROVER_UNKNOWN_TEXT rather than "only approvers"."""
    if not usergroup_id:
        return True
    try:
        response = client.usergroups_users_list(usergroup=usergroup_id)
    except SlackApiError as exc:
        log.warning("could not read the approver group: %s", exc.response.get("error"))
        return None
    except SLACK_UNREACHABLE as exc:
        log.warning("could not reach Slack for the approver group: %r", exc)
        return None
    return user_id in (response.get("users") or [])
