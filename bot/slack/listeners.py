"""Where the domain packages register their Slack listeners: an acknowledgement, which
runs on the request thread, and the work behind it (docs/adr/0012, 0018).

Bolt registers the work as lazy functions, and before handing a request to them it
deep-copies the whole request (body, headers, context): for an Approve click, whose body
carries the announcement, a few hundred objects. A web worker that records the work for
a work process (ADR 0018) never runs it, so it registers the acknowledgements alone and
pays for no copy; the process that does the work registers both. Measured with
`python -m bench.ack_cpu`, the copy was about a third of deploybot's CPU per
acknowledgement (docs/adr/0022).

Bolt tries listeners in the order they were added until one matches, and each try costs
a web worker a few tens of microseconds. So the listeners are added to the app only at
the end (`install`), commands first, then clicks, then form submissions and events: the
kinds that come in bursts (every `/deploy`, Approve clicks on one announcement) are
found first, whatever order the packages register in (that order is `/deploy help`'s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

Listener = Callable[..., Any]


# The order in which the kinds of listener are added to the app (see above).
_COMMAND, _ACTION, _VIEW, _EVENT = range(4)


class Listeners:
    """Collects listeners, with their work or without it, and adds them to a Bolt app."""

    def __init__(self, app: App, *, with_work: bool) -> None:
        """`with_work` is False in a process that only records the work for another to
        do (a web worker of ADR 0018): there the lazy functions would never run."""
        self._app = app
        self._with_work = with_work
        self._pending: list[tuple[int, Callable[..., Any], Listener, Listener | None]] = []

    def command(self, name: str, *, ack: Listener, work: Listener | None = None) -> None:
        self._pending.append((_COMMAND, self._app.command(name), ack, work))

    def action(self, action_id: str, *, ack: Listener, work: Listener | None = None) -> None:
        self._pending.append((_ACTION, self._app.action(action_id), ack, work))

    def view(self, callback_id: str, *, ack: Listener, work: Listener | None = None) -> None:
        self._pending.append((_VIEW, self._app.view(callback_id), ack, work))

    def event(self, event_type: str, *, ack: Listener, work: Listener | None = None) -> None:
        self._pending.append((_EVENT, self._app.event(event_type), ack, work))

    def install(self) -> None:
        """Add everything collected to the app: by kind, and in the order given within
        a kind (the sort is stable)."""
        for _, decorator, ack, work in sorted(self._pending, key=lambda entry: entry[0]):
            decorator(ack=ack, lazy=[work] if work is not None and self._with_work else [])
        self._pending.clear()
