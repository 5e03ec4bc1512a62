"""The HTTP side of followed deploys. No routes of its own: production apps' releases
arrive on `/webhooks/heroku` (bot/review_apps/web.py verifies Heroku's signature, reads
the delivery id and hands them here by app name), merges on `/webhooks/github`
(bot/freeze/web.py verifies GitHub's signature and hands the `pull_request` deliveries
here too). Each is recorded and answered at once; the matching runs after the response
and, for whatever did not finish, in the clock."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Response, jsonify

from bot.releases.rules import parse_merge, parse_release
from bot.releases.service import Received

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)


def release_delivery(
    container: Container, delivery: str, payload: dict[str, Any]
) -> tuple[Response, int]:
    """A verified Heroku delivery about a production app."""
    event = parse_release(payload)
    if event is None:
        return jsonify(status="ignored", reason="not a release of a production app"), 200
    received = container.releases.record_release(event, delivery)
    log.info("heroku delivery %s (production): %s %s", delivery, received.status, received.detail)
    response = jsonify(status=received.status, detail=received.detail)
    release_id = received.release_id
    if release_id is not None:

        def after_response() -> None:
            # GitHub's compare API and Slack are called here, after Heroku has its answer.
            try:
                container.releases.process_due(event.heroku_app)
            except Exception:
                log.exception("matching release %s failed; the clock will retry", release_id)

        response.call_on_close(after_response)
    return response, 200


def record_merge_delivery(
    container: Container, action: str, payload: dict[str, Any], delivery: str
) -> Received:
    """Its share of a verified `pull_request` delivery. Raises KeyError/TypeError/
    ValueError on a payload not shaped as GitHub's (the caller answers 400)."""
    event = parse_merge(action, payload)
    if event is None:
        return Received("ignored", "not a merge")
    return container.releases.record_merge(event, delivery)


def merge_work_quietly(container: Container, received: Received) -> None:
    """After the response: releases that waited for this merge match now; alerts post."""
    try:
        if received.repo is not None:
            container.releases.process_for_repo(received.repo)
        container.releases.post_alerts()
    except Exception:
        log.exception("the work after a merge failed; the clock will retry")
