"""Where review-app messages go: the Slack Web API (post, thread, edit in place) or, with
no bot token, the `SLACK_WEBHOOK_RA` incoming webhook (post only).

Errors raised from here never carry the message body or the webhook URL: both can hold
secrets (the body has the password, the URL is itself a credential).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from bot.settings import Settings
from bot.slack.limits import fit_blocks, fit_text

log = logging.getLogger(__name__)


class SlackUnavailable(Exception):
    """Slack refused or could not be reached; the message says why, without content."""


class Messenger(Protocol):
    @property
    def can_edit(self) -> bool:
        """Whether messages can be threaded and edited later (the Web API can; an incoming
        webhook cannot)."""
        ...

    @property
    def channel(self) -> str | None: ...

    def post(
        self, text: str, blocks: list[dict[str, Any]], *, thread_ts: str | None = None
    ) -> str | None:
        """Post a message; return its ts when it can be edited later."""
        ...

    def update(self, ts: str, text: str, blocks: list[dict[str, Any]]) -> None: ...


@dataclass
class WebApiMessenger:
    client: WebClient
    channel: str
    can_edit: bool = True

    def post(
        self, text: str, blocks: list[dict[str, Any]], *, thread_ts: str | None = None
    ) -> str | None:
        try:
            response = self.client.chat_postMessage(
                channel=self.channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                # A link preview of the review app would repeat its URL, nothing more.
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            # Only Slack's error code: the exception's own text quotes the response.
            raise SlackUnavailable(f"chat.postMessage: {exc.response.get('error')}") from None
        except SlackClientError as exc:
            raise SlackUnavailable(f"chat.postMessage: {type(exc).__name__}") from None
        except OSError as exc:
            raise SlackUnavailable(f"chat.postMessage: {type(exc).__name__}") from None
        return str(response["ts"])

    def update(self, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        try:
            self.client.chat_update(channel=self.channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            raise SlackUnavailable(f"chat.update: {exc.response.get('error')}") from None
        except (SlackClientError, OSError) as exc:
            raise SlackUnavailable(f"chat.update: {type(exc).__name__}") from None


class _Retry(Exception):
    pass


@dataclass
class WebhookMessenger:
    url: str
    timeout: float = 10.0
    attempts: int = 3
    can_edit: bool = False
    channel: str | None = None

    def post(
        self, text: str, blocks: list[dict[str, Any]], *, thread_ts: str | None = None
    ) -> str | None:
        @retry(
            retry=retry_if_exception_type(_Retry),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.5, max=4),
            reraise=True,
        )
        def attempt() -> None:
            try:
                response = httpx.post(
                    self.url,
                    json={"text": fit_text(text), "blocks": fit_blocks(blocks)},
                    timeout=self.timeout,
                )
            except httpx.TransportError as exc:
                raise _Retry(type(exc).__name__) from None
            if response.status_code == 429 or response.status_code >= 500:
                raise _Retry(f"HTTP {response.status_code}")
            if response.status_code != 200:
                # Slack answers e.g. 400 `invalid_blocks` or 404 `no_service` as plain text.
                raise SlackUnavailable(
                    f"incoming webhook: HTTP {response.status_code} {response.text[:80]}"
                )

        try:
            attempt()
        except _Retry as exc:
            raise SlackUnavailable(f"incoming webhook: {exc}") from None
        return None

    def update(self, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        raise SlackUnavailable("an incoming webhook cannot edit messages")


def build_messenger(settings: Settings, client: WebClient) -> Messenger | None:
    """The Web API (through the bot's `client`) when the bot has a token and a review-apps
    channel; else the incoming webhook if one is configured; else None (review-app
    notifications are off)."""
    if settings.slack_bot_token and settings.review_apps_channel:
        return WebApiMessenger(client, settings.review_apps_channel)
    if settings.slack_webhook_ra:
        return WebhookMessenger(settings.slack_webhook_ra)
    return None
