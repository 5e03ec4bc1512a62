import pytest

from bot.booking.lifecycle import TRANSITIONS, Action, TransitionRefused, allows, next_status
from bot.booking.rules import ACTIVE_STATUSES, Status


def test_the_happy_path() -> None:
    status = Status.SCHEDULED
    for action in (Action.ANNOUNCE, Action.APPROVE, Action.START, Action.LAND):
        status = next_status(status, action)
    assert status is Status.LANDED


def test_failure_then_rollback() -> None:
    assert next_status(Status.DEPLOYING, Action.FAIL) is Status.FAILED
    assert next_status(Status.FAILED, Action.ROLL_BACK) is Status.ROLLED_BACK


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.AWAITING_APPROVAL, Status.APPROVED])
def test_cancel_expire_and_void_before_deploying(status: Status) -> None:
    assert next_status(status, Action.CANCEL) is Status.CANCELLED
    assert next_status(status, Action.EXPIRE) is Status.EXPIRED
    assert next_status(status, Action.VOID_APPROVALS) is Status.SCHEDULED


def test_unapproved_deploys_start_only_by_override() -> None:
    for status in (Status.SCHEDULED, Status.AWAITING_APPROVAL):
        assert not allows(status, Action.START)
        assert next_status(status, Action.OVERRIDE_START) is Status.DEPLOYING


def test_a_refusal_says_what_is_allowed() -> None:
    with pytest.raises(TransitionRefused) as refused:
        next_status(Status.SCHEDULED, Action.LAND)
    message = str(refused.value)
    assert "It is scheduled" in message
    assert "`/deploy ready`" in message and "`/deploy cancel`" in message
    assert "(expiry)" not in message


def test_final_states_allow_nothing() -> None:
    for status in (Status.LANDED, Status.ROLLED_BACK, Status.CANCELLED, Status.EXPIRED):
        assert TRANSITIONS[status] == {}
        with pytest.raises(TransitionRefused, match="Nothing more can happen"):
            next_status(status, Action.CANCEL)


def test_every_status_has_an_entry_and_active_ones_can_still_move() -> None:
    assert set(TRANSITIONS) == set(Status)
    for status in ACTIVE_STATUSES:
        assert TRANSITIONS[status]
