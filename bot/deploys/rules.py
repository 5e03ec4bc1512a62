"""When a deploy may start, and the rollback checklist: plain Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.booking.rules import Status
from bot.slack.format import slack_date


@dataclass(frozen=True)
class Via:
    """What moved a booking when no person typed it: shown in the notices and kept as
    the audit entry's reason, e.g. "Heroku release v42 of foundation-site (1a2b3c4)"."""

    description: str
    # Extra lines for the failure notice: the release's output, who to call.
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class StartContext:
    status: Status
    starts_at: datetime
    ends_at: datetime
    requester_id: str
    other_deploying: str | None  # short id of another deploy of the app under way
    previous_step: tuple[int, str, Status] | None  # (step number, short id, status)


def start_refusal(
    context: StartContext, *, user_id: str, now: datetime, grace: timedelta, override: bool
) -> str | None:
    """Why this start is refused, or None when it may go ahead."""
    if user_id != context.requester_id:
        return f"only <@{context.requester_id}>, who booked it, can start it"
    if context.status is Status.DEPLOYING:
        return "it is already deploying"
    if not override and context.status is not Status.APPROVED:
        return (
            f"it is {context.status.label}, not approved. A deploy starts only after its "
            "approvals (announce it with `/deploy ready`)"
        )
    if now < context.starts_at - grace:
        return (
            f"its slot starts {slack_date(context.starts_at)}; you may start up to "
            f"{int(grace.total_seconds() // 60)} minutes early"
        )
    if now > context.ends_at:
        return (
            f"its slot ended {slack_date(context.ends_at)}. Book a new slot with "
            "`/deploy edit` or `/deploy schedule`"
        )
    if context.other_deploying:
        return f"`{context.other_deploying}` of the same app is still deploying"
    if context.previous_step is not None:
        number, short_id, status = context.previous_step
        if status is not Status.LANDED:
            return (
                f"step {number} (`{short_id}`) of the plan has not landed yet "
                f"({status.label}); steps deploy separately and in order"
            )
    return None


def rollback_checklist(app: str, short_id: str, rollback_plan: str) -> str:
    """The on-call steps from the seeds, with the booking's own plan first."""
    lines = [f":rotating_light: *`{short_id}` failed. Rollback checklist for {app}:*"]
    if rollback_plan:
        lines.append(f"0. The plan given when booking: {rollback_plan}")
    lines += [
        "1. If a damaging migration ran, migrate each affected Django app back to the "
        "migration *before* this change (look at the `dependencies` of the migrations the "
        f"PRs add): `heroku run --app {app} python manage.py migrate <app_label> "
        "<previous_migration>`",
        "2. Or restore the database backup: "
        f"`heroku pg:backups:restore DATABASE_URL --app {app}`. Data written since the "
        "backup was taken is lost, so act fast.",
        "3. Redeploy master: `git push -f production master` (or redeploy master from the "
        "Heroku dashboard).",
        f"4. When it is rolled back, record it: `/deploy rolledback {short_id}`.",
    ]
    return "\n".join(lines)
