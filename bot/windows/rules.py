"""Deploy windows in plain Python: when a tricky deploy may happen, which rule a slot
breaks, and the next slot that fits. No Slack, no database.

A window is either *allowed* (tricky deploys only inside one, when any exist) or a
*blackout* (never inside one; a blackout wins over an allowed window). A recurring window
starts at each match of a cron expression, read in the window's own IANA zone, and lasts a
duration of wall-clock time there: "Friday 15:00 for 66h" in Europe/Berlin ends on Monday
09:00 Berlin time even when the clocks change over that weekend. A one-off window (a
holiday, a launch) has a fixed start and end.

All instants going in and out are aware datetimes; results are in UTC.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

# A window's occurrences are looked for this far ahead, no further: a slot that fits
# nowhere within a year means the windows leave no room at all.
HORIZON = timedelta(days=366)
# Longer than any sensible recurring window (a year-end holiday is about two weeks), and
# it bounds how far back an occurrence that is still running can have started.
MAX_DURATION = timedelta(days=31)
MIN_DURATION = timedelta(minutes=1)
DESCRIPTION_MAX = 200
# Occurrences of one window looked at per question: more than an hourly window has in a year.
MAX_OCCURRENCES = 10000
MIN_SPACING = timedelta(hours=1)
MIN_SPACING_SAMPLE = 60

ADD_EXAMPLES = (
    '/deploy window add blackout "0 15 * * 5" for 66h Europe/Berlin "Weekend: Friday 15:00 '
    'to Monday 09:00"',
    '/deploy window add blackout 2026-12-20 to 2027-01-03 Europe/Berlin "Holidays" --freeze',
    '/deploy window add allowed "0 9 * * 1-5" for 8h America/New_York "Office hours"',
)


class WindowKind(enum.StrEnum):
    ALLOWED = "allowed"
    BLACKOUT = "blackout"


@dataclass(frozen=True)
class Window:
    """One rule. Either `cron` and `duration` (recurring) or `starts_at` and `ends_at`
    (one-off) are set."""

    kind: WindowKind
    zone: str
    description: str
    cron: str | None = None
    duration: timedelta | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    freeze_branch: bool = False
    id: int | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def recurring(self) -> bool:
        return self.cron is not None

    @property
    def label(self) -> str:
        name = f"#{self.id} " if self.id is not None else ""
        return f"{self.kind.value} window {name}“{self.description}”"


@dataclass(frozen=True)
class Interval:
    """One occurrence of a window: [starts_at, ends_at) in UTC."""

    starts_at: datetime
    ends_at: datetime

    def contains(self, when: datetime) -> bool:
        return self.starts_at <= when < self.ends_at

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        return self.starts_at < ends_at and starts_at < self.ends_at


@dataclass(frozen=True)
class Occurrence:
    window: Window
    interval: Interval


@dataclass(frozen=True)
class Breach:
    """Why a slot may not hold a tricky deploy: the rule it breaks, in words."""

    window: Window | None  # the blackout hit; None: outside every allowed window
    interval: Interval | None
    message: str


# -- validation -------------------------------------------------------------------------


class WindowError(ValueError):
    """What is wrong with a window someone described, in words to show them."""


def check_zone(zone: str) -> ZoneInfo:
    try:
        if not zone or zone.startswith("/") or ".." in zone:
            raise ZoneInfoNotFoundError(zone)
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WindowError(
            f"`{zone}` is not an IANA time zone; use one like Europe/Berlin, "
            "America/New_York or UTC"
        ) from exc


def check_cron(expr: str) -> str:
    expr = " ".join(expr.split())
    if len(expr.split(" ")) != 5:
        raise WindowError(
            f"`{expr}` is not a five-field cron expression (minute hour day month weekday), "
            'e.g. "0 15 * * 5" for Fridays at 15:00'
        )
    try:
        CronSim(expr, datetime(2026, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise WindowError(
            f"`{expr}` is not a valid cron expression ({exc}); "
            'e.g. "0 15 * * 5" for Fridays at 15:00'
        ) from exc
    return expr


def check_window(window: Window) -> None:
    """Raise WindowError naming the first thing wrong with `window`."""
    check_zone(window.zone)
    if not window.description.strip():
        raise WindowError('Say what the window is for, e.g. "Weekend"')
    if len(window.description) > DESCRIPTION_MAX:
        raise WindowError(f"Keep the description under {DESCRIPTION_MAX} characters")
    if window.recurring:
        check_cron(window.cron or "")
        _check_spacing(window.cron or "", window.tz)
        if window.duration is None or not MIN_DURATION <= window.duration <= MAX_DURATION:
            raise WindowError(
                "A recurring window lasts between a minute and 31 days, e.g. `for 66h`"
            )
    else:
        if window.starts_at is None or window.ends_at is None:
            raise WindowError("A one-off window needs a start and an end")
        if window.ends_at <= window.starts_at:
            raise WindowError("The window must end after it starts")


def _check_spacing(expr: str, tz: ZoneInfo) -> None:
    """Windows start at most once an hour: a window is a part of the day or the week, and
    the evaluation above stays cheap (a year holds at most 8,784 starts)."""
    starts = CronSim(expr, datetime(2026, 1, 1, tzinfo=tz))
    previous = next(starts)
    for _ in range(MIN_SPACING_SAMPLE):
        current = next(starts)
        # In UTC: aware datetimes of one zone subtract as wall-clock times.
        if current.astimezone(UTC) - previous.astimezone(UTC) < MIN_SPACING:
            raise WindowError(
                f"`{expr}` starts a window more often than once an hour; "
                'e.g. "0 15 * * 5" starts one every Friday at 15:00'
            )
        previous = current


# -- occurrences ------------------------------------------------------------------------


def _local_end(start_local: datetime, duration: timedelta, tz: ZoneInfo) -> datetime:
    """`duration` of wall-clock time after `start_local`, in `tz`. A wall time that a
    spring change skips comes out an hour later; one an autumn change repeats is taken at
    its first occurrence."""
    naive = start_local.replace(tzinfo=None) + duration
    return naive.replace(tzinfo=tz, fold=0)


def occurrences(window: Window, starts_at: datetime, ends_at: datetime) -> list[Interval]:
    """The window's intervals that overlap [starts_at, ends_at), earliest first."""
    if window.cron is None or window.duration is None:
        if window.starts_at is None or window.ends_at is None:
            return []
        interval = Interval(window.starts_at.astimezone(UTC), window.ends_at.astimezone(UTC))
        return [interval] if interval.overlaps(starts_at, ends_at) else []
    tz = window.tz
    # An occurrence still running at `starts_at` began at most a duration (plus an hour
    # of daylight-saving slack) before it. CronSim yields matches strictly after its
    # start, read in `tz`, so the wall-clock fields match local time.
    since = (starts_at - window.duration - timedelta(hours=1, minutes=1)).astimezone(tz)
    since = since.replace(second=0, microsecond=0)
    found: list[Interval] = []
    for count, start_local in enumerate(CronSim(window.cron, since)):
        if count >= MAX_OCCURRENCES or start_local >= ends_at:
            break
        interval = Interval(
            start_local.astimezone(UTC),
            _local_end(start_local, window.duration, tz).astimezone(UTC),
        )
        if interval.overlaps(starts_at, ends_at):
            found.append(interval)
    return found


def _all(windows: Iterable[Window], starts_at: datetime, ends_at: datetime) -> list[Occurrence]:
    found = [
        Occurrence(window, interval)
        for window in windows
        for interval in occurrences(window, starts_at, ends_at)
    ]
    return sorted(found, key=lambda o: (o.interval.starts_at, o.interval.ends_at))


def active_at(windows: Iterable[Window], when: datetime) -> list[Occurrence]:
    """The occurrences that contain `when`."""
    return [o for o in _all(windows, when, when + timedelta(microseconds=1))]


def _allowed_cover_end(allowed: list[Occurrence], when: datetime) -> datetime | None:
    """How long `when` stays inside the union of the allowed intervals (None: it is not
    inside any). Back-to-back or overlapping intervals count as one."""
    end: datetime | None = None
    for occurrence in sorted(allowed, key=lambda o: o.interval.starts_at):
        interval = occurrence.interval
        if end is None:
            if interval.contains(when):
                end = interval.ends_at
        elif interval.starts_at <= end:
            end = max(end, interval.ends_at)
    return end


def breach(windows: Sequence[Window], starts_at: datetime, ends_at: datetime) -> Breach | None:
    """Which rule a tricky deploy in [starts_at, ends_at) breaks, or None if it fits."""
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    found = _all(windows, starts_at, ends_at)
    for occurrence in found:
        if occurrence.window.kind is WindowKind.BLACKOUT:
            interval = occurrence.interval
            return Breach(
                occurrence.window,
                interval,
                f"it falls in the blackout “{occurrence.window.description}” "
                f"({_span(interval, occurrence.window.tz)})",
            )
    allowed_windows = [w for w in windows if w.kind is WindowKind.ALLOWED]
    if not allowed_windows:
        return None
    allowed = [o for o in found if o.window.kind is WindowKind.ALLOWED]
    covered_until = _allowed_cover_end(allowed, starts_at)
    if covered_until is not None and covered_until >= ends_at:
        return None
    names = ", ".join(f"“{w.description}”" for w in allowed_windows[:3])
    if covered_until is not None:
        message = f"it runs past the end of the allowed windows ({names})"
    else:
        message = f"it is outside the allowed windows ({names})"
    return Breach(None, None, message)


def allowed_at(windows: Sequence[Window], when: datetime) -> bool:
    """May a tricky deploy be under way at this instant?"""
    return breach(windows, when, when + timedelta(microseconds=1)) is None


def next_slot(
    windows: Sequence[Window],
    busy: Iterable[tuple[datetime, datetime]],
    earliest: datetime,
    duration: timedelta,
    *,
    horizon: timedelta = HORIZON,
) -> tuple[datetime, datetime] | None:
    """The earliest [start, start + duration) at or after `earliest` that breaks no window
    and overlaps none of `busy`; None when nothing fits within `horizon`."""
    taken = sorted(busy)
    # In UTC from here: adding a duration to a zoned time would add wall-clock time.
    candidate = earliest.astimezone(UTC)
    limit = earliest + horizon
    allowed_exist = any(w.kind is WindowKind.ALLOWED for w in windows)
    while candidate < limit:
        end = candidate + duration
        found = _all(windows, candidate, end)
        blackouts = [o for o in found if o.window.kind is WindowKind.BLACKOUT]
        if blackouts:
            candidate = max(o.interval.ends_at for o in blackouts)
            continue
        clash = [(s, e) for s, e in taken if s < end and candidate < e]
        if clash:
            candidate = max(e for _, e in clash)
            continue
        if allowed_exist:
            allowed = [o for o in found if o.window.kind is WindowKind.ALLOWED]
            covered_until = _allowed_cover_end(allowed, candidate)
            if covered_until is None or covered_until < end:
                upcoming = [
                    o.interval.starts_at
                    for o in _all(windows, candidate, candidate + MAX_DURATION)
                    if o.window.kind is WindowKind.ALLOWED and o.interval.starts_at > candidate
                ]
                if not upcoming:
                    # No allowed window opens within a month of this candidate.
                    candidate += MAX_DURATION
                    continue
                candidate = min(upcoming)
                continue
        return candidate, end
    return None


@dataclass(frozen=True)
class WindowState:
    """What `/deploy windows`, `/deploy list` and the App Home say about now."""

    open: bool  # may a tricky deploy be under way now?
    current: Occurrence | None  # the blackout or allowed window we are in
    changes_at: datetime | None  # when `open` next flips (within the horizon)
    upcoming: Occurrence | None  # the next window to begin


def state_at(windows: Sequence[Window], when: datetime) -> WindowState:
    now_in = active_at(windows, when)
    current = next((o for o in now_in if o.window.kind is WindowKind.BLACKOUT), None) or next(
        iter(now_in), None
    )
    is_open = allowed_at(windows, when)
    changes_at = None
    for boundary in boundaries(windows, when, when + timedelta(days=35)):
        if allowed_at(windows, boundary) != is_open:
            changes_at = boundary
            break
    upcoming = next(
        (o for o in _all(windows, when, when + timedelta(days=35)) if o.interval.starts_at > when),
        None,
    )
    return WindowState(is_open, current, changes_at, upcoming)


def boundaries(windows: Sequence[Window], after: datetime, until: datetime) -> list[datetime]:
    """Every start or end of an occurrence in (after, until], in order."""
    points = {
        point
        for o in _all(windows, after, until + timedelta(microseconds=1))
        for point in (o.interval.starts_at, o.interval.ends_at)
        if after < point <= until
    }
    return sorted(points)


def last_boundary(windows: Sequence[Window], when: datetime) -> datetime | None:
    """The latest start or end of an occurrence at or before `when` (within a window's
    maximum length), or None."""
    found = boundaries(windows, when - MAX_DURATION - timedelta(days=1), when)
    return found[-1] if found else None


def freezing_blackout(windows: Sequence[Window], when: datetime) -> Occurrence | None:
    """The blackout that opted in to freezing the branch and is on at `when`."""
    for occurrence in active_at(windows, when):
        if occurrence.window.kind is WindowKind.BLACKOUT and occurrence.window.freeze_branch:
            return occurrence
    return None


def _span(interval: Interval, tz: ZoneInfo) -> str:
    start = interval.starts_at.astimezone(tz)
    end = interval.ends_at.astimezone(tz)
    return f"{start:%a %d %b %H:%M} to {end:%a %d %b %H:%M} {tz.key}"


# -- parsing `/deploy window add ...` ---------------------------------------------------

_QUOTED = re.compile(r'["“]([^"”]*)["”]')
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2})?$")


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise WindowError(f"`{text}` is not a duration; write it like `66h`, `2d`, `1h30m`")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _parse_date(text: str, tz: ZoneInfo, *, end: bool) -> datetime:
    text = text.replace("T", " ")
    try:
        if " " in text:
            return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=tz)
    except ValueError as exc:
        raise WindowError(f"`{text}` is not a date like 2026-12-20 or 2026-12-20 18:00") from exc
    # A date alone means the whole day: "to 2027-01-03" includes the 3rd.
    if end:
        naive = day.replace(tzinfo=None) + timedelta(days=1)
        return naive.replace(tzinfo=tz)
    return day


def parse_window(text: str) -> Window:
    """Read the arguments of `/deploy window add`, or raise WindowError saying what is
    wrong. Forms:

        allowed|blackout "CRON" for DURATION ZONE "Description" [--freeze]
        allowed|blackout DATE[ HH:MM] to DATE[ HH:MM] ZONE "Description" [--freeze]
    """
    text = text.replace("\x00", "").strip()
    quoted = _QUOTED.findall(text)
    rest = _QUOTED.sub(" \x01 ", text)
    tokens = rest.split()
    freeze = "--freeze" in tokens
    tokens = [t for t in tokens if t != "--freeze"]
    if not tokens or tokens[0].lower() not in {"allowed", "blackout"}:
        raise WindowError("Start with `allowed` or `blackout`")
    kind = WindowKind(tokens[0].lower())
    tokens = tokens[1:]
    placeholders = tokens.count("\x01")
    if placeholders != len(quoted):
        raise WindowError("Unbalanced quotes")
    if not quoted:
        raise WindowError('Give the window a description in quotes, e.g. "Weekend"')
    if "for" in tokens:
        # Recurring: the first quoted text is the cron expression, the last the description.
        if tokens[0] != "\x01":
            raise WindowError('Put the cron expression in quotes first, e.g. "0 15 * * 5"')
        if len(quoted) < 2:
            raise WindowError('Give the window a description in quotes, e.g. "Weekend"')
        cron = check_cron(quoted[0])
        after = tokens[tokens.index("for") + 1 :]
        plain = [t for t in after if t != "\x01"]
        if len(plain) != 2:
            raise WindowError("After the cron expression: `for DURATION ZONE`, e.g. `for 66h UTC`")
        duration = parse_duration(plain[0])
        tz = check_zone(plain[1])
        window = Window(kind, tz.key, quoted[-1].strip(), cron=cron, duration=duration)
    else:
        plain = [t for t in tokens if t != "\x01"]
        if "to" not in plain:
            raise WindowError(
                'Give either a cron start and a duration (`"0 15 * * 5" for 66h`) or '
                "two dates (`2026-12-20 to 2027-01-03`)"
            )
        cut = plain.index("to")
        before, after = plain[:cut], plain[cut + 1 :]
        if not after:
            raise WindowError("Name the time zone after the end, e.g. `Europe/Berlin`")
        zone = after[-1]
        tz = check_zone(zone)
        start_text, end_text = " ".join(before), " ".join(after[:-1])
        for part in (start_text, end_text):
            if not _DATE.match(part):
                raise WindowError(
                    f"`{part or '(nothing)'}` is not a date like 2026-12-20 or 2026-12-20 18:00"
                )
        starts_at = _parse_date(start_text, tz, end=False)
        ends_at = _parse_date(end_text, tz, end=" " not in end_text)
        window = Window(kind, tz.key, quoted[-1].strip(), starts_at=starts_at, ends_at=ends_at)
    window = Window(
        window.kind,
        window.zone,
        window.description,
        cron=window.cron,
        duration=window.duration,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        freeze_branch=freeze,
    )
    if freeze and kind is not WindowKind.BLACKOUT:
        raise WindowError("Only a blackout can freeze the branch (`--freeze`)")
    check_window(window)
    return window


def parse_seed(value: str) -> list[Window]:
    """DEPLOY_WINDOWS: one `/deploy window add` argument list per line or per `;`."""
    lines = [part.strip() for part in re.split(r"[;\n]", value) if part.strip()]
    return [parse_window(line) for line in lines]


def describe(window: Window) -> str:
    """One line naming the window's times, in its own zone."""
    if window.cron is not None and window.duration is not None:
        return f"`{window.cron}` for {format_span(window.duration)} ({window.zone})"
    if window.starts_at is None or window.ends_at is None:
        return f"(incomplete, {window.zone})"
    tz = window.tz
    start = window.starts_at.astimezone(tz)
    end = window.ends_at.astimezone(tz)
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({window.zone})"


def format_span(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or "0m"


# Straight and curly quotes people put round a reason (Slack curls them on macOS).
QUOTES = "\"'\u201c\u201d\u2018\u2019"
_OVERRIDE_FLAG = re.compile(r'--override-window(?:\s+["“]([^"”]*)["”]|\s+(\S+)|\s*$)')
OVERRIDE_REASON_MAX = 500


def parse_override_flag(text: str) -> tuple[str, str | None]:
    """Take `--override-window "reason"` out of a command's text: (the rest, the reason or
    None). Raises ValueError when the flag is there without a usable reason."""
    match = _OVERRIDE_FLAG.search(text)
    if match is None:
        return text, None
    reason = (match.group(1) or match.group(2) or "").strip()
    example = '--override-window "campaign launch needs it"'
    if not reason:
        raise ValueError(f"an override needs a reason in quotes, e.g. `{example}`")
    if len(reason) > OVERRIDE_REASON_MAX:
        raise ValueError(f"keep the override reason under {OVERRIDE_REASON_MAX} characters")
    rest = (text[: match.start()] + " " + text[match.end() :]).strip()
    return rest, reason
