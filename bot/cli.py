"""The `deploybot` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from bot.logs import configure_logging
from bot.memory import limit_malloc_arenas
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger(__name__)


def _review_apps_only(settings: Settings) -> bool:
    """A deployment that only relays review-app notices to SLACK_WEBHOOK_RA (the seeds'
    set-up): no Slack app, so no bot token, signing secret or deploy channel needed."""
    return not settings.slack_bot_token and bool(settings.slack_webhook_ra)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if _review_apps_only(settings) and not args.socket_mode:
        log.warning(
            "no SLACK_BOT_TOKEN: serving review-app notifications only, through "
            "SLACK_WEBHOOK_RA (messages are posted, never edited); /slack/events is off"
        )
    else:
        settings.require(
            "slack_bot_token",
            "deploy_channel",
            "slack_app_token" if args.socket_mode else "slack_signing_secret",
        )
        # Once, here, before any worker or work process exists: each of them asks Slack
        # again when it builds its Bolt app, and a refused token then meant a traceback
        # from every worker and a restart loop instead of one line.
        from bot.slack.startup import check_slack_token

        check_slack_token(settings)
    if settings.is_sqlite:
        # On the default SQLite file a first run should just work; on PostgreSQL the
        # Procfile's release phase runs `deploybot migrate` before new code serves.
        from bot.migrations import upgrade

        upgrade(settings.database_url)
    if args.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.bootstrap import bootstrap
        from bot.slack.work_threads import start_work_threads

        # The work is recorded before each acknowledgement and done on threads of this
        # process, as with WORK_PROCESSES=0 (docs/adr/0018).
        bot = bootstrap(settings)
        app = bot.bolt_app(work_here=start_work_threads(bot).take)
        SocketModeHandler(app, settings.slack_app_token).start()  # type: ignore[no-untyped-call]
        return 0
    from bot.web.server import serve_http

    serve_http(settings, args.port or settings.port)
    return 0


def _work(settings: Settings, args: argparse.Namespace) -> int:
    settings.require("slack_bot_token", "deploy_channel")
    if settings.work_on_web:
        log.warning(
            "WORK_ON_WEB is true: the web dyno does the work too (harmless: each request's "
            "work is claimed once); set WORK_ON_WEB=false to leave it to this worker"
        )
    from bot.slack.startup import check_slack_token

    check_slack_token(settings)
    if settings.is_sqlite:
        from bot.migrations import upgrade

        upgrade(settings.database_url)
    from bot.slack.work_processes import run_worker

    run_worker(settings)
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.migrations import upgrade

    upgrade(settings.database_url)
    return 0


def _clock(settings: Settings, args: argparse.Namespace) -> int:
    if not _review_apps_only(settings):
        settings.require("slack_bot_token", "deploy_channel")
    if settings.is_sqlite:
        from bot.migrations import upgrade

        upgrade(settings.database_url)
    from bot.bootstrap import bootstrap
    from bot.clock.lease import ClockLease
    from bot.clock.runner import run_forever

    bot = bootstrap(settings)
    if args.once:
        # An operator's one tick does not wait for the lease: sends stay unique by
        # their own claims (ADR 0007) whichever clock makes them.
        bot.tick()
        return 0
    lease = ClockLease(bot.container.database, seconds=settings.clock_lease_seconds)
    run_forever(bot.clock_tasks(), bot.container.clock, lease)
    return 0


def _freeze_status(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0 when the branch is not frozen, 1 when it is, 2 when that cannot be told
    (so that `deploybot freeze-status && deploy` never deploys on an error)."""
    import json

    from bot.freeze.status import FreezeStatusError, read_freeze_status, summary_line

    try:
        document = read_freeze_status(settings, url=args.url)
    except FreezeStatusError as exc:
        print(
            f"deploybot: cannot tell whether {settings.freeze_branch} is frozen: {exc}",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(document, sort_keys=True) if args.json else summary_line(document))
    return 1 if document["frozen"] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploybot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve Slack requests and webhooks over HTTP")
    serve.add_argument("--port", type=int, help="port to listen on (default: $PORT or 3000)")
    serve.add_argument(
        "--socket-mode",
        action="store_true",
        help="connect to Slack over Socket Mode instead (local development)",
    )
    serve.set_defaults(run=_serve)

    work = commands.add_parser(
        "work",
        help="do the work the web dynos record (the Procfile's worker; WORK_ON_WEB=false)",
    )
    work.set_defaults(run=_work)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(run=_migrate)

    clock = commands.add_parser(
        "clock",
        help="send reminders and do timed work (one at a time: more than one stand by)",
    )
    clock.add_argument(
        "--once", action="store_true", help="run one tick and exit (whoever holds the lease)"
    )
    clock.set_defaults(run=_clock)

    freeze_status = commands.add_parser(
        "freeze-status",
        help="exit 0 if FREEZE_BRANCH is not frozen, 1 if it is, 2 on errors (for CI)",
        description="Print whether FREEZE_BRANCH is frozen. Exit status: 0 not frozen, "
        "1 frozen, 2 could not tell (database or bot unreachable, bad settings).",
    )
    freeze_status.add_argument(
        "--json", action="store_true", help="print the same JSON document as GET /api/freeze"
    )
    freeze_status.add_argument(
        "--url",
        help="ask a running bot (its base URL, e.g. https://my-deploybot.herokuapp.com) "
        "instead of reading DATABASE_URL",
    )
    freeze_status.set_defaults(run=_freeze_status)

    from bot.review_apps import notify

    review_app = commands.add_parser("review-app", help="run on a Heroku review app")
    review_app_commands = review_app.add_subparsers(dest="review_app_command", required=True)
    notify_parser = review_app_commands.add_parser(
        "notify",
        help="report this review app to the bot (postdeploy / pr-predestroy)",
        description="Reads HEROKU_APP_NAME, HEROKU_PR_NUMBER, HEROKU_BRANCH, DEPLOYBOT_URL, "
        "REVIEW_APP_NOTIFY_TOKEN and REVIEW_APP_ADMIN_PASSWORD (or --password-stdin).",
    )
    notify.add_arguments(notify_parser)
    # Runs in the review app's environment, not the bot's: it reads no bot Settings.
    notify_parser.set_defaults(run_without_settings=notify.run)

    from bot.migration_analysis import check

    migrations = commands.add_parser(
        "migrations", help="Django migrations of the site deploybot guards (not the bot's own)"
    )
    migrations_commands = migrations.add_subparsers(dest="migrations_command", required=True)
    check_parser = migrations_commands.add_parser(
        "check",
        help="judge Django migrations: exit 0 routine, 1 tricky or review, 2 nothing readable",
        description=check.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_arguments(check_parser)
    # Runs in CI and pre-commit, where no bot settings exist: it reads none.
    check_parser.set_defaults(run_without_settings=check.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "run_without_settings", None):
        level = os.environ.get("LOG_LEVEL", "WARNING").upper()
        configure_logging(level if level in logging.getLevelNamesMapping() else "WARNING")
        return int(args.run_without_settings(args))
    try:
        # Before anything else, while this is the only thread: it applies to the threads
        # and processes started from here on.
        limit_malloc_arenas()
        settings = load_settings()
        configure_logging(settings.log_level)
        return int(args.run(settings, args))
    except SettingsError as exc:
        print(f"deploybot: {exc}", file=sys.stderr)
        return 2
