from datetime import UTC, datetime, timedelta

from bot.booking.rules import Status
from bot.deploys.rules import StartContext, rollback_checklist, start_refusal

START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
GRACE = timedelta(minutes=15)


def ctx(**changes: object) -> StartContext:
    fields: dict[str, object] = {
        "status": Status.APPROVED,
        "starts_at": START,
        "ends_at": START + timedelta(hours=1),
        "requester_id": "alice",
        "other_deploying": None,
        "previous_step": None,
    }
    fields.update(changes)
    return StartContext(**fields)  # type: ignore[arg-type]


def refusal(
    context: StartContext, *, now: datetime = START, user: str = "alice", override: bool = False
) -> str | None:
    return start_refusal(context, user_id=user, now=now, grace=GRACE, override=override)


def test_an_approved_deploy_may_start_in_its_slot_or_within_the_grace() -> None:
    assert refusal(ctx()) is None
    assert refusal(ctx(), now=START - GRACE) is None
    assert "early" in (refusal(ctx(), now=START - GRACE - timedelta(seconds=1)) or "")
    assert "ended" in (refusal(ctx(), now=START + timedelta(hours=2)) or "")


def test_who_and_what_state() -> None:
    assert "only <@alice>" in (refusal(ctx(), user="bob") or "")
    assert "not approved" in (refusal(ctx(status=Status.AWAITING_APPROVAL)) or "")
    assert refusal(ctx(status=Status.AWAITING_APPROVAL), override=True) is None
    assert "already deploying" in (refusal(ctx(status=Status.DEPLOYING)) or "")


def test_one_deploy_per_app_and_plan_order() -> None:
    assert "`X1` of the same app" in (refusal(ctx(other_deploying="X1")) or "")
    waiting = ctx(previous_step=(1, "P1", Status.APPROVED))
    assert "step 1 (`P1`)" in (refusal(waiting) or "")
    assert refusal(ctx(previous_step=(1, "P1", Status.LANDED))) is None


def test_rollback_checklist_follows_the_seeds() -> None:
    text = rollback_checklist("penny-university", "B7K2Q", "migrate app back to 0007")
    assert "0. The plan given when booking: migrate app back to 0007" in text
    assert "heroku pg:backups:restore DATABASE_URL --app penny-university" in text
    assert "git push -f production master" in text
    assert text.index("migrate") < text.index("pg:backups") < text.index("Redeploy master")
