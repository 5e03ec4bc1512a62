"""Outcomes that several services report in the same shape, defined once.

A service returns one of a union of small frozen dataclasses instead of raising, and its
Slack surface matches on them. The ones below mean the same thing wherever they appear;
an outcome with a shape of its own (a booking refused for a list of problems, a review
app's repeated delivery) stays with its service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class NotFound:
    """No booking has this short id."""

    short_id: str


@dataclass(frozen=True)
class Refused:
    """The rules say no; `reason` is what to tell the person."""

    reason: str


@dataclass(frozen=True)
class NotAllowed:
    """This person may not do this; `reason` is what to tell them."""

    reason: str


@dataclass(frozen=True)
class Duplicate:
    """The same request was handled before (a Slack retry or a double submission)."""


@dataclass(frozen=True)
class OutsideWindow:
    """A tricky deploy at that time breaks a deploy window (bot/windows): `rule` says
    which, in words; `next_starts_at` is the start of the next slot of the same length
    that fits the windows and the app's other bookings (None: nothing within a year)."""

    rule: str
    next_starts_at: datetime | None = None
    next_ends_at: datetime | None = None
