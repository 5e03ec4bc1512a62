from bot.approval.rules import ApprovalContext, Verdict, judge_approval, judge_change_request
from bot.booking.rules import Status


def context(
    approvals: frozenset[str] = frozenset(),
    required: int = 2,
    status: Status = Status.AWAITING_APPROVAL,
) -> ApprovalContext:
    return ApprovalContext(
        requester_id="alice",
        status=status,
        current_round=1,
        approvals_this_round=approvals,
        required=required,
    )


def approve(
    ctx: ApprovalContext, who: str = "bob", round_: int = 1, member: bool = True
) -> Verdict:
    return judge_approval(ctx, approver_id=who, clicked_round=round_, is_approver=member)


def test_counted_then_quorum() -> None:
    assert approve(context()) is Verdict.COUNTED
    assert approve(context(frozenset({"carol"}))) is Verdict.QUORUM


def test_the_requester_never_approves_even_as_a_group_member() -> None:
    assert approve(context(), who="alice") is Verdict.SELF_APPROVAL


def test_outsiders_stale_rounds_repeats_and_wrong_states() -> None:
    assert approve(context(), member=False) is Verdict.NOT_AN_APPROVER
    assert approve(context(), round_=0) is Verdict.STALE_ROUND
    assert approve(context(frozenset({"bob"}))) is Verdict.ALREADY_DECIDED
    assert approve(context(status=Status.APPROVED)) is Verdict.NOT_AWAITING


def test_request_changes_on_approved_deploys_but_not_by_the_requester() -> None:
    approved = context(status=Status.APPROVED)
    assert (
        judge_change_request(approved, reviewer_id="bob", clicked_round=1, is_approver=True)
        is Verdict.COUNTED
    )
    assert (
        judge_change_request(approved, reviewer_id="alice", clicked_round=1, is_approver=True)
        is Verdict.SELF_APPROVAL
    )
    assert (
        judge_change_request(
            context(status=Status.DEPLOYING), reviewer_id="bob", clicked_round=1, is_approver=True
        )
        is Verdict.NOT_AWAITING
    )
