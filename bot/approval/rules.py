"""The second-approval rule, in plain Python.

A tricky deploy waits for `required` distinct approvers, none of them the requester, all
of them in the approver group when one is configured.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.booking.rules import Status


class Verdict(enum.Enum):
    COUNTED = "counted"  # recorded; more approvals still needed
    QUORUM = "quorum"  # recorded, and this approval completes the quorum
    SELF_APPROVAL = "self_approval"
    NOT_AN_APPROVER = "not_an_approver"
    ALREADY_DECIDED = "already_decided"
    STALE_ROUND = "stale_round"
    NOT_AWAITING = "not_awaiting"


@dataclass(frozen=True)
class ApprovalContext:
    requester_id: str
    status: Status
    current_round: int
    approvals_this_round: frozenset[str]
    required: int


def judge_approval(
    context: ApprovalContext, *, approver_id: str, clicked_round: int, is_approver: bool
) -> Verdict:
    """What an Approve click by `approver_id` means. The order of the checks decides
    which reason people are given, so the most personal one comes first."""
    if approver_id == context.requester_id:
        return Verdict.SELF_APPROVAL
    if not is_approver:
        return Verdict.NOT_AN_APPROVER
    if clicked_round != context.current_round:
        return Verdict.STALE_ROUND
    if context.status is not Status.AWAITING_APPROVAL:
        return Verdict.NOT_AWAITING
    if approver_id in context.approvals_this_round:
        return Verdict.ALREADY_DECIDED
    if len(context.approvals_this_round) + 1 >= context.required:
        return Verdict.QUORUM
    return Verdict.COUNTED


def judge_change_request(
    context: ApprovalContext, *, reviewer_id: str, clicked_round: int, is_approver: bool
) -> Verdict:
    """Request changes follows the approval rules: the requester can't, outsiders can't."""
    if reviewer_id == context.requester_id:
        return Verdict.SELF_APPROVAL
    if not is_approver:
        return Verdict.NOT_AN_APPROVER
    if clicked_round != context.current_round:
        return Verdict.STALE_ROUND
    if context.status not in (Status.AWAITING_APPROVAL, Status.APPROVED):
        return Verdict.NOT_AWAITING
    return Verdict.COUNTED


def still_needed(required: int, approvals: int) -> int:
    return max(0, required - approvals)
