"""Posting the approval announcement and keeping it true.

Several decisions can land at once (two approvers click together). Each one ends with
`sync`: render what the database says now, `chat.update`, and check that the booking's
revision did not move meanwhile; if it did, render again. Whichever update reaches
Slack last was rendered from the latest revision, so the message converges to the truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.approval import blocks
from bot.approval.service import AnnouncementView, ApprovalService
from bot.booking.model import Booking

log = logging.getLogger(__name__)

MAX_SYNC_ROUNDS = 5


# What the booked PRs' migrations do, for the announcement (bot/gate), or None.
Describer = Callable[[Booking], str | None]


class Announcer:
    def __init__(
        self, service: ApprovalService, channel: str | None, describe: Describer | None = None
    ) -> None:
        self.service = service
        self.channel = channel
        self.describe = describe

    def _render(self, view: AnnouncementView) -> tuple[str, list[dict[str, Any]]]:
        operations = None
        if self.describe is not None:
            try:
                operations = self.describe(view.booking)
            except Exception:
                # The analysis is extra information: never let it stop the announcement.
                log.exception("could not describe the migrations of %s", view.booking.short_id)
        return blocks.announcement(view, operations)

    def post(self, client: WebClient, view: AnnouncementView) -> str | None:
        """Post a new announcement; returns its ts (None when there is no channel)."""
        if not self.channel:
            return None
        text, message = self._render(view)
        response = client.chat_postMessage(channel=self.channel, text=text, blocks=message)
        ts = str(response["ts"])
        self.service.record_announcement(view.booking.id, str(response["channel"]), ts)
        # A decision may have happened between rendering and recording the ts; make sure
        # the message shows it.
        self.sync(client, view.booking.short_id, rendered_revision=view.revision)
        return ts

    def sync(self, client: WebClient, short_id: str, rendered_revision: int | None = None) -> None:
        for _ in range(MAX_SYNC_ROUNDS):
            view = self.service.view(short_id)
            if view is None or not view.booking.announcement_ts:
                return
            if rendered_revision == view.revision:
                return
            text, message = self._render(view)
            try:
                client.chat_update(
                    channel=view.booking.announcement_channel or "",
                    ts=view.booking.announcement_ts,
                    text=text,
                    blocks=message,
                )
            except SlackApiError as exc:
                log.warning(
                    "could not update announcement of %s: %s", short_id, exc.response.get("error")
                )
                return
            rendered_revision = view.revision
            if self.service.revision(view.booking.id) == rendered_revision:
                return
        log.warning("announcement of %s kept changing; giving up for now", short_id)

    def mark_superseded(
        self, client: WebClient, channel: str | None, ts: str | None, short_id: str
    ) -> None:
        if not channel or not ts:
            return
        text, message = blocks.superseded(short_id)
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=message)
        except SlackApiError as exc:
            log.warning(
                "could not mark the old announcement of %s: %s", short_id, exc.response.get("error")
            )
