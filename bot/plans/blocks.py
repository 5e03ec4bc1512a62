"""Messages about migration plans."""

from __future__ import annotations

from bot.booking.model import Booking
from bot.booking.rules import Slot
from bot.plans.model import DeployPlan
from bot.plans.service import Progress
from bot.slack.format import escape, mention, slack_date


def booked_text(plan: DeployPlan, steps: list[Booking]) -> str:
    lines = [
        f":spiral_calendar_pad: Plan `{plan.short_id}` ({plan.kind}): {escape(plan.title)}, "
        f"booked by {mention(plan.requester_id)}. Each step is deployed separately, in order, "
        "with its own approvals:"
    ]
    for number, booking in enumerate(steps, start=1):
        lines.append(
            f"{number}. `{booking.short_id}` {slack_date(booking.starts_at)}: "
            f"{escape(booking.title)} ({booking.pull_requests[0]})"
        )
    lines.append("Announce each step when it is ready with `/deploy ready ID`.")
    return "\n".join(lines)


def conflict_text(step: int, conflicting: Booking, next_slot: Slot) -> str:
    return (
        f":no_entry: Plan not booked: step {step} clashes with `{conflicting.short_id}` "
        f"({escape(conflicting.title)}, {slack_date(conflicting.starts_at)}, "
        f"{mention(conflicting.requester_id)}). That step's next free slot starts "
        f"{slack_date(next_slot.starts_at)}; nothing was booked."
    )


def progress_note(progress: Progress) -> str:
    return (
        f"step {progress.step}/{progress.total} of plan `{progress.plan_short_id}`, "
        f"{progress.landed} landed"
    )
