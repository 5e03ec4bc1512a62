"""How deploy windows read in Slack: refusals with the next slot, the list of windows,
the current and next window, override notices. Rendering only."""

from __future__ import annotations

from datetime import datetime

from icalendar import Event
from icalendar.enums import TRANSP

from bot.booking.rules import Problem
from bot.outcomes import OutsideWindow
from bot.slack.format import escape, mention, slack_date
from bot.slack.limits import fit_text
from bot.windows.model import WindowOverride
from bot.windows.rules import (
    ADD_EXAMPLES,
    Occurrence,
    Window,
    WindowKind,
    WindowState,
    describe,
    occurrences,
)

# Occurrences of one blackout in the feed: a weekly one over the feed's seven months.
CALENDAR_OCCURRENCES = 60

OVERRIDE_EXAMPLE = '/deploy window override B7K2Q "hotfix for the donation form, CTO agreed"'
SCHEDULE_OVERRIDE_EXAMPLE = (
    '/deploy schedule #123 fri 16:00 for 1h "Rename Person.name" '
    '--override-window "campaign launch needs it"'
)
USAGE = "\n".join(
    [
        "*Deploy windows* decide when tricky deploys may happen (routine merges are never held).",
        "• `/deploy windows`: the windows, and where we are now",
        "• `/deploy window add allowed|blackout ...` (approvers), e.g.",
        *[f"    `{example}`" for example in ADD_EXAMPLES],
        "• `/deploy window remove ID` (approvers), e.g. `/deploy window remove 3`",
        f'• `/deploy window override ID "reason"` (approvers), e.g. `{OVERRIDE_EXAMPLE}`',
        f"• or book with an override: `{SCHEDULE_OVERRIDE_EXAMPLE}`",
        "A blackout with `--freeze` also freezes the branch while it is on.",
    ]
)


def next_slot_text(outside: OutsideWindow) -> str:
    if outside.next_starts_at is None:
        return "No slot of that length fits the windows within a year."
    return f"The next slot of that length that fits starts {slack_date(outside.next_starts_at)}."


def outside_text(outside: OutsideWindow, head: str = ":no_entry: Not booked") -> str:
    """A refusal naming the rule broken, the next slot that fits and how to override."""
    return (
        f"{head}: {escape(outside.rule)}.\n{next_slot_text(outside)}\n"
        f"An approver may book it anyway with a reason, e.g. `{SCHEDULE_OVERRIDE_EXAMPLE}`."
    )


def outside_start_text(short_id: str, outside: OutsideWindow) -> str:
    example = OVERRIDE_EXAMPLE.replace("B7K2Q", short_id)
    if outside.next_starts_at is None:
        when = "Nothing fits the windows within a year."
    else:
        when = f"The windows next allow it {slack_date(outside.next_starts_at)}."
    return f"{escape(outside.rule)}. {when} An approver may allow it with a reason: `{example}`"


def outside_problem(step: int, outside: OutsideWindow) -> Problem:
    """A plan step that breaks a window, as the plan's refusal lists its problems."""
    return Problem(
        "starts_at",
        f"Step {step}: {outside.rule}. {next_slot_text(outside)}",
        "move the plan to a time inside the deploy windows (`/deploy windows`)",
    )


def _occurrence(occurrence: Occurrence) -> str:
    interval = occurrence.interval
    return (
        f"{occurrence.window.kind.value} “{escape(occurrence.window.description)}” "
        f"{slack_date(interval.starts_at)} to {slack_date(interval.ends_at)}"
    )


def state_line(state: WindowState | None) -> str:
    """One line for `/deploy list` and the App Home: may tricky deploys happen now, and
    what comes next."""
    if state is None:
        return "No deploy windows: tricky deploys may be booked at any time."
    if state.open:
        head = ":large_green_circle: Tricky deploys are allowed now"
        if state.current is not None and state.current.window.kind is WindowKind.ALLOWED:
            head += f" (in {_occurrence(state.current)})"
    else:
        head = ":no_entry: No tricky deploys now"
        if state.current is not None:
            head += f" ({_occurrence(state.current)})"
        else:
            head += " (outside the allowed windows)"
    parts = [head]
    if state.changes_at is not None:
        verb = "close" if state.open else "open"
        parts.append(f"they {verb} {slack_date(state.changes_at)}")
    if state.upcoming is not None:
        parts.append(f"next window: {_occurrence(state.upcoming)}")
    return "; ".join(parts) + "."


def windows_text(windows: list[Window], state: WindowState | None) -> str:
    if not windows:
        return (
            fit_text(
                "No deploy windows are set: tricky deploys may be booked at any time.\n\n" + USAGE
            )
            or ""
        )
    lines = ["*Deploy windows*"]
    for window in windows:
        freeze = " (freezes the branch)" if window.freeze_branch else ""
        icon = ":no_entry:" if window.kind is WindowKind.BLACKOUT else ":white_check_mark:"
        lines.append(
            f"{icon} `{window.id}` {window.kind.value}: “{escape(window.description)}”, "
            f"{escape(describe(window))}{freeze}"
        )
    lines += ["", state_line(state), "", USAGE]
    return fit_text("\n".join(lines)) or ""


def added_text(window: Window) -> str:
    return (
        f"Added {window.kind.value} window `{window.id}`: “{escape(window.description)}”, "
        f"{escape(describe(window))}."
    )


def added_notice(window: Window, user_id: str) -> str:
    return f":calendar: {mention(user_id)} added a deploy window. " + added_text(window)[6:]


def removed_notice(window: Window, user_id: str) -> str:
    return (
        f":calendar: {mention(user_id)} removed the {window.kind.value} window `{window.id}` "
        f"(“{escape(window.description)}”, {escape(describe(window))})."
    )


def override_notice(short_id: str, user_id: str, reason: str) -> str:
    return (
        f":warning: {mention(user_id)} overrode the deploy windows for `{short_id}`: "
        f"{escape(reason)}"
    )


def frozen_until_text(until: datetime) -> str:
    return f"The freeze ends by itself {slack_date(until)}."


def blackout_events(
    windows: list[Window], starts_at: datetime, ends_at: datetime, now: datetime
) -> list[Event]:
    """The blackouts between `starts_at` and `ends_at` as iCalendar events, for the deploy
    calendar feed (bot/home/calendar.py). A UID per occurrence keeps them stable across
    polls."""
    events = []
    for window in windows:
        if window.kind is not WindowKind.BLACKOUT:
            continue
        for interval in occurrences(window, starts_at, ends_at)[:CALENDAR_OCCURRENCES]:
            events.append(
                Event.new(
                    uid=f"window-{window.id}-{interval.starts_at:%Y%m%dT%H%MZ}@deploybot",
                    start=interval.starts_at,
                    end=interval.ends_at,
                    stamp=now,
                    summary=f"Deploy blackout: {window.description}",
                    description=(
                        f"No tricky deploys ({describe(window)}). "
                        "In Slack: /deploy windows"
                        + ("\nThe branch is frozen while it is on." if window.freeze_branch else "")
                    ),
                    categories=["blackout"],
                    transparency=TRANSP.TRANSPARENT,
                )
            )
    return events


def override_section(override: WindowOverride | None) -> str | None:
    """What an approval announcement shows of a window override (None: there is none)."""
    if override is None:
        return None
    return (
        f":warning: *Outside the deploy windows*, overridden by "
        f"{mention(override.overridden_by)}: {escape(override.reason)}"
    )


def join_sections(*parts: str | None) -> str | None:
    """Mrkdwn sections of an announcement, one after the other (None: all were None)."""
    shown = [part for part in parts if part]
    return "\n\n".join(shown) if shown else None
