"""Reading the literal SQL of a RunSQL (or an Alembic `op.execute`) for what breaks the
old code and for rules it adds that every row must keep. Plain Python, no database: the
SQL is read, never run.

The SQL comes from pull requests, so it is read in time linear in its length. A pattern
like `ALTER TABLE [^;]* RENAME`, tried at every ALTER TABLE of a statement with no `;`,
reads to the end each time: 255 KB of repeated `ALTER TABLE a ` (a migration just under
the reader's limit) kept the analyser busy for over a minute of CPU, and a pull request
may bring 300 migrations (docs/adr/0014, amendment of 2026-12-01 evening). Here a
clause runs from its keyword to the next `;` or the next clause of the same kind,
whichever comes first, so clauses never overlap and each is read once.

The analyser must never call SQL routine because it misread it, so where the reading
is uncertain it errs towards tricky:
- Comments are blanked out first (never run, they could hold a keyword that ends a
  clause), and a `;` inside a quoted string or name ends nothing. That reading follows
  standard SQL's quotes; where the text has what it does not follow (PostgreSQL's
  `$$` quotes and `E'\\'` escapes, a `\r` line end), the text is also read as written,
  and what either reading finds counts.
- A rule found in a clause that did not begin after a `;` ending the clause before it
  (its `ALTER TABLE` may sit in a string) is taken to be on a table that exists.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

_FLAGS = re.IGNORECASE

# Anywhere in the SQL: gone for the old code (and for good).
_DROP_OR_TRUNCATE = re.compile(r"\bDROP\s+(?:TABLE|COLUMN)\b|\bTRUNCATE\b", _FLAGS)
# A clause that may rename, drop or retype a column or rename the table (whatever names
# the table: a backquoted or parameter name too), and what does so in it. PostgreSQL
# lets COLUMN out: `ALTER TABLE t DROP c`, `ALTER TABLE t ALTER c TYPE bigint`.
_ALTER_ANY_TABLE = re.compile(r"\bALTER\s+TABLE\b", _FLAGS)
_NAME = r'(?:"(?:[^"]|"")*"|\w+)'
_BREAKS_IN_ALTER_TABLE = re.compile(
    # What a column keeps working through: matched first so that its DROP is skipped.
    r"(?P<harmless>\bALTER\s+(?:COLUMN\s+)?" + _NAME + r"\s+DROP\s+"
    r"(?:DEFAULT|NOT\s+NULL|IDENTITY|EXPRESSION)\b)"
    r"|\bRENAME\b"
    r"|\bALTER\s+(?:COLUMN\s+)?" + _NAME + r"\s+(?:SET\s+DATA\s+)?TYPE\b"
    r"|\bALTER\s+(?:COLUMN\s+)?" + _NAME + r"\s+SET\s+NOT\s+NULL\b"
    r"|\bDROP\s+(?!CONSTRAINT\b|DEFAULT\b|NOT\s+NULL\b)" + _NAME,
    _FLAGS,
)
# A clause that may add a rule to the table it names.
_ALTER_TABLE = re.compile(
    r"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<table>[\w.\"]+)", _FLAGS
)
# A clause that may change a column's type or forbid its NULLs, and what does in it.
_ALTER_COLUMN = re.compile(r"\bALTER\s+COLUMN\b", _FLAGS)
_TYPE_OR_NOT_NULL = re.compile(r"\b(?:TYPE|SET\s+NOT\s+NULL)\b", _FLAGS)
# In an ALTER TABLE clause: a rule every row must keep, and whether existing rows are
# left unchecked.
_ADD_RULE = re.compile(
    r"\bADD\s+(?:CONSTRAINT\s+[\w\"]+\s+)?(?:UNIQUE|CHECK|EXCLUDE|FOREIGN\s+KEY|PRIMARY\s+KEY)\b",
    _FLAGS,
)
_NOT_VALID = re.compile(r"\bNOT\s+VALID\b", _FLAGS)
# A unique index, and the table it is on.
_CREATE_UNIQUE_INDEX = re.compile(r"\bCREATE\s+UNIQUE\s+INDEX\b", _FLAGS)
_ON_TABLE = re.compile(r"\bON\s+(?:ONLY\s+)?(?P<table>[\w.\"]+)", _FLAGS)
# A table the SQL itself creates. Not `IF NOT EXISTS`: that may leave an existing table
# in place, constraint and all.
_CREATE_TABLE = re.compile(
    r"\bCREATE\s+(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?!IF\s+NOT\s+EXISTS\b)"
    r"(?P<table>[\w.\"]+)",
    _FLAGS,
)

# What a reason shows of a long clause: its end, which names what it does.
SHOWN_CHARS = 80
# Where a comment or a quoted string or name may begin.
_QUOTE_OR_COMMENT = re.compile(r"['\"]|--|/\*")
# What the quote-aware reading does not follow (see the module's docstring).
_UNFOLLOWED = ("$", "\\", "\r")


@dataclass(frozen=True)
class AddedRule:
    """A constraint or unique index the SQL adds to `table` (its bare name)."""

    table: str
    # The SQL that adds it, whitespace collapsed, shortened to its end.
    text: str
    not_valid: bool
    # Whether the SQL itself creates the table earlier (nothing running uses it yet).
    created_before: bool
    # False when the table may be misread (see the module's docstring): judge the rule
    # as on a table that exists, whatever `table` names.
    certain: bool = True


@dataclass(frozen=True)
class _Reading:
    """One way of reading the SQL: its text (comments blanked, or as written) and the
    spans of its quoted strings and names, in order (none: every `;` counts)."""

    text: str
    quoted: tuple[tuple[int, int], ...]


def _readings(sql: str) -> list[_Reading]:
    blanked, quoted = _blank_comments(sql)
    readings = [_Reading(blanked, tuple(quoted))]
    if any(mark in sql for mark in _UNFOLLOWED):
        readings.append(_Reading(sql, ()))
    return readings


def destructive_clause(sql: str) -> str | None:
    """The first SQL (shortened) that drops or empties a table or column, renames one,
    changes a column's type or forbids its NULLs; None if there is none."""
    found = []
    for reading in _readings(sql):
        text = reading.text
        drop = _DROP_OR_TRUNCATE.search(text)
        if drop:
            found.append((drop.start(), drop.group(0)))
        for starts, does in (
            (_ALTER_ANY_TABLE, _BREAKS_IN_ALTER_TABLE),
            (_ALTER_COLUMN, _TYPE_OR_NOT_NULL),
        ):
            hit = _first_hit(reading, starts, does)
            if hit is not None:
                found.append(hit)
    if not found:
        return None
    return _shown(min(found)[1])


def _first_hit(
    reading: _Reading, starts: re.Pattern[str], does: re.Pattern[str]
) -> tuple[int, str] | None:
    """(where, the SQL) of the first clause of `starts` in which `does` matches, not
    counting its `harmless` group."""
    text = reading.text
    for clause, end, _ in _clauses(reading, starts):
        for hit in does.finditer(text, clause.end(), end):
            if "harmless" in does.groupindex and hit.group("harmless"):
                continue
            return clause.start(), text[clause.start() : hit.end()]
    return None


def added_rules(sql: str) -> Iterator[AddedRule]:
    """The constraints and unique indexes the SQL adds, in the order they come (a rule
    both readings find comes twice)."""
    rules: list[tuple[int, str, str, bool, bool, bool]] = []
    for reading in _readings(sql):
        text = reading.text
        first_created: dict[str, int] = {}
        for creation in _CREATE_TABLE.finditer(text):
            name = bare_table(creation.group("table")).lower()
            first_created.setdefault(name, creation.start())
        found: list[tuple[int, str, str, bool, bool]] = []
        for clause, end, certain in _clauses(reading, _ALTER_TABLE):
            add = _ADD_RULE.search(text, clause.end(), end)
            if add:
                not_valid = _NOT_VALID.search(text, add.end(), end) is not None
                shown = text[clause.start() : add.end()]
                found.append((clause.start(), clause.group("table"), shown, not_valid, certain))
        for clause, end, certain in _clauses(reading, _CREATE_UNIQUE_INDEX):
            on = _ON_TABLE.search(text, clause.end(), end)
            if on:
                shown = text[clause.start() : on.end()]
                found.append((clause.start(), on.group("table"), shown, False, certain))
        for position, name, shown, not_valid, certain in found:
            created_at = first_created.get(bare_table(name).lower())
            created_before = certain and created_at is not None and created_at < position
            rules.append((position, name, shown, not_valid, certain, created_before))
    for _, name, shown, not_valid, certain, created_before in sorted(rules):
        yield AddedRule(
            table=bare_table(name),
            text=_shown(shown),
            not_valid=not_valid,
            created_before=created_before,
            certain=certain,
        )


def bare_table(name: str) -> str:
    """`public."Shop_Person"` -> `Shop_Person`: the table's own name, unquoted."""
    return name.rsplit(".", 1)[-1].strip('"')


def without_comments(sql: str) -> str:
    """`sql` with its comments (`-- …` and `/* … */`) blanked out, every other character
    where it was. Quoted strings and names are stepped over, so a `--` inside one is no
    comment."""
    return _blank_comments(sql)[0]


def _blank_comments(sql: str) -> tuple[str, list[tuple[int, int]]]:
    """`without_comments(sql)`, and the spans of its quoted strings and names. In one
    pass: each search starts where the last one ended."""
    parts: list[str] = []
    quoted: list[tuple[int, int]] = []
    position = 0
    while True:
        found = _QUOTE_OR_COMMENT.search(sql, position)
        if found is None:
            parts.append(sql[position:])
            return "".join(parts), quoted
        start = found.start()
        parts.append(sql[position:start])
        opener = found.group(0)
        if opener in ("'", '"'):
            end = _closing_quote(sql, start + 1, opener)
            parts.append(sql[start:end])
            quoted.append((start, end))
        else:
            line_comment = opener == "--"
            end = sql.find("\n" if line_comment else "*/", start + 2)
            end = len(sql) if end < 0 else end + (0 if line_comment else 2)
            parts.append(" " * (end - start))
        position = end


def _closing_quote(sql: str, position: int, quote: str) -> int:
    """Where the quoted text that began before `position` ends (after its closing
    quote; a doubled quote is a quote inside it), or the end of `sql`."""
    while True:
        found = sql.find(quote, position)
        if found < 0:
            return len(sql)
        if sql.startswith(quote, found + 1):
            position = found + 2
            continue
        return found + 1


def _clauses(
    reading: _Reading, starts: re.Pattern[str]
) -> Iterator[tuple[re.Match[str], int, bool]]:
    """Each match of `starts` in the reading, with where its clause ends (at the next
    `;` outside quotes or the next match, whichever comes first) and whether it is
    certain to begin a clause: the first, or the first after a `;` ended the one before,
    and not itself inside quotes. The `;` is looked for again only once passed, so the
    whole text is read once however many clauses there are."""
    text, quoted = reading.text, reading.quoted
    quote_starts = [start for start, _ in quoted]
    matches = list(starts.finditer(text))
    semicolon = -1
    ended_by_semicolon = True
    for index, match in enumerate(matches):
        if semicolon < match.end():
            semicolon = _next_semicolon(text, match.end(), quoted, quote_starts)
        following = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        in_quotes = _quote_around(match.start(), quoted, quote_starts) is not None
        yield match, min(semicolon, following), ended_by_semicolon and not in_quotes
        ended_by_semicolon = semicolon < following


def _next_semicolon(
    text: str,
    position: int,
    quoted: tuple[tuple[int, int], ...],
    quote_starts: list[int],
) -> int:
    """The first `;` at or after `position` that is not inside quotes, or the end."""
    while True:
        found = text.find(";", position)
        if found < 0:
            return len(text)
        around = _quote_around(found, quoted, quote_starts)
        if around is None:
            return found
        position = around[1]


def _quote_around(
    position: int, quoted: tuple[tuple[int, int], ...], quote_starts: list[int]
) -> tuple[int, int] | None:
    index = bisect.bisect_right(quote_starts, position) - 1
    if index >= 0 and quoted[index][0] < position < quoted[index][1]:
        return quoted[index]
    return None


def _shown(text: str) -> str:
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= SHOWN_CHARS else "…" + collapsed[-(SHOWN_CHARS - 1) :]
