"""The Slack Web API client: the one place it is constructed (bot/container.py calls it)."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator

from bot.settings import Settings
from bot.slack.limits import LimitedWebClient


def build_web_client(
    settings: Settings, *, retry_interval: RetryIntervalCalculator | None = None
) -> WebClient:
    """`retry_interval`: how long to wait before each retry; by default the SDK's
    exponential backoff (0.5 s, then 1 s, each plus up to a second of jitter). A 429's
    own Retry-After always wins. The in-process tests pass a few milliseconds: they count
    the retries, not the waits, and the outbox's tests go through dozens of refused
    sends."""
    interval = retry_interval or BackoffRetryIntervalCalculator()
    # Every message and view it sends is made to fit Slack's limits (bot/slack/limits.py).
    return LimitedWebClient(
        token=settings.slack_bot_token,
        base_url=str(settings.slack_api_url),
        # Slack answers 429 with Retry-After under load and occasionally 5xx; the SDK's
        # handlers wait and retry, as they do a connection that failed (its default).
        retry_handlers=[
            ConnectionErrorRetryHandler(interval_calculator=interval),
            RateLimitErrorRetryHandler(max_retry_count=2, interval_calculator=interval),
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=interval),
        ],
    )
