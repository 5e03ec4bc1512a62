"""The composition root: the one place that builds the bot's parts and wires them up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.approval.announcer import Announcer
from bot.approval.service import ApprovalService
from bot.booking.rules import BookingPolicy
from bot.booking.service import BookingService
from bot.db import Database
from bot.freeze.enforcement import FreezeEnforcer
from bot.freeze.service import FreezeService
from bot.github.client import GitHubClient
from bot.settings import Settings


@dataclass
class Container:
    settings: Settings
    database: Database
    bookings: BookingService
    github: GitHubClient
    approvals: ApprovalService
    announcer: Announcer
    freezes: FreezeService
    freeze_enforcer: FreezeEnforcer


def build_container(settings: Settings) -> Container:
    database = Database(settings.database_url)
    policy = BookingPolicy(
        min_lead=timedelta(minutes=settings.min_lead_minutes),
        max_duration=timedelta(minutes=settings.max_duration_minutes),
    )
    github = GitHubClient(settings.github_token, str(settings.github_api_url))
    public_url = str(settings.public_url).rstrip("/") if settings.public_url else None
    approvals = ApprovalService(database, settings.required_approvals)
    return Container(
        settings=settings,
        database=database,
        bookings=BookingService(database, policy),
        github=github,
        freezes=FreezeService(database, settings.freeze_branch),
        freeze_enforcer=FreezeEnforcer(
            database,
            github,
            repo=settings.github_repo,
            branch=settings.freeze_branch,
            enabled=bool(settings.github_token and settings.github_repo),
            target_url=f"{public_url}/api/freeze" if public_url else None,
        ),
        approvals=approvals,
        announcer=Announcer(approvals, settings.deploy_channel),
    )
