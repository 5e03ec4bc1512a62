"""The composition root: the one place that builds the bot's parts and wires them up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.approval.announcer import Announcer
from bot.approval.service import ApprovalService
from bot.booking.rules import BookingPolicy
from bot.booking.service import BookingService
from bot.db import Database
from bot.deploys.service import DeployService
from bot.github.client import GitHubClient
from bot.home.calendar import CalendarFeed
from bot.home.service import CurrentFreeze, HomeService, no_freeze
from bot.plans.service import PlanService
from bot.review_apps.service import ReviewAppService
from bot.review_apps.slack import build_messenger
from bot.settings import Settings


@dataclass
class Container:
    settings: Settings
    database: Database
    bookings: BookingService
    github: GitHubClient
    review_apps: ReviewAppService
    approvals: ApprovalService
    announcer: Announcer
    deploys: DeployService
    plans: PlanService
    home: HomeService
    calendar: CalendarFeed


def build_container(settings: Settings) -> Container:
    database = Database(settings.database_url)
    policy = BookingPolicy(
        min_lead=timedelta(minutes=settings.min_lead_minutes),
        max_duration=timedelta(minutes=settings.max_duration_minutes),
    )
    github = GitHubClient(settings.github_token, str(settings.github_api_url))
    approvals = ApprovalService(database, settings.required_approvals)
    bookings = BookingService(database, policy)
    # The Home tab's freeze section asks this. Until the freeze package is merged nothing
    # is ever frozen; then pass an adapter returning the FreezeSummary of
    # settings.freeze_branch.
    current_freeze: CurrentFreeze = no_freeze
    return Container(
        settings=settings,
        database=database,
        bookings=bookings,
        plans=PlanService(bookings),
        github=github,
        approvals=approvals,
        announcer=Announcer(approvals, settings.deploy_channel),
        deploys=DeployService(
            database,
            policy,
            early_start_grace=timedelta(minutes=settings.early_start_grace_minutes),
            allow_override=settings.allow_emergency_override,
        ),
        review_apps=ReviewAppService(
            database, build_messenger(settings), github, settings.github_repo
        ),
        home=HomeService(
            database,
            required_approvals=settings.required_approvals,
            current_freeze=current_freeze,
        ),
        calendar=CalendarFeed(database, settings.calendar_token),
    )
