"""The start-up check of the Slack settings, made once before the server forks.

Every web worker and work process builds a Bolt app, and Bolt checks the token with
`auth.test` as it does. A token Slack refuses, or a Slack it cannot reach, then failed in
each of them with a traceback, and gunicorn and the work-process supervisor restarted them
over and over. Checking once first turns that into one line naming the setting to fix.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings, SettingsError

# Long enough for a slow network, short enough that a wrong SLACK_API_URL is reported
# within seconds instead of after the client's default 30 s.
CHECK_TIMEOUT_SECONDS = 10

# The SDK logs each failed attempt at ERROR, with the URL; this check reports the failure
# itself in one line, so its client's own log is kept quiet.
_QUIET = logging.getLogger("bot.slack.startup.sdk")
_QUIET.disabled = True

# What to check, by the errors auth.test answers for a token that cannot be used.
_TOKEN_HINTS = {
    "invalid_auth": "check that it is the app's Bot User OAuth Token (xoxb-...) of this workspace",
    "not_authed": "check that it is set to the app's Bot User OAuth Token (xoxb-...)",
    "account_inactive": "the app was uninstalled or its user deactivated; reinstall the "
    "app and use its new Bot User OAuth Token",
    "token_revoked": "the token was revoked; reinstall the app and use its new Bot User "
    "OAuth Token",
    "token_expired": "the token has expired; use the app's current Bot User OAuth Token",
}


def check_slack_token(settings: Settings) -> None:
    """Raise SettingsError (one line: what failed, which setting, what to check) unless
    Slack accepts SLACK_BOT_TOKEN at SLACK_API_URL."""
    api_url = str(settings.slack_api_url)
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=api_url,
        timeout=CHECK_TIMEOUT_SECONDS,
        logger=_QUIET,
    )
    try:
        client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        hint = _TOKEN_HINTS.get(error)
        if hint is not None:
            raise SettingsError(
                f"Slack refused SLACK_BOT_TOKEN (auth.test: {error}); {hint}"
            ) from None
        raise SettingsError(
            f"Slack's auth.test at SLACK_API_URL={api_url} failed ({error}); check "
            "SLACK_API_URL (leave it unset for Slack itself) and SLACK_BOT_TOKEN"
        ) from None
    except (OSError, ValueError) as exc:
        # urllib's URLError (DNS, refused connection, TLS), timeouts, and answers that are
        # not Slack's JSON all mean the URL or the network is wrong, not the token.
        reason = getattr(exc, "reason", None) or exc
        raise SettingsError(
            f"cannot reach Slack at SLACK_API_URL={api_url} ({type(exc).__name__}: "
            f"{reason}); check SLACK_API_URL (leave it unset for Slack itself) and this "
            "machine's network"
        ) from None
