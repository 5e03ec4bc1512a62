"""What /healthz says about the work processes, from their ready flags (ADR 0013).

A module of its own so that the web app can import it without importing the work
processes' side, which builds the whole bot (bot.bootstrap) and would import it back."""

from __future__ import annotations

from collections.abc import Sequence


def readiness_report(readiness: Sequence[int] | None) -> tuple[bool, str]:
    """(can work be done, what /healthz says about the work processes) from the flags
    that the work processes set once they take work; None when there are none (the work
    then runs in the web worker itself, which is ready when it answers)."""
    if readiness is None:
        return True, "none"
    ready = sum(1 for flag in readiness if flag)
    if ready == 0:
        return False, "starting"
    # One ready process can do the work; a restarting one only shares it less.
    return True, "ready" if ready == len(readiness) else f"{ready}/{len(readiness)} ready"
