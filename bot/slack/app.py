"""Builds the Bolt app and lets each domain package register its listeners."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.approval.slack import ApprovalSlack
from bot.booking.slack import BookingSlack
from bot.container import Container
from bot.deploys.slack import DeploySlack
from bot.freeze.slack import FreezeSlack
from bot.home.slack import HomeSlack
from bot.plans.blocks import progress_note
from bot.plans.slack import PlanSlack
from bot.runbook.slack import RunbookSlack
from bot.slack.commands import CommandRouter


def build_web_client(container: Container) -> WebClient:
    settings = container.settings
    client = WebClient(token=settings.slack_bot_token, base_url=str(settings.slack_api_url))
    # Slack answers 429 with Retry-After under load and occasionally 5xx; the SDK's own
    # handlers wait and retry (connection errors are retried by default).
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    return client


def build_bolt_app(container: Container) -> App:
    settings = container.settings
    app = App(
        client=build_web_client(container),
        signing_secret=settings.slack_signing_secret,
        # Listeners run after the acknowledgement has been sent (Bolt's default for a
        # long-running server); said explicitly because everything relies on it.
        process_before_response=False,
    )
    router = CommandRouter()
    plans = container.plans

    def plan_notes(booking_ids: list[int]) -> dict[int, str]:
        return {bid: progress_note(p) for bid, p in plans.progress(booking_ids).items()}

    BookingSlack(container.bookings, settings, annotate=plan_notes).register(app, router)
    PlanSlack(plans, settings).register(app, router)
    ApprovalSlack(container.approvals, container.announcer, settings).register(app, router)
    freezes = FreezeSlack(container.freezes, container.freeze_enforcer, settings)
    freezes.register(app, router)
    runbooks = RunbookSlack(container.runbooks, freezes, settings)
    runbooks.register(app)
    DeploySlack(container.deploys, container.announcer, settings, hooks=[runbooks]).register(
        app, router
    )
    HomeSlack(container.home, settings).register(app)
    router.register(app)
    return app
