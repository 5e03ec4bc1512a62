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
- Comments are blanked out first, as PostgreSQL reads them (line comments end at a \n
  or \r, block comments nest), stepping over its strings ('…', E'…', $tag$…$tag$) and
  quoted names; a `;` inside quotes ends nothing. Where other databases would read the
  text otherwise (backslashes, nested block comments), it is also read as written, and
  what either reading finds counts.
- A rule found in a clause that did not begin after a `;` ending the clause before it,
  or that begins inside quotes, is taken to be on a table that exists; a CREATE TABLE
  in a string, in another schema or of a differently quoted name excuses nothing.
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
    # DEFAULT and NOT are reserved words, never a column's name: `… DROP DEFAULT` and
    # `… DROP NOT NULL` leave a column working; `DROP IDENTITY` breaks the old code's
    # inserts, which leave the id to the database.
    r"\bRENAME\b"
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
    r"\bADD\s+(?:CONSTRAINT\s+" + _NAME + r"\s+)?"
    r"(?:UNIQUE|CHECK|EXCLUDE|FOREIGN\s+KEY|PRIMARY\s+KEY)\b",
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
# PostgreSQL's: strings ('…', E'…' with backslash escapes, $tag$…$tag$), quoted names,
# line comments (to a \n or \r) and block comments (which nest).
_QUOTE_OR_COMMENT = re.compile(r"(?<![\w$])[Ee]'|'|\"|--|/\*|(?<![\w$])\$(?:[A-Za-z_]\w*)?\$")
_LINE_END = re.compile(r"[\n\r]")
_BLOCK_MARK = re.compile(r"/\*|\*/")
_E_STRING_MARK = re.compile(r"[\\']")
# What the quote-aware reading is not sure of: backslashes (other databases escape with
# them in plain strings) and nested block comments (other databases do not nest them).


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
    blanked, quoted, nested = _blank_comments(sql)
    readings = [_Reading(blanked, tuple(quoted))]
    if nested or "\\" in sql:
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
    """(where, the SQL) of the first clause of `starts` in which `does` matches."""
    text = reading.text
    for clause, end, _ in _clauses(reading, starts):
        hit = does.search(text, clause.end(), end)
        if hit is not None:
            return clause.start(), text[clause.start() : hit.end()]
    return None


def added_rules(sql: str) -> Iterator[AddedRule]:
    """The constraints and unique indexes the SQL adds, in the order they come (a rule
    both readings find comes twice)."""
    rules: list[tuple[int, str, str, bool, bool, bool]] = []
    for reading in _readings(sql):
        text = reading.text
        quote_starts = [start for start, _ in reading.quoted]
        first_created: dict[str, int] = {}
        for creation in _CREATE_TABLE.finditer(text):
            if _quote_around(creation.start(), reading.quoted, quote_starts) is not None:
                continue  # in a string: nothing is created
            first_created.setdefault(_table_key(creation.group("table")), creation.start())
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
            created_at = first_created.get(_table_key(name))
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


def _table_key(name: str) -> str:
    """A table's name as PostgreSQL compares it: unquoted parts folded to lower case,
    quoted ones kept, the schema kept where written (`tmp.t` is not `public.t`)."""
    return ".".join(_name_part(part) for part in name.split("."))


def _name_part(part: str) -> str:
    if len(part) > 1 and part.startswith('"') and part.endswith('"'):
        return part[1:-1]
    return part.lower()


def bare_table(name: str) -> str:
    """`public."Shop_Person"` -> `Shop_Person`: the table's own name, unquoted."""
    return name.rsplit(".", 1)[-1].strip('"')


def without_comments(sql: str) -> str:
    """`sql` with its comments (`-- …` and `/* … */`) blanked out, every other character
    where it was. Quoted strings and names are stepped over, so a `--` inside one is no
    comment."""
    return _blank_comments(sql)[0]


def _blank_comments(sql: str) -> tuple[str, list[tuple[int, int]], bool]:
    """`without_comments(sql)`, the spans of its quoted strings and names, and whether
    a block comment held another (PostgreSQL nests them; others do not). In one pass:
    each search starts where the last one ended."""
    parts: list[str] = []
    quoted: list[tuple[int, int]] = []
    nested = False
    position = 0
    while True:
        found = _QUOTE_OR_COMMENT.search(sql, position)
        if found is None:
            parts.append(sql[position:])
            return "".join(parts), quoted, nested
        start = found.start()
        parts.append(sql[position:start])
        opener = found.group(0)
        if opener in ("'", '"'):
            end = _closing_quote(sql, start + 1, opener)
        elif opener in ("E'", "e'"):
            end = _closing_escaped_quote(sql, start + 2)
        elif opener.startswith("$"):
            closing = sql.find(opener, start + len(opener))
            end = len(sql) if closing < 0 else closing + len(opener)
        elif opener == "--":
            line_end = _LINE_END.search(sql, start + 2)
            end = len(sql) if line_end is None else line_end.start()
        else:
            end, held_another = _block_comment_end(sql, start)
            nested = nested or held_another
        if opener in ("--", "/*"):
            parts.append(" " * (end - start))
        else:
            parts.append(sql[start:end])
            quoted.append((start, end))
        position = end


def _block_comment_end(sql: str, start: int) -> tuple[int, bool]:
    """Where the block comment opened at `start` ends, nested ones included (or the
    end of `sql`), and whether it held another."""
    depth = 0
    held_another = False
    for mark in _BLOCK_MARK.finditer(sql, start):
        if mark.group(0) == "/*":
            depth += 1
            held_another = held_another or depth > 1
        else:
            depth -= 1
            if depth == 0:
                return mark.end(), held_another
    return len(sql), held_another


def _closing_escaped_quote(sql: str, position: int) -> int:
    """Where an E'…' string whose text begins at `position` ends: a backslash escapes
    the next character, a doubled quote is a quote."""
    while True:
        found = _E_STRING_MARK.search(sql, position)
        if found is None:
            return len(sql)
        # A backslash and what it escapes, or a doubled quote: still inside.
        if found.group(0) == "\\" or sql.startswith("'", found.end()):
            position = found.end() + 1
        else:
            return found.end()


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
