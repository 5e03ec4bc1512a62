"""The bot's services built from settings and wired together: the first half of the
composition root (bot/bootstrap.py, where every process and test starts, builds the rest
from this container)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.approval.announcer import Announcer
from bot.approval.notices import DecisionNotices
from bot.approval.service import ApprovalService
from bot.audit.model import SYSTEM_ACTOR
from bot.booking.notices import BookingNotices
from bot.booking.rules import BookingPolicy
from bot.booking.service import BookingService
from bot.db import Database, utcnow
from bot.deploys.notices import DeployNotices
from bot.deploys.service import DeployService
from bot.freeze.enforcement import FreezeEnforcer
from bot.freeze.flows import BookingFreezes
from bot.freeze.notices import FreezeNotices
from bot.freeze.service import FreezeService
from bot.gate.blocks import announcement_operations
from bot.gate.notices import GateNotices
from bot.gate.service import GateService
from bot.gate.watch import watch_bookings
from bot.github.client import GitHubClient
from bot.heroku.client import HerokuClient
from bot.home.calendar import CalendarFeed
from bot.home.service import AlertSummary, CurrentFreeze, FreezeSummary, HomeService
from bot.lifecycle.flows import DeployFlows
from bot.plans.notices import PlanNotices
from bot.plans.service import PlanService
from bot.releases.notices import ReleaseNotices
from bot.releases.service import ReleaseService
from bot.review_apps.messenger import build_messenger
from bot.review_apps.service import ReviewAppService
from bot.runbook.flows import RunbookFlows
from bot.runbook.notices import RunbookNotices
from bot.runbook.service import RunbookService, landing_guard
from bot.settings import Settings
from bot.slack.client import build_web_client
from bot.slack.outbox import Outbox
from bot.slack.users import UserZones
from bot.windows.blocks import blackout_events, join_sections, override_section, state_line
from bot.windows.notices import WindowNotices
from bot.windows.rules import parse_seed
from bot.windows.service import WindowService

# What every service asks for the current time: an aware UTC datetime. Tests give a
# clock of their own instead of bending settings to move time.
Clock = Callable[[], datetime]


@dataclass
class Container:
    settings: Settings
    clock: Clock
    # The one Slack Web API client of the process: Bolt's listeners, the clock's tasks and
    # the review-app messages all send through it.
    slack: WebClient
    database: Database
    # Channel notices, announcement posts and updates and DMs wait here until Slack
    # takes them (docs/adr/0019).
    outbox: Outbox
    # People's time zones, remembered an hour in case Slack goes away (bot/slack/users.py).
    zones: UserZones
    bookings: BookingService
    github: GitHubClient
    review_apps: ReviewAppService
    approvals: ApprovalService
    announcer: Announcer
    deploys: DeployService
    plans: PlanService
    home: HomeService
    calendar: CalendarFeed
    freezes: FreezeService
    runbooks: RunbookService
    freeze_enforcer: FreezeEnforcer
    gate: GateService
    windows: WindowService
    # The lifecycle's consequences, the same whoever moves a booking (docs/adr/0017).
    booking_freezes: BookingFreezes
    runbook_flows: RunbookFlows
    flows: DeployFlows
    # Merges and Heroku releases that move bookings (bot/releases).
    releases: ReleaseService

    def close(self) -> None:
        """Finish the background work the services started (the gate's status posts)
        before the process, or a test's bot, lets go of the database."""
        self.gate.close()
        self.releases.close()


def freeze_summary_of(freezes: FreezeService) -> CurrentFreeze:
    """Adapts the freeze service to the shape the Home tab shows."""

    def current() -> FreezeSummary | None:
        freeze = freezes.current()
        if freeze is None:
            return None
        return FreezeSummary(
            branch=freeze.branch,
            since=freeze.frozen_at,
            frozen_by=None if freeze.frozen_by == SYSTEM_ACTOR else freeze.frozen_by,
            reason=freeze.reason or None,
            booking_short_id=freeze.booking_short_id,
        )

    return current


def build_container(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    slack: WebClient | None = None,
    github: GitHubClient | None = None,
    database: Database | None = None,
) -> Container:
    """Every service of the bot, built from `settings`. Tests pass their own `clock`,
    Slack `WebClient`, `GitHubClient` or `Database` instead of the ones the settings
    describe; nothing else in the bot constructs any of them."""
    database = database or Database(settings.database_url)
    slack = slack or build_web_client(settings)
    outbox = Outbox(
        database, slack, now=clock, lease=timedelta(seconds=settings.outbox_lease_seconds)
    )
    policy = BookingPolicy(
        min_lead=timedelta(minutes=settings.min_lead_minutes),
        max_duration=timedelta(minutes=settings.max_duration_minutes),
    )
    github = github or GitHubClient(settings.github_token, str(settings.github_api_url))
    public_url = str(settings.public_url).rstrip("/") if settings.public_url else None
    # The approval announcement is recorded in the transaction of each decision that
    # moves a booking (docs/adr/0019), rendered with its session: so the gate's analyses
    # and the windows' override are read in it too (`gate` and `windows` are built below).
    announcer = Announcer(
        outbox,
        settings.deploy_channel,
        settings.required_approvals,
        describe=lambda session, booking: join_sections(
            announcement_operations(gate.analyses_of(booking.pull_requests or (), session)),
            override_section(windows.override_of(session, booking.id)),
        ),
    )
    approvals = ApprovalService(
        database,
        settings.required_approvals,
        now=clock,
        notices=DecisionNotices(outbox),
        announcements=announcer,
    )
    windows = WindowService(
        database,
        seed=parse_seed(settings.deploy_windows),
        now=clock,
        notices=WindowNotices(outbox, settings.deploy_channel, announcement=announcer.changed),
    )
    bookings = BookingService(
        database,
        policy,
        now=clock,
        windows=windows,
        notices=BookingNotices(outbox, settings.deploy_channel, announcement=announcer.changed),
    )
    freezes = FreezeService(
        database,
        settings.freeze_branch,
        now=clock,
        notices=FreezeNotices(outbox, settings.deploy_channel),
    )
    # GITHUB_REPO and every app's repository of APPS (docs/adr/0017): their pull
    # requests are gated and frozen alike.
    repos = settings.github_repos
    gate = GateService(
        database,
        github,
        repos=repos,
        branch=settings.freeze_branch,
        enabled=bool(settings.github_token and repos),
        es_patterns=settings.es_mapping_patterns,
        public_url=public_url,
        window_hold=lambda session, booking_id: windows.hold(session, booking_id, clock()),
        notices=GateNotices(outbox, settings.deploy_channel),
    )
    # Every booking change rewrites the deploy statuses of the PRs it names.
    watch_bookings(database, gate)
    freeze_enforcer = FreezeEnforcer(
        database,
        github,
        repos=repos,
        branch=settings.freeze_branch,
        enabled=bool(settings.github_token and repos),
        target_url=f"{public_url}/api/freeze" if public_url else None,
        now=clock,
        repo_of_app=settings.repo_of_app,
    )
    deploys = DeployService(
        database,
        policy,
        early_start_grace=timedelta(minutes=settings.early_start_grace_minutes),
        allow_override=settings.allow_emergency_override,
        landing_guard=landing_guard,
        now=clock,
        windows=windows,
    )
    runbook_notices = RunbookNotices(outbox, settings.deploy_channel)
    runbooks = RunbookService(database, now=clock, notices=runbook_notices)
    booking_freezes = BookingFreezes(freezes, freeze_enforcer)
    runbook_flows = RunbookFlows(
        runbooks, booking_freezes, outbox, runbook_notices, settings.repo_of_app
    )
    flows = DeployFlows(
        deploys, announcer, runbook_flows, DeployNotices(outbox, settings.deploy_channel)
    )
    # Asked for a release's commit only when its webhook names none (HEROKU_API_TOKEN).
    heroku = (
        HerokuClient(settings.heroku_api_token, str(settings.heroku_api_url))
        if settings.heroku_api_token
        else None
    )
    releases = ReleaseService(
        database,
        github,
        settings,
        flows,
        outbox,
        ReleaseNotices(outbox, settings.deploy_channel),
        now=clock,
        heroku=heroku,
    )
    return Container(
        settings=settings,
        clock=clock,
        slack=slack,
        database=database,
        outbox=outbox,
        zones=UserZones(clock),
        bookings=bookings,
        plans=PlanService(bookings, PlanNotices(outbox, settings.deploy_channel)),
        github=github,
        freezes=freezes,
        runbooks=runbooks,
        freeze_enforcer=freeze_enforcer,
        gate=gate,
        approvals=approvals,
        announcer=announcer,
        deploys=deploys,
        booking_freezes=booking_freezes,
        runbook_flows=runbook_flows,
        flows=flows,
        releases=releases,
        review_apps=ReviewAppService(
            database, build_messenger(settings, slack), github, settings.github_repo, now=clock
        ),
        home=HomeService(
            database,
            required_approvals=settings.required_approvals,
            current_freeze=freeze_summary_of(freezes),
            open_alerts=lambda: [AlertSummary(a.id, a.text) for a in releases.open_alerts()],
            now=clock,
            window_line=lambda: state_line(windows.state()) if windows.windows() else None,
            undelivered=outbox.refusals,
        ),
        calendar=CalendarFeed(
            database,
            settings.calendar_token,
            now=clock,
            extra_events=lambda start, end: blackout_events(windows.windows(), start, end, clock()),
        ),
        windows=windows,
    )
