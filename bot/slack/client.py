"""The Slack Web API client: the one place it is constructed (bot/container.py calls it)."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings
from bot.slack.limits import LimitedWebClient


def build_web_client(settings: Settings) -> WebClient:
    # Every message and view it sends is made to fit Slack's limits (bot/slack/limits.py).
    client = LimitedWebClient(token=settings.slack_bot_token, base_url=str(settings.slack_api_url))
    # Slack answers 429 with Retry-After under load and occasionally 5xx; the SDK's own
    # handlers wait and retry (connection errors are retried by default).
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    return client
