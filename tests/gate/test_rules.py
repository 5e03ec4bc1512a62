"""The `deploybot/deploy` rule on its own: analysis + booking + allowance -> status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.booking.rules import Status
from bot.gate.rules import (
    ROUTINE_TEXT,
    Allowance,
    AllowParseError,
    AnalysisFacts,
    Cover,
    GateFacts,
    GateState,
    best_cover,
    desired_gate_status,
    parse_allow,
    parse_allow_target,
)
from bot.migration_analysis import KIND_ES, KIND_MIGRATION, OperationFinding, Verdict

SLOT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
REMOVE = OperationFinding("RemoveField", "person", "email", Verdict.TRICKY, "drops person.email")
TRICKY = AnalysisFacts(Verdict.TRICKY, KIND_MIGRATION, REMOVE)
ROUTINE = AnalysisFacts(Verdict.ROUTINE, None, None)


def status(**overrides: object) -> tuple[GateState, str]:
    facts = GateFacts(**{"number": 123, "analysis": TRICKY, **overrides})  # type: ignore[arg-type]
    result = desired_gate_status(facts)
    assert len(result.description) <= 140
    return result.state, result.description


def test_routine_is_green_at_once() -> None:
    assert status(analysis=ROUTINE) == (GateState.SUCCESS, ROUTINE_TEXT)


def test_tricky_and_unbooked_fails_naming_the_operation_and_the_command() -> None:
    state, text = status()
    assert state is GateState.FAILURE
    assert "RemoveField person.email" in text
    assert "/deploy schedule #123" in text


def test_review_fails_closed_too() -> None:
    finding = OperationFinding("RunSQL", None, None, Verdict.REVIEW, "cannot read the SQL")
    state, text = status(analysis=AnalysisFacts(Verdict.REVIEW, KIND_MIGRATION, finding))
    assert state is GateState.FAILURE
    assert text.startswith("Needs review: RunSQL")


def test_an_unreadable_file_says_why() -> None:
    finding = OperationFinding("(file)", None, None, Verdict.REVIEW, "file is not UTF-8")
    state, text = status(analysis=AnalysisFacts(Verdict.REVIEW, KIND_MIGRATION, finding))
    assert state is GateState.FAILURE
    assert text.startswith("Needs review: file is not UTF-8. Book it: /deploy schedule #123")


def test_an_es_mapping_change_names_the_file() -> None:
    es = AnalysisFacts(Verdict.TRICKY, KIND_ES, None, ("search/mappings.py",))
    state, text = status(analysis=es)
    assert state is GateState.FAILURE
    assert "ES mapping change (search/mappings.py)" in text


def test_a_huge_reason_is_cut_but_the_command_survives() -> None:
    long = OperationFinding("RemoveField", "m" * 300, "f" * 300, Verdict.TRICKY, "x" * 500)
    state, text = status(analysis=AnalysisFacts(Verdict.TRICKY, KIND_MIGRATION, long))
    assert state is GateState.FAILURE
    assert len(text) == 140
    assert text.endswith("/deploy schedule #123 WHEN")


@pytest.mark.parametrize(
    ("booking_status", "words"),
    [
        (Status.SCHEDULED, "Booked as `B7K2Q` for Tue 01 Dec 14:00 UTC"),
        (Status.AWAITING_APPROVAL, "`B7K2Q` awaiting approval, slot Tue 01 Dec 14:00 UTC"),
        (Status.APPROVED, "`B7K2Q` approved, starts at Tue 01 Dec 14:00 UTC"),
    ],
)
def test_booked_but_not_started_is_pending_saying_which_and_when(
    booking_status: Status, words: str
) -> None:
    state, text = status(cover=Cover("B7K2Q", booking_status, SLOT))
    assert state is GateState.PENDING
    assert words in text


def test_deploying_and_landed_are_green() -> None:
    assert status(cover=Cover("B7K2Q", Status.DEPLOYING, SLOT)) == (
        GateState.SUCCESS,
        "deploying `B7K2Q` now: merge it",
    )
    assert status(cover=Cover("B7K2Q", Status.LANDED, SLOT))[0] is GateState.SUCCESS


def test_a_plan_step_waits_for_the_step_before_it() -> None:
    cover = Cover("C3D4E", Status.APPROVED, SLOT, waits_for=(1, "A1B2C"), step=2)
    assert status(cover=cover) == (
        GateState.PENDING,
        "Step 2 (`C3D4E`) waits for step 1 (`A1B2C`) to land",
    )


def test_an_allowance_turns_it_green_whatever_the_analysis() -> None:
    state, text = status(allowance=Allowance("carol", "only a help text"))
    assert state is GateState.SUCCESS
    assert text == "Marked routine by @carol: only a help text"


def test_not_analysed_yet_is_pending_and_a_final_failure_fails_closed() -> None:
    assert status(analysis=None)[0] is GateState.PENDING
    state, text = status(analysis=None, problem="GitHub unavailable", problem_final=False)
    assert state is GateState.PENDING
    assert "retrying" in text
    state, text = status(analysis=None, problem="GitHub answered 404", problem_final=True)
    assert state is GateState.FAILURE
    assert "/deploy allow #123" in text


def test_the_most_advanced_booking_decides() -> None:
    covers = [
        Cover("OLD01", Status.CANCELLED, SLOT),
        Cover("SCHED", Status.SCHEDULED, SLOT),
        Cover("GOING", Status.DEPLOYING, SLOT),
    ]
    assert best_cover(covers) == covers[2]
    assert best_cover([Cover("OLD01", Status.EXPIRED, SLOT)]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('#123 "only a help text"', (123, "only a help text")),
        ("123 checked the SQL by hand", (123, "checked the SQL by hand")),
        ("#7 \u201ccurly quotes\u201d", (7, "curly quotes")),
    ],
)
def test_allow_parses_number_and_reason(text: str, expected: tuple[int, str]) -> None:
    assert parse_allow(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "Say which pull request and why"),
        ("#123", "Say why it is safe"),
        ('"because" #123', "Start with the pull request's number"),
        ('#123 ""', "Say why it is safe"),
        ("#123 " + "x" * 600, "under 500 characters"),
    ],
)
def test_allow_refuses_bad_input_with_an_example(text: str, hint: str) -> None:
    with pytest.raises(AllowParseError) as refused:
        parse_allow(text)
    assert hint in str(refused.value)
    assert "/deploy allow #123" in str(refused.value)


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=700))
def test_allow_never_fails_otherwise_on_any_text(text: str) -> None:
    try:
        number, reason = parse_allow(text)
    except AllowParseError as refused:
        assert "/deploy allow #123" in str(refused)
        return
    assert number >= 0
    assert reason and len(reason) <= 500
    assert "\x00" not in reason


def test_a_deploying_change_held_by_a_deploy_window_waits() -> None:
    held = Cover("B7K2Q", Status.DEPLOYING, SLOT, held="it falls in the blackout “Weekend”")
    state, text = status(cover=held)
    assert state is GateState.PENDING
    assert "held" in text and "Weekend" in text and "B7K2Q" in text
    # A window never holds a landed deploy.
    landed = Cover("B7K2Q", Status.LANDED, SLOT, held="it falls in the blackout “Weekend”")
    assert status(cover=landed)[0] is GateState.SUCCESS


def test_allow_may_name_the_repository_of_the_pull_request() -> None:
    assert parse_allow_target('mozilla/donate-wagtail#7 "unused column"') == (
        "mozilla/donate-wagtail",
        7,
        "unused column",
    )
    assert parse_allow_target('#7 "unused column"') == (None, 7, "unused column")
    with pytest.raises(AllowParseError):
        parse_allow_target('mozilla/donate-wagtail7 "no hash"')
