"""Slack surface of bookings: `/deploy schedule|list|cancel` and the booking modal."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.booking import blocks
from bot.booking.parsing import (
    ParseDefaults,
    ScheduleParseError,
    ZoneUnknown,
    parse_duration,
    parse_kind,
    parse_pull_request,
    parse_schedule_text,
)
from bot.booking.rules import BookingRequest, Kind, Problem, check_request, format_duration
from bot.booking.service import (
    Booked,
    BookingService,
    Cancelled,
    Conflict,
    Duplicate,
    NotAllowed,
    NotFound,
    OutsideWindow,
    Refused,
)
from bot.settings import Settings
from bot.slack.commands import (
    CommandContext,
    CommandRouter,
    run_reporting_database_outage,
)
from bot.slack.listeners import Listeners
from bot.slack.users import APPROVER_UNKNOWN_TEXT, ZONE_UNKNOWN_TEXT, UserZones, is_approver
from bot.windows.blocks import outside_text, state_line
from bot.windows.rules import WindowState, parse_override_flag

log = logging.getLogger(__name__)


# Extra words per booking id in `/deploy list` (plans say which step a booking is).
Annotator = Callable[[list[int]], dict[int, str]]
# The kind the booked PRs' analyses imply (bot/gate), for a booking that names none.
KindGuesser = Callable[[list[str]], Kind | None]
# Where the deploy windows stand now, for `/deploy list` (None: no windows).
WindowStateReader = Callable[[], WindowState | None]


class BookingSlack:
    def __init__(
        self,
        service: BookingService,
        settings: Settings,
        zones: UserZones,
        annotate: Annotator | None = None,
        guess_kind: KindGuesser | None = None,
        window_state: WindowStateReader | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.annotate = annotate
        self.guess_kind = guess_kind
        self.window_state = window_state
        self.zones = zones

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
        router.add(
            "schedule",
            self.schedule,
            usage='/deploy schedule [PR… WHEN for DURATION "Title"]',
            summary="book a tricky deploy (no arguments opens a form)",
        )
        router.add(
            "list",
            self.list_upcoming,
            usage="/deploy list",
            summary="upcoming booked deploys, soonest first",
        )
        router.add("cancel", self.cancel, usage="/deploy cancel ID", summary="cancel your booking")
        listeners.view(blocks.SCHEDULE_MODAL_CALLBACK, ack=self.check_modal, work=self.submit_modal)

    @property
    def defaults(self) -> ParseDefaults:
        return ParseDefaults(
            app=self.settings.default_app,
            repo=self.settings.github_repo,
            duration=timedelta(minutes=self.settings.default_duration_minutes),
            # With APPS, each app's `#123` is in its own repository (and only those apps
            # may be booked); without, DEFAULT_APP and GITHUB_REPO as before.
            app_repos={a.name: a.repo for a in self.settings.app_list}
            if self.settings.apps
            else {},
        )

    # -- /deploy schedule ---------------------------------------------------------------

    def schedule(self, ctx: CommandContext) -> None:
        if not ctx.args:
            ctx.client.views_open(
                trigger_id=ctx.trigger_id,
                view=blocks.schedule_modal(
                    default_app=self.settings.default_app,
                    origin_channel_id=ctx.channel_id,
                    default_duration=format_duration(self.defaults.duration),
                ),
            )
            return
        try:
            args, override = parse_override_flag(ctx.args)
        except ValueError as exc:
            ctx.reply(f"Not booked: {exc}")
            return
        if override is not None:
            approver = is_approver(ctx.client, self.settings.approver_usergroup, ctx.user_id)
            if not approver:
                ctx.reply(
                    f"Not booked: {APPROVER_UNKNOWN_TEXT}"
                    if approver is None
                    else "Not booked: only an approver may override the deploy windows."
                )
                return
        tz = self.zones.zone(ctx.client, ctx.user_id)
        try:
            request = parse_schedule_text(
                args, tz=tz, now=self.service.now(), defaults=self.defaults
            )
            guessed = self._guessed_kind(request)
            if guessed is not None:
                # Parsed again with the analysis's kind as the default: a `kind:` the
                # person wrote still wins.
                request = parse_schedule_text(
                    args,
                    tz=tz,
                    now=self.service.now(),
                    defaults=replace(self.defaults, kind=guessed),
                )
        except ScheduleParseError as exc:
            ctx.reply(blocks.refusal_text(exc.problems))
            return
        except ZoneUnknown:
            ctx.reply(f"Not booked: {ZONE_UNKNOWN_TEXT}")
            return
        self._book(
            request,
            ctx.client,
            ctx.user_id,
            ctx.channel_id,
            ctx.request_key,
            ctx.reply,
            window_override=override,
        )

    def _guessed_kind(self, request: BookingRequest) -> Kind | None:
        if self.guess_kind is None or not request.pull_requests:
            return None
        try:
            return self.guess_kind([pr.short for pr in request.pull_requests])
        except Exception:
            log.exception("could not read the analyses of the booked PRs")
            return None

    def _book(
        self,
        request: BookingRequest,
        client: WebClient,
        user_id: str,
        channel_id: str | None,
        request_key: str,
        tell: Any,
        window_override: str | None = None,
    ) -> None:
        outcome = self.service.book(
            request,
            requester_id=user_id,
            origin_channel_id=channel_id,
            request_key=request_key,
            window_override=window_override,
        )
        match outcome:
            case Booked(booking, repeated=True):
                # Done before by this very request, whose work process died before the
                # confirmation went out (docs/adr/0018): the person is told now; the
                # channel had its notice from the first run.
                text, confirmation = blocks.booked_confirmation(booking)
                if tell(text, confirmation):
                    self.service.answered(request_key)
            case Booked(booking):
                text, confirmation = blocks.booked_confirmation(booking)
                if tell(text, confirmation):
                    self.service.answered(request_key)
                # Its channel notices were recorded with it (bot/booking/notices.py).
            case OutsideWindow() as outside:
                tell(outside_text(outside))
            case Refused(problems):
                tell(blocks.refusal_text(problems))
            case Conflict(conflicting, next_slot):
                tell(blocks.conflict_text(conflicting, next_slot))
            case Duplicate():
                log.info("ignored a repeated booking request %s", request_key)

    # -- the modal ----------------------------------------------------------------------

    def check_modal(self, ack: Ack, view: dict[str, Any]) -> None:
        """The acknowledgement: field errors go back into the form; no database needed."""
        try:
            self._request_from_modal(view["state"]["values"])
        except _ModalErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        ack()

    def submit_modal(self, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        """The booking itself, after the modal has closed."""
        user_id = body["user"]["id"]

        def tell(text: str, message_blocks: list[dict[str, Any]] | None = None) -> bool:
            # A modal has no response URL: answer in the app's DM with the requester.
            # (A failed post raises: the reply stays owed.)
            client.chat_postMessage(channel=user_id, text=text, blocks=message_blocks)
            return True

        try:
            request = self._request_from_modal(view["state"]["values"])
        except _ModalErrors as exc:
            # Checked a moment ago when acknowledging; only the clock can have moved on
            # (e.g. the start fell inside the lead time), so say what changed.
            tell("Not booked: " + " ".join(exc.errors.values()))
            return
        metadata = json.loads(view.get("private_metadata") or "{}")
        run_reporting_database_outage(
            lambda: self._book(
                request, client, user_id, metadata.get("channel_id"), f"view:{view['id']}", tell
            ),
            tell,
        )

    def _request_from_modal(self, values: dict[str, Any]) -> BookingRequest:
        def value(block_id: str) -> Any:
            return values.get(block_id, {}).get(block_id, {})

        errors: dict[str, str] = {}
        app = (value("app").get("value") or "").strip()
        if not app:
            errors["app"] = "Name the Heroku app, e.g. foundation-site"
        pull_requests = []
        known = self.settings.app_named(app) if self.settings.apps else None
        if self.settings.apps and app and known is None:
            errors["app"] = f"Not one of the apps deploybot knows: {', '.join(self.settings.apps)}"
        repo = known.repo if known is not None else self.settings.github_repo
        for line in (value("pull_requests").get("value") or "").split():
            try:
                pull_requests.append(parse_pull_request(line, repo))
            except ValueError as exc:
                errors["pull_requests"] = str(exc)
        if not pull_requests and "pull_requests" not in errors:
            errors["pull_requests"] = (
                "Add at least one PR, e.g. https://github.com/org/repo/pull/123"
            )
        kind = Kind.OTHER
        selected = (value("kind").get("selected_option") or {}).get("value", "")
        try:
            kind = parse_kind(selected)
        except ValueError as exc:
            errors["kind"] = str(exc)
        timestamp = value("starts_at").get("selected_date_time")
        starts_at = datetime.fromtimestamp(int(timestamp), UTC) if timestamp else None
        if starts_at is None:
            errors["starts_at"] = "Pick a start date and time"
        duration = self.defaults.duration
        try:
            duration = parse_duration(value("duration").get("value") or "")
        except ValueError as exc:
            errors["duration"] = str(exc)
        title = (value("title").get("value") or "").strip()
        if not title:
            errors["title"] = "Say what is being deployed, e.g. Rename Person.name"
        rollback = (value("rollback_plan").get("value") or "").strip()
        if not rollback:
            errors["rollback_plan"] = (
                "Say how to roll back, e.g. migrate back to 0041, redeploy master"
            )
        if errors or starts_at is None:
            raise _ModalErrors(errors)
        request = BookingRequest(
            app=app,
            kind=kind,
            pull_requests=tuple(dict.fromkeys(pull_requests)),
            starts_at=starts_at,
            duration=duration,
            title=title,
            rollback_plan=rollback,
            notes=(value("notes").get("value") or "").strip(),
        )
        # Rules that need no database are checked here, so the modal can show them
        # next to the field instead of in a message afterwards.
        problems = check_request(request, self.service.now(), self.service.policy)
        if problems:
            raise _ModalErrors({p.field: _with_example(p) for p in problems})
        return request

    # -- /deploy list and cancel -------------------------------------------------------

    def list_upcoming(self, ctx: CommandContext) -> None:
        bookings = self.service.upcoming()
        notes = self.annotate([b.id for b in bookings]) if self.annotate else None
        text = blocks.upcoming_text(bookings, notes)
        state = self.window_state() if self.window_state is not None else None
        if state is not None:
            text += "\n\n" + state_line(state)
        ctx.reply(text)

    def cancel(self, ctx: CommandContext) -> None:
        if not ctx.args:
            ctx.reply(
                "Say which booking to cancel, e.g. `/deploy cancel B7K2Q` "
                "(`/deploy list` shows the ids)."
            )
            return
        match self.service.cancel(ctx.args.split()[0], user_id=ctx.user_id):
            case Cancelled(booking):
                # Its channel notice was recorded with it (bot/booking/notices.py).
                ctx.reply(f"Cancelled `{booking.short_id}`.")
            case NotFound(short_id):
                ctx.reply(
                    f"There is no booking `{short_id}`. `/deploy list` shows the ids, "
                    "e.g. `/deploy cancel B7K2Q`."
                )
            case NotAllowed(booking, reason):
                ctx.reply(f"You can't cancel `{booking.short_id}`: {reason}.")


def _with_example(problem: Problem) -> str:
    return f"{problem.message} (e.g. {problem.example})" if problem.example else problem.message


class _ModalErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors
