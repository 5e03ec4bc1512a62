"""Block Kit for the gate: the channel message about a tricky pull request, the allowance
notice, and the operations an approval announcement shows. Rendering only.

Every text is bounded, whatever the analysis holds: Slack refuses a section text over
3,000 characters and a message over 50 blocks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.booking.rules import Kind
from bot.gate.service import GateView
from bot.migration_analysis import KIND_ES, PullRequestAnalysis, Verdict
from bot.slack.format import escape, mention

Blocks = list[dict[str, Any]]

BOOK_IT_ACTION = "gate_book_it"
# Slack's limit is 3,000 characters per section text; leave room for the "and N more".
MAX_SECTION_TEXT = 2800
MAX_LINE = 300
MAX_OPERATION_LINES = 15


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def booking_kind(analysis: PullRequestAnalysis | None) -> Kind | None:
    """The booking kind an analysis implies (None: routine, nothing to imply)."""
    if analysis is None or analysis.verdict == Verdict.ROUTINE:
        return None
    return Kind.ES_MAPPING if analysis.kind == KIND_ES else Kind.MIGRATION


def operation_lines(
    analysis: PullRequestAnalysis,
    *,
    limit: int = MAX_OPERATION_LINES,
    budget: int = MAX_SECTION_TEXT,
    only_concerns: bool = True,
) -> str:
    """The analysis as mrkdwn bullet lines, worst first, cut to `limit` lines and
    `budget` characters with a count of what was left out."""
    lines: list[str] = []
    for path in analysis.es_mapping_paths:
        lines.append(f"• *ES mapping change*: `{escape(_cut(path, 200))}`")
    findings = [
        (item.path, finding)
        for item in analysis.files
        for finding in item.operations
        if not only_concerns or finding.verdict != Verdict.ROUTINE
    ]
    findings.sort(key=lambda pair: -pair[1].verdict.severity)
    for path, finding in findings:
        target = ".".join(part for part in (finding.model, finding.field) if part)
        where = path.rsplit("/", 1)[-1]
        lines.append(
            _cut(
                f"• *{finding.verdict.value}* `{escape(finding.operation)}` "
                f"{escape(target)} ({escape(where)}): {escape(finding.reason)}",
                MAX_LINE,
            )
        )
    shown: list[str] = []
    used = 0
    for line in lines:
        if len(shown) >= limit or used + len(line) + 1 > budget - 40:
            break
        shown.append(line)
        used += len(line) + 1
    if len(shown) < len(lines):
        shown.append(f"…and {len(lines) - len(shown)} more (see the full analysis)")
    return "\n".join(shown) or "• nothing found"


def tricky_message(view: GateView, page_url: str | None) -> tuple[str, Blocks]:
    """The one DEPLOY_CHANNEL message about a PR, kept up to date on later pushes."""
    analysis = view.analysis
    title = escape(_cut(view.title or f"#{view.number}", 200))
    link = f"<{view.html_url}|#{view.number} {title}>" if view.html_url else f"#{view.number}"
    author = escape(view.author) if view.author else "someone"
    routine = analysis is not None and analysis.verdict == Verdict.ROUTINE
    if routine:
        headline = f":white_check_mark: {link} by {author} is routine now (latest push)."
        text = f"#{view.number} is routine now"
    else:
        label = "an ES mapping change" if analysis and analysis.kind == KIND_ES else "tricky"
        headline = (
            f":warning: {link} by {author} is *{label}*: it needs a booked, approved deploy "
            "before it can merge."
        )
        text = f"#{view.number} {view.title[:100]} is {label}"
    blocks: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(headline, MAX_SECTION_TEXT)}}
    ]
    if analysis is not None and not routine:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": operation_lines(analysis)}}
        )
        advice = " ".join(analysis.advice)
        if advice:
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": escape(_cut(advice, 1900))}],
                }
            )
        kind = booking_kind(analysis) or Kind.MIGRATION
        buttons: list[dict[str, Any]] = [
            {
                "type": "button",
                "action_id": BOOK_IT_ACTION,
                "text": {"type": "plain_text", "text": "Book it"},
                "style": "primary",
                # The repository picks the booked app when there are several (APPS).
                "value": json.dumps(
                    {"pr": f"#{view.number}", "kind": kind.value, "repo": view.repo}
                ),
            }
        ]
        if page_url:
            buttons.append(
                {
                    "type": "button",
                    "action_id": "gate_open_analysis",
                    "text": {"type": "plain_text", "text": "Full analysis"},
                    "url": page_url,
                }
            )
        blocks.append({"type": "actions", "elements": buttons})
    sha = view.head_sha[:12]
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Analysed at `{sha}`. Status: {view.state}"}],
        }
    )
    return text, blocks


def allowed_notice(view: GateView, user_id: str, reason: str) -> str:
    link = f"<{view.html_url}|#{view.number}>" if view.html_url else f"#{view.number}"
    return _cut(
        f":unlock: {mention(user_id)} marked {link} routine (until its next push): "
        f"{escape(reason)}",
        MAX_SECTION_TEXT,
    )


def announcement_operations(analyses: Sequence[tuple[str, PullRequestAnalysis]]) -> str | None:
    """What an approval announcement shows of its PRs' analyses (None: nothing tricky)."""
    parts = []
    per_pr = max(3, MAX_OPERATION_LINES // max(1, len(analyses)))
    for ref, analysis in analyses[:5]:
        if analysis.verdict == Verdict.ROUTINE:
            continue
        number = ref.rpartition("#")[2]
        lines = operation_lines(analysis, limit=per_pr, budget=MAX_SECTION_TEXT // 3)
        parts.append(f"*#{number}*\n{lines}")
    if not parts:
        return None
    return _cut("*What you are approving:*\n" + "\n".join(parts), MAX_SECTION_TEXT)
