"""The gate's clock task: whatever the work after a delivery could not finish."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.gate.service import GateService
from bot.gate.slack import GateMessenger
from bot.settings import Settings


def run_gate(gate: GateService, slack: WebClient, settings: Settings) -> int:
    """Analyse what is still due (GitHub was down or rate limited: waited out here, a
    tick at a time), rewrite every wish (statuses follow bookings even if a change was
    missed), post unsynced statuses, and post or update the channel messages."""
    if not gate.enabled:
        return 0
    done = gate.analyses.analyse_due()
    done += gate.refresh_all()
    done += gate.sync().total
    if settings.slack_bot_token:
        done += GateMessenger(gate, settings.deploy_channel).send_due(slack)
    return done
