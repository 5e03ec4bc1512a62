"""The gate's Slack messages stay inside Slack's limits whatever the analysis holds."""

from __future__ import annotations

from bot.gate.blocks import announcement_operations, tricky_message
from bot.gate.service import GateView
from bot.migration_analysis import (
    FileAnalysis,
    OperationFinding,
    PullRequestAnalysis,
    Verdict,
)


def huge_analysis() -> PullRequestAnalysis:
    files = [
        FileAnalysis(
            path=f"app{n}/migrations/{n:04d}_{'x' * 200}.py",
            verdict=Verdict.TRICKY,
            operations=tuple(
                OperationFinding(
                    "RemoveField", "m" * 100, f"f{k}" * 50, Verdict.TRICKY, "<why> " * 200
                )
                for k in range(30)
            ),
            advice=("split it " * 500,),
        )
        for n in range(60)
    ]
    return PullRequestAnalysis.build(files, [f"search/{n}.json" for n in range(40)], ["a" * 5000])


def view(analysis: PullRequestAnalysis) -> GateView:
    return GateView(
        id=1,
        repo="o/r",
        number=123,
        title="<b>" * 500,
        author="dana",
        html_url="https://github.com/o/r/pull/123",
        head_sha="a" * 40,
        base_sha="b" * 40,
        state="failure",
        description="",
        analysis=analysis,
        notes=(),
        analysis_error=None,
        allowed_by=None,
        allowed_by_name=None,
        allowed_reason=None,
        message_channel=None,
        message_ts=None,
    )


def test_the_channel_message_is_bounded_and_escaped() -> None:
    text, blocks = tricky_message(view(huge_analysis()), "https://bot.example/pulls/o/r/123")
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        for element in block.get("elements", []):
            if element.get("type") == "mrkdwn":
                assert len(element["text"]) <= 2000
    assert len(text) <= 4000
    assert "<b>" not in str(blocks) and "<why>" not in str(blocks)
    assert "more (see the full analysis)" in str(blocks)


def test_the_announcement_part_is_bounded() -> None:
    analysis = huge_analysis()
    shown = announcement_operations([(f"o/r#{n}", analysis) for n in range(10)])
    assert shown is not None
    assert len(shown) <= 3000
    routine = PullRequestAnalysis.build([])
    assert announcement_operations([("o/r#1", routine)]) is None
