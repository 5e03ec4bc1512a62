"""Slack surface of freezes: `/deploy freeze|unfreeze|status`, the Unfreeze button and the
channel notices. The freeze a booked change places is bot/freeze/flows.py."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.booking.parsing import ZoneUnknown, parse_when
from bot.freeze import blocks
from bot.freeze.enforcement import FreezeEnforcer
from bot.freeze.model import Freeze
from bot.freeze.rules import clean_reason, needs_approver_check, reason_problem
from bot.freeze.service import (
    AlreadyFrozen,
    Duplicate,
    FreezeService,
    Frozen,
    NotAllowed,
    NotFrozen,
    OtherFreeze,
    Unfrozen,
)
from bot.settings import Settings
from bot.slack.commands import (
    CommandContext,
    CommandRouter,
    acknowledge,
    run_reporting_database_outage,
)
from bot.slack.format import slack_date
from bot.slack.listeners import Listeners
from bot.slack.replies import reply_privately
from bot.slack.users import ZONE_UNKNOWN_TEXT, UserZones, is_approver

log = logging.getLogger(__name__)

# Returns whether Slack took the reply (only then is a work's reply marked sent,
# docs/adr/0018).
Tell = Callable[[str], bool]
# Lifts freeze `id` at the given time (bot/windows keeps the schedule; its clock acts).
ScheduleEnd = Callable[[int, datetime], None]
# `/deploy freeze reason until mon 9:00`: the end is the text after the last "until".
_UNTIL = re.compile(r"(?:^|\s)until\s+(?P<when>[^\s].*)$", re.IGNORECASE | re.S)
UNTIL_EXAMPLE = "/deploy freeze fundraising campaign until mon 9:00"


class FreezeSlack:
    def __init__(
        self,
        service: FreezeService,
        enforcer: FreezeEnforcer,
        settings: Settings,
        zones: UserZones,
        schedule_end: ScheduleEnd | None = None,
        scheduled_end: Callable[[int], datetime | None] | None = None,
    ) -> None:
        self.service = service
        self.enforcer = enforcer
        self.settings = settings
        self.schedule_end = schedule_end
        # When the clock lifts freeze `id` by itself (bot/windows), if it does.
        self.scheduled_end = scheduled_end
        self.zones = zones

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
        branch = self.service.branch
        router.add(
            "freeze",
            self.freeze_command,
            usage="/deploy freeze [reason] [until WHEN]",
            summary=f"freeze {branch}: nobody merges or deploys until it is unfrozen",
        )
        router.add(
            "unfreeze",
            self.unfreeze_command,
            usage="/deploy unfreeze",
            summary=f"lift the freeze on {branch} (whoever froze it, or an approver)",
        )
        router.add(
            "status",
            self.status_command,
            usage="/deploy status",
            summary=f"is {branch} frozen, by whom and why",
        )
        listeners.action(blocks.UNFREEZE_ACTION, ack=acknowledge, work=self.click_unfreeze)

    # -- /deploy freeze ---------------------------------------------------------------

    def freeze_command(self, ctx: CommandContext) -> None:
        args, until, unread = ctx.args, None, None
        if self.schedule_end is not None and (match := _UNTIL.search(args)):
            now = self.service.now()
            try:
                until = parse_when(
                    match.group("when"), self.zones.zone(ctx.client, ctx.user_id), now
                )
            except ValueError:
                # "until" may just be part of the reason ("until the release is out"):
                # the freeze goes on as asked, without an end, and the reply says so.
                unread = match.group("when")
            except ZoneUnknown:
                # An end the person asked for but that cannot be read: freezing without
                # it would keep the branch frozen past the time they meant, and a wrong
                # end could lift it early; they are told and try again.
                ctx.reply(f"Not frozen: {ZONE_UNKNOWN_TEXT}")
                return
            if until is not None and until <= now:
                ctx.reply(f"Not frozen: the end is in the past. Example: `{UNTIL_EXAMPLE}`")
                return
            if until is not None:
                args = args[: match.start()]
        reason = clean_reason(args)
        problem = reason_problem(reason)
        if problem:
            ctx.reply(problem)
            return
        outcome = self.service.freeze(
            user_id=ctx.user_id, reason=reason, request_key=ctx.request_key
        )
        match outcome:
            case Frozen(freeze, repeated=True):
                # Frozen by this very request, whose work process died before the reply
                # went out (docs/adr/0018): the person is told; the rest was done.
                if ctx.reply(blocks.frozen_reply(freeze)):
                    self.service.answered(ctx.request_key)
            case Frozen(freeze):
                reply = blocks.frozen_reply(freeze)
                if until is not None and self.schedule_end is not None:
                    self.schedule_end(freeze.id, until)
                    reply += f" It ends by itself {slack_date(until)}."
                elif unread is not None:
                    reply += (
                        f" I could not read `{unread}` as an end time, so it stays on until "
                        f"someone lifts it; for an end, e.g. `{UNTIL_EXAMPLE}`."
                    )
                if ctx.reply(reply):
                    self.service.answered(ctx.request_key)
                # The channel's notice was recorded with the freeze (bot/freeze/notices.py).
                # After the answer: GitHub may be slow, people should not wait for it.
                self.enforcer.safe_enforce()
            case AlreadyFrozen(freeze):
                ctx.reply(blocks.already_frozen_reply(freeze))
            case Duplicate():
                log.info("ignored a repeated freeze request %s", ctx.request_key)

    # -- /deploy unfreeze and the button ----------------------------------------------

    def unfreeze_command(self, ctx: CommandContext) -> None:
        self._unfreeze(ctx.client, ctx.user_id, ctx.reply, request_key=ctx.request_key)

    def click_unfreeze(self, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        user_id = body["user"]["id"]
        action = (body.get("actions") or [{}])[0]
        try:
            freeze_id: int | None = int(action.get("value") or "")
        except ValueError:
            freeze_id = None

        tell = partial(reply_privately, respond)

        def done(text: str) -> bool:
            # Replace the reminder so its button cannot be pressed again by mistake.
            return respond(text=text, replace_original=True).status_code == 200

        # A Slack retry of the same click carries the same action_ts.
        key = f"action:{blocks.UNFREEZE_ACTION}:{user_id}:{action.get('action_ts', '')}"
        run_reporting_database_outage(
            lambda: self._unfreeze(
                client, user_id, tell, request_key=key, freeze_id=freeze_id, done=done
            ),
            tell,
        )

    def _unfreeze(
        self,
        client: WebClient,
        user_id: str,
        tell: Tell,
        *,
        request_key: str,
        freeze_id: int | None = None,
        done: Tell | None = None,
    ) -> None:
        current = self.service.current()
        if current is None:
            tell(blocks.not_frozen_reply(self.service.branch, self._last()))
            return
        approver = False
        if needs_approver_check(frozen_by=current.frozen_by, user_id=user_id):
            # Asked outside any transaction: a Slack call must never hold a lock.
            # Slack could not tell (None): refused; the person who froze it still may.
            approver = is_approver(client, self.settings.approver_usergroup, user_id) is True
        outcome = self.service.unfreeze(
            user_id=user_id,
            user_is_approver=approver,
            freeze_id=freeze_id,
            request_key=request_key,
        )
        match outcome:
            case Unfrozen(freeze, repeated=True):
                # As for a repeated freeze: only the reply was owed.
                if (done or tell)(blocks.unfrozen_reply(freeze)):
                    self.service.answered(request_key)
            case Unfrozen(freeze):
                if (done or tell)(blocks.unfrozen_reply(freeze)):
                    self.service.answered(request_key)
                self.enforcer.safe_enforce()
            case NotFrozen(last):
                (done or tell)(blocks.not_frozen_reply(self.service.branch, last))
            case OtherFreeze(freeze):
                # The button belonged to a freeze that has since ended; a new one is on.
                tell(
                    "That freeze is already over, but a newer one is on: "
                    f"{blocks.freeze_summary(freeze)}. Use `/deploy unfreeze` to lift it."
                )
            case NotAllowed(freeze):
                tell(blocks.not_allowed_reply(freeze, self.settings.approver_usergroup))
            case Duplicate():
                log.info("ignored a repeated unfreeze request %s", request_key)

    # -- /deploy status ---------------------------------------------------------------

    def status_command(self, ctx: CommandContext) -> None:
        current = self.service.current()
        reply = blocks.status_reply(
            self.service.branch,
            current,
            None if current else self._last(),
            now=self.service.now(),
            enforcement=self.enforcer.enabled,
            unsynced=self.enforcer.unsynced_count() if self.enforcer.enabled else 0,
        )
        until = self.scheduled_end(current.id) if current and self.scheduled_end else None
        if until is not None:
            reply += f"\nIt ends by itself {slack_date(until)}."
        ctx.reply(reply)

    # -- helpers ----------------------------------------------------------------------

    def _last(self) -> Freeze | None:
        history = self.service.history(limit=1)
        return history[0] if history else None
