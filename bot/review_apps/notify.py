"""`deploybot review-app notify EVENT`: run on a review app by its `postdeploy` and
`pr-predestroy` scripts to report itself to the bot.

It reads Heroku's review-app variables and its own settings from the environment (never
the bot's Settings: the review app's environment is the *site's*, and its DATABASE_URL or
GITHUB_TOKEN are none of this command's business). The admin password comes from an
environment variable or stdin, never from the command line, where `ps` and shell history
would show it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bot.review_apps.rules import Event

DEFAULT_USERNAME = "admin"
DEFAULT_ATTEMPTS = 5


class NotifyError(Exception):
    """One line for the person reading the review app's release log."""


class _TryAgain(Exception):
    pass


@dataclass(frozen=True)
class Target:
    bot_url: str
    token: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", choices=[e.value for e in Event], help="what happened")
    parser.add_argument(
        "--url",
        help="the review app's URL (default: $REVIEW_APP_URL, else "
        "https://$HEROKU_APP_DEFAULT_DOMAIN_NAME, else https://$HEROKU_APP_NAME.herokuapp.com)",
    )
    parser.add_argument(
        "--username",
        help=f"admin username (default: $REVIEW_APP_ADMIN_USERNAME or {DEFAULT_USERNAME})",
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the admin password from stdin (else $REVIEW_APP_ADMIN_PASSWORD)",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=DEFAULT_ATTEMPTS,
        help=f"tries before giving up when the bot is unreachable (default {DEFAULT_ATTEMPTS})",
    )


def _need(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise NotifyError(f"{name} is not set")
    return value


def build_body(args: argparse.Namespace, env: Mapping[str, str], stdin: TextIO) -> dict[str, Any]:
    app = _need(env, "HEROKU_APP_NAME")
    url = args.url or env.get("REVIEW_APP_URL", "").strip()
    if not url:
        domain = env.get("HEROKU_APP_DEFAULT_DOMAIN_NAME", "").strip()
        url = f"https://{domain or app + '.herokuapp.com'}"
    body: dict[str, Any] = {
        "event": args.event,
        "app": app,
        "pr_number": env.get("HEROKU_PR_NUMBER", "").strip() or None,
        "branch": env.get("HEROKU_BRANCH", "").strip() or None,
        "url": url,
    }
    if args.password_stdin:
        password = stdin.readline().rstrip("\r\n")
    else:
        password = env.get("REVIEW_APP_ADMIN_PASSWORD", "")
    if password:
        body["username"] = (
            args.username or env.get("REVIEW_APP_ADMIN_USERNAME", "").strip() or DEFAULT_USERNAME
        )
        body["password"] = password
    elif args.event == Event.READY:
        raise NotifyError(
            "no admin password: set REVIEW_APP_ADMIN_PASSWORD or pipe it to --password-stdin"
        )
    return body


def send(target: Target, body: dict[str, Any], *, attempts: int) -> dict[str, Any]:
    """POST the notice, retrying while the bot is unreachable or answers 5xx."""
    endpoint = target.bot_url.rstrip("/") + "/api/review-apps"
    headers = {"Authorization": f"Bearer {target.token}"}

    def once() -> httpx.Response:
        try:
            response = httpx.post(endpoint, json=body, headers=headers, timeout=30.0)
        except httpx.TransportError as exc:
            raise _TryAgain(f"{type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise _TryAgain(f"HTTP {response.status_code}: {_error_of(response)}")
        return response

    retrying = Retrying(
        retry=retry_if_exception_type(_TryAgain),
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait_exponential(multiplier=0.5, max=8),
    )
    try:
        response = retrying(once)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise NotifyError(
            f"could not reach the bot at {endpoint} after {attempts} attempt(s): {last}"
        ) from None
    if response.status_code != 200:
        raise NotifyError(f"the bot refused (HTTP {response.status_code}): {_error_of(response)}")
    answer = response.json()
    return answer if isinstance(answer, dict) else {}


def _error_of(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(answer, dict):
        return str(answer.get("error") or answer)[:300]
    return str(answer)[:300]


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    try:
        target = Target(_need(env, "DEPLOYBOT_URL"), _need(env, "REVIEW_APP_NOTIFY_TOKEN"))
        body = build_body(args, env, sys.stdin)
        answer = send(target, body, attempts=args.attempts)
    except NotifyError as exc:
        print(f"deploybot review-app notify: {exc}", file=sys.stderr)
        return 1
    print(f"deploybot: {body['app']} {args.event}: {answer.get('status', 'ok')}")
    return 0
