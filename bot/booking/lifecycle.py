"""The deploy lifecycle: the one place that says which status may follow which.

    scheduled → awaiting approval → approved → deploying → landed
                                               deploying → failed → rolled back
    scheduled / awaiting approval / approved → cancelled or expired

Approvals are voided (back to scheduled) when changes are requested or the booking's
time or PRs change. An emergency override may start a deploy that is not approved.
"""

from __future__ import annotations

import enum

from bot.booking.rules import Status


class Action(enum.StrEnum):
    ANNOUNCE = "announce"
    APPROVE = "approve"  # the approval that reaches the quorum
    VOID_APPROVALS = "void_approvals"  # changes requested, or the booking was edited
    START = "start"
    OVERRIDE_START = "override_start"
    LAND = "land"
    FAIL = "fail"
    ROLL_BACK = "roll_back"
    CANCEL = "cancel"
    EXPIRE = "expire"

    @property
    def command(self) -> str:
        """How a person asks for this action, for messages that list what is allowed."""
        return {
            Action.ANNOUNCE: "/deploy ready",
            Action.APPROVE: "Approve",
            Action.VOID_APPROVALS: "Request changes or /deploy edit",
            Action.START: "/deploy start",
            Action.OVERRIDE_START: "/deploy start --override",
            Action.LAND: "/deploy done",
            Action.FAIL: "/deploy failed",
            Action.ROLL_BACK: "/deploy rolledback",
            Action.CANCEL: "/deploy cancel",
            Action.EXPIRE: "(expiry)",
        }[self]


TRANSITIONS: dict[Status, dict[Action, Status]] = {
    Status.SCHEDULED: {
        Action.ANNOUNCE: Status.AWAITING_APPROVAL,
        Action.VOID_APPROVALS: Status.SCHEDULED,
        Action.OVERRIDE_START: Status.DEPLOYING,
        Action.CANCEL: Status.CANCELLED,
        Action.EXPIRE: Status.EXPIRED,
    },
    Status.AWAITING_APPROVAL: {
        Action.APPROVE: Status.APPROVED,
        Action.VOID_APPROVALS: Status.SCHEDULED,
        Action.OVERRIDE_START: Status.DEPLOYING,
        Action.CANCEL: Status.CANCELLED,
        Action.EXPIRE: Status.EXPIRED,
    },
    Status.APPROVED: {
        Action.VOID_APPROVALS: Status.SCHEDULED,
        Action.START: Status.DEPLOYING,
        Action.CANCEL: Status.CANCELLED,
        Action.EXPIRE: Status.EXPIRED,
    },
    Status.DEPLOYING: {
        Action.LAND: Status.LANDED,
        Action.FAIL: Status.FAILED,
    },
    Status.FAILED: {
        Action.ROLL_BACK: Status.ROLLED_BACK,
    },
    Status.LANDED: {},
    Status.ROLLED_BACK: {},
    Status.CANCELLED: {},
    Status.EXPIRED: {},
}


class TransitionRefused(Exception):
    def __init__(self, current: Status, action: Action) -> None:
        self.current = current
        self.action = action
        allowed = [a.command for a in TRANSITIONS[current] if a is not Action.EXPIRE]
        if allowed:
            hint = "From here you can use: " + ", ".join(f"`{c}`" for c in allowed) + "."
        else:
            hint = "Nothing more can happen to it."
        super().__init__(f"It is {current.label}, so `{action.command}` is not possible. {hint}")


def next_status(current: Status | str, action: Action) -> Status:
    current = Status(current)
    try:
        return TRANSITIONS[current][action]
    except KeyError:
        raise TransitionRefused(current, action) from None


def allows(current: Status | str, action: Action) -> bool:
    return action in TRANSITIONS[Status(current)]
