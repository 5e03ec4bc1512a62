"""Slack surface of deploy windows: `/deploy windows` and `/deploy window add|remove|
override ...` (the changes are for approvers)."""

from __future__ import annotations

import logging

from bot.outcomes import NotFound
from bot.settings import Settings
from bot.slack.commands import CommandContext, CommandRouter
from bot.slack.listeners import Listeners
from bot.slack.users import APPROVER_UNKNOWN_TEXT, is_approver
from bot.windows import blocks
from bot.windows.rules import ADD_EXAMPLES, OVERRIDE_REASON_MAX, QUOTES, WindowError, parse_window
from bot.windows.service import (
    Added,
    Overridden,
    OverrideRefused,
    Removed,
    TooMany,
    WindowService,
)

log = logging.getLogger(__name__)


class WindowSlack:
    def __init__(self, service: WindowService, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    def register(self, listeners: Listeners, router: CommandRouter) -> None:
        router.add(
            "windows",
            self.list_windows,
            usage="/deploy windows",
            summary="when tricky deploys may happen: allowed windows and blackouts",
        )
        router.add(
            "window",
            self.window_command,
            usage="/deploy window add|remove|override ...",
            summary="change the deploy windows or override them for one booking (approvers)",
        )

    def list_windows(self, ctx: CommandContext) -> None:
        windows = self.service.windows()
        ctx.reply(blocks.windows_text(windows, self.service.state() if windows else None))

    def window_command(self, ctx: CommandContext) -> None:
        verb, _, rest = ctx.args.partition(" ")
        verb = verb.lower()
        if verb not in {"add", "remove", "override"}:
            ctx.reply(f"Say what to do with the windows.\n\n{blocks.USAGE}")
            return
        approver = is_approver(ctx.client, self.settings.approver_usergroup, ctx.user_id)
        if approver is None:
            ctx.reply(APPROVER_UNKNOWN_TEXT)
            return
        if not approver:
            ctx.reply(
                "Only approvers may change the deploy windows or override them; ask one to "
                f"run it, e.g. `{ADD_EXAMPLES[0]}`. `/deploy windows` shows them."
            )
            return
        if verb == "add":
            self._add(ctx, rest.strip())
        elif verb == "remove":
            self._remove(ctx, rest.strip())
        else:
            self._override(ctx, rest.strip())

    def _add(self, ctx: CommandContext, text: str) -> None:
        try:
            window = parse_window(text)
        except WindowError as exc:
            examples = "\n".join(f"`{example}`" for example in ADD_EXAMPLES)
            ctx.reply(f"Not added: {exc}. For example:\n{examples}")
            return
        match self.service.add(window, user_id=ctx.user_id):
            case Added(stored):
                # The channel's notice was recorded with the window (WindowNotices).
                ctx.reply(blocks.added_text(stored))
            case TooMany(limit):
                ctx.reply(
                    f"Not added: there are already {limit} windows; remove one first, "
                    "e.g. `/deploy window remove 3`."
                )

    def _remove(self, ctx: CommandContext, text: str) -> None:
        token = text.split()[0].lstrip("#`").rstrip("`") if text else ""
        if not token.isdigit() or len(token) > 9:
            ctx.reply(
                "Say which window to remove by its number, e.g. `/deploy window remove 3` "
                "(`/deploy windows` shows the numbers)."
            )
            return
        match self.service.remove(int(token), user_id=ctx.user_id):
            case Removed(window):
                ctx.reply(f"Removed window `{window.id}` (“{window.description}”).")
            case NotFound():
                ctx.reply(
                    f"There is no window `{token}`; `/deploy windows` shows the numbers, "
                    "e.g. `/deploy window remove 3`."
                )

    def _override(self, ctx: CommandContext, text: str) -> None:
        short_id, _, reason = text.partition(" ")
        reason = reason.strip().strip(QUOTES).strip()
        if not short_id or not reason:
            ctx.reply(f"Say which booking and why, e.g. `{blocks.OVERRIDE_EXAMPLE}`.")
            return
        if len(reason) > OVERRIDE_REASON_MAX:
            ctx.reply(
                f"Keep the reason under {OVERRIDE_REASON_MAX} characters, "
                f"e.g. `{blocks.OVERRIDE_EXAMPLE}`."
            )
            return
        match self.service.override(short_id, user_id=ctx.user_id, reason=reason):
            case Overridden(booking, why):
                # The channel's notice, and the announcement's update that shows the
                # override to the approvers, were recorded with it (WindowNotices).
                ctx.reply(blocks.override_notice(booking.short_id, ctx.user_id, why))
            case NotFound(missing):
                ctx.reply(f"There is no booking `{missing}`; `/deploy list` shows the ids.")
            case OverrideRefused(why):
                ctx.reply(
                    f"Not overridden: {why}; only a booking still to deploy can be, e.g. "
                    f"`{blocks.OVERRIDE_EXAMPLE}` (`/deploy list` shows them)."
                )
