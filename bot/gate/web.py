"""HTTP surface of the gate: its share of the GitHub webhook (bot/freeze/web.py receives
and verifies it) and the analysis page that `deploybot/deploy` statuses link to,
`GET /pulls/<owner>/<name>/<number>`.

The page is plain HTML with everything escaped: file paths, reasons and titles come from
pull requests, which anyone who can open one controls. It shows what GitHub shows anyone
who can read the PR, and nothing from the bot's settings.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response
from slack_sdk import WebClient

from bot.container import Container
from bot.gate.service import GateDelivery, GateView
from bot.gate.slack import GateMessenger
from bot.migration_analysis import Verdict

log = logging.getLogger(__name__)


def _slack_client(container: Container) -> WebClient | None:
    # The composition root's one Web API client (bot/container.py); none without a token.
    if not container.settings.slack_bot_token:
        return None
    return container.slack


def record_gate_delivery(
    container: Container, action: str, payload: dict[str, Any], delivery: str
) -> GateDelivery:
    return container.gate.record_pull_request(action, payload, delivery)


def gate_work(container: Container, gate_id: int) -> None:
    """What follows a delivery, after the response: analyse the head commit (unless it
    was analysed before), post the status, post or update the channel message."""
    gate = container.gate
    gate.analyses.analyse(gate_id)
    gate.sync(only=[gate_id])
    client = _slack_client(container)
    if client is not None:
        GateMessenger(gate, container.settings.deploy_channel).send_due(client)


def gate_work_quietly(container: Container, gate_id: int) -> None:
    try:
        gate_work(container, gate_id)
    except Exception:
        log.exception("the deploy gate's work after a delivery failed; the clock will retry")


def register_gate_routes(web: Flask, container: Container) -> None:
    @web.get("/pulls/<owner>/<name>/<int:number>")
    def pull_analysis(owner: str, name: str, number: int) -> Response:
        try:
            view = container.gate.view(f"{owner}/{name}", number)
        except sa.exc.SQLAlchemyError:
            log.exception("could not read the analysis of %s/%s#%s", owner, name, number)
            return Response("The database is unavailable; try again later.\n", 503)
        if view is None:
            return Response(
                "deploybot knows no open pull request by that number.\n",
                404,
                mimetype="text/plain",
            )
        return Response(render_page(view), 200, mimetype="text/html")


def render_page(view: GateView) -> str:
    title = f"{view.repo}#{view.number}"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>deploybot: {escape(title)}</title></head><body>",
        f"<h1>{escape(title)}: {escape(view.title)}</h1>",
        f"<p>Author: {escape(view.author)}. Head commit <code>{escape(view.head_sha)}</code>",
        f", base <code>{escape(view.base_sha or 'unknown')}</code>.</p>",
        f"<p><strong>deploybot/deploy: {escape(view.state)}</strong>: "
        f"{escape(view.description)}</p>",
    ]
    if view.html_url.startswith("https://"):
        parts.append(f"<p><a href='{escape(view.html_url)}'>The pull request on GitHub</a></p>")
    if view.allowed_by:
        parts.append(
            f"<p>Marked routine by {escape(view.allowed_by_name or view.allowed_by)}: "
            f"{escape(view.allowed_reason or '')}</p>"
        )
    if view.cover_short_id:
        parts.append(f"<p>Booking: <code>{escape(view.cover_short_id)}</code></p>")
    if view.analysis_error:
        parts.append(f"<p>Could not read it: {escape(view.analysis_error)}</p>")
    analysis = view.analysis
    if analysis is None:
        parts.append("<p>Not analysed yet.</p>")
    else:
        parts.append(f"<h2>Verdict: {escape(analysis.verdict.value)}</h2>")
        for note in view.notes:
            parts.append(f"<p>{escape(note)}</p>")
        for advice in analysis.advice:
            parts.append(f"<p>Advice: {escape(advice)}</p>")
        if analysis.es_mapping_paths:
            parts.append("<h3>Elasticsearch mapping files changed</h3><ul>")
            parts += [f"<li><code>{escape(p)}</code></li>" for p in analysis.es_mapping_paths]
            parts.append("</ul>")
        for item in analysis.files:
            parts.append(
                f"<h3><code>{escape(item.path)}</code>: {escape(item.verdict.value)}</h3><ul>"
            )
            for finding in item.operations:
                target = ".".join(p for p in (finding.model, finding.field) if p)
                strong = finding.verdict != Verdict.ROUTINE
                verdict = escape(finding.verdict.value)
                parts.append(
                    f"<li>{'<strong>' if strong else ''}{verdict}{'</strong>' if strong else ''}"
                    f" <code>{escape(finding.operation)}</code> {escape(target)}: "
                    f"{escape(finding.reason)}</li>"
                )
            parts += [f"<li>warning: {escape(w)}</li>" for w in item.warnings]
            parts += [f"<li>advice: {escape(a)}</li>" for a in item.advice]
            parts.append("</ul>")
        if not analysis.files and not analysis.es_mapping_paths:
            parts.append("<p>No migration files changed.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
