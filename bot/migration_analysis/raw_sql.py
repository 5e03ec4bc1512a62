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
is uncertain it errs towards tricky. The SQL is read three ways, and what any reading
finds counts:
- as PostgreSQL reads it: comments blanked (line comments end at a \n or \r, block
  comments nest), its strings ('…', E'…' with backslash escapes, $tag$…$tag$) and quoted
  names stepped over, and a `;` inside quotes ending nothing;
- with every comment blanked, inside quotes or not (a DO block's body is SQL too);
- as written (other databases read comments and strings otherwise).
A rule found in a clause that did not begin after a `;` ending the clause before it, or
that begins inside quotes, is taken to be on a table that exists; a CREATE TABLE in a
string, of another name as PostgreSQL compares names, or after the search path or a
schema changes, excuses nothing.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_FLAGS = re.IGNORECASE

# A name as PostgreSQL reads it: quoted ("…", U&"…") or not (letters, digits, _ and $,
# any non-ASCII character), and what may stand between a keyword and it: spaces, or
# nothing next to a quote (`DROP"c"`).
_NAME = r'(?:(?:U&)?"(?:[^"]|"")*"|(?:[\w$]|[^\x00-\x7f])+)'
_SEP = r'(?:\s+|\s*(?=(?:U&)?")|(?<=")\s*)'
_TABLE_NAME = rf"(?P<table>{_NAME}(?:\s*\.\s*{_NAME})*)"

# Anywhere in the SQL: gone for the old code (and for good). A CASCADE, below, takes
# what depends on the dropped object with it (a type's columns, a sequence's defaults).
_DROP_OR_TRUNCATE = re.compile(
    r"\bDROP\s+(?:TABLE|COLUMN|SCHEMA|SEQUENCE|VIEW|MATERIALIZED\s+VIEW|TYPE|DOMAIN|EXTENSION)\b"
    r"|\bTRUNCATE\b",
    _FLAGS,
)
_ANY_DROP = re.compile(r"\bDROP\b", _FLAGS)
_CASCADE = re.compile(r"\bCASCADE\b", _FLAGS)
# A clause that may rename, drop or retype a column, rename the table or move it to
# another schema (whatever names the table), and what does so in it. PostgreSQL lets
# COLUMN out: `ALTER TABLE t DROP c`, `ALTER TABLE t ALTER c TYPE bigint`. DEFAULT and
# NOT are reserved words, never a column's name: `… DROP DEFAULT` and `… DROP NOT NULL`
# leave a column working; `DROP IDENTITY` breaks the old code's inserts, which leave the
# id to the database. A column added NOT NULL without a DEFAULT breaks them too.
_ALTER_ANY_TABLE = re.compile(r"\bALTER\s+(?:TABLE|SCHEMA)\b", _FLAGS)
_BREAKS_IN_ALTER_TABLE = re.compile(
    r"\bRENAME\b|\bSET\s+SCHEMA\b"
    rf"|\bALTER(?:\s+COLUMN)?{_SEP}{_NAME}{_SEP}(?:SET\s+DATA\s+)?TYPE\b"
    rf"|\bALTER(?:\s+COLUMN)?{_SEP}{_NAME}{_SEP}SET\s+NOT\s+NULL\b"
    rf"|\bDROP{_SEP}(?!CONSTRAINT\b|DEFAULT\b|NOT\s+NULL\b){_NAME}",
    _FLAGS,
)
_ADD_COLUMN = re.compile(
    rf"\bADD(?:\s+COLUMN)?(?:\s+IF\s+NOT\s+EXISTS)?{_SEP}(?!CONSTRAINT\b){_NAME}{_SEP}"
    r"(?P<definition>(?:[^,;()]|\([^();]*\))*)",
    _FLAGS,
)
_NOT_NULL = re.compile(r"\bNOT\s+NULL\b", _FLAGS)
_FILLED = re.compile(r"\b(?:DEFAULT|GENERATED|SMALLSERIAL|SERIAL|BIGSERIAL)\b", _FLAGS)
# A clause that may add a rule to the table it names.
_ALTER_TABLE = re.compile(
    rf"\bALTER\s+TABLE(?:\s+IF\s+EXISTS)?(?:\s+ONLY)?{_SEP}{_TABLE_NAME}", _FLAGS
)
# A clause that may change a column's type or forbid its NULLs, and what does in it.
_ALTER_COLUMN = re.compile(r"\bALTER\s+COLUMN\b", _FLAGS)
_TYPE_OR_NOT_NULL = re.compile(r"\b(?:TYPE|SET\s+NOT\s+NULL)\b", _FLAGS)
# In an ALTER TABLE clause: a rule every row must keep, and whether existing rows are
# left unchecked.
_ADD_RULE = re.compile(
    rf"\bADD(?:\s+CONSTRAINT{_SEP}{_NAME})?{_SEP}"
    r"(?:UNIQUE|CHECK|EXCLUDE|FOREIGN\s+KEY|PRIMARY\s+KEY|NOT\s+NULL)\b",
    _FLAGS,
)
_NOT_VALID = re.compile(r"\bNOT\s+VALID\b", _FLAGS)
# A unique index, and the table it is on.
_CREATE_UNIQUE_INDEX = re.compile(r"\bCREATE\s+UNIQUE\s+INDEX\b", _FLAGS)
_ON_TABLE = re.compile(rf"\bON(?:\s+ONLY)?{_SEP}{_TABLE_NAME}", _FLAGS)
# A table the SQL itself creates. Not `IF NOT EXISTS`: that may leave an existing table
# in place, constraint and all.
_CREATE_TABLE = re.compile(
    r"\bCREATE\s+(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE(?!\s+IF\s+NOT\s+EXISTS\b)"
    rf"{_SEP}{_TABLE_NAME}",
    _FLAGS,
)
# SQL after which a name may not mean the table it means elsewhere in the text: then no
# CREATE TABLE excuses a rule.
_NAMES_MOVE = re.compile(r"\bsearch_path\b|\bCREATE\s+SCHEMA\b", _FLAGS)

# What a reason shows of a long clause: its end, which names what it does.
SHOWN_CHARS = 80
# Where a comment or a quoted string or name may begin.
# PostgreSQL's: strings ('…', E'…' with backslash escapes, $tag$…$tag$), quoted names,
# line comments (to a \n or \r) and block comments (which nest).
_QUOTE_OR_COMMENT = re.compile(
    r"(?<![\w$\u0080-\U0010ffff])[Ee]'|'|\"|--|/\*"
    r"|(?<![\w$\u0080-\U0010ffff])\$(?:(?:[A-Za-z_]|[^\x00-\x7f])(?:\w|[^\x00-\x7f])*)?\$"
)
_LINE_END = re.compile(r"[\n\r]")
_COMMENT_START = re.compile(r"--|/\*")
_BLOCK_MARK = re.compile(r"/\*|\*/")
_E_STRING_MARK = re.compile(r"[\\']")


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
    # The schema the SQL names for the table, if any (lower case unless quoted).
    schema: str | None = None


@dataclass(frozen=True)
class _Reading:
    """One way of reading the SQL: its text (comments blanked, or as written) and the
    spans of its quoted strings and names, in order (none: every `;` counts)."""

    text: str
    quoted: tuple[tuple[int, int], ...]


def _readings(sql: str) -> list[_Reading]:
    """The SQL as PostgreSQL reads it (comments blanked, quotes followed); with every
    comment blanked, quotes or not (a comment inside a DO block's body is one to
    PL/pgSQL); and as written (for what other databases read differently)."""
    blanked, quoted = _blank_comments(sql)
    return [
        _Reading(blanked, tuple(quoted)),
        _Reading(_blank_every_comment(sql), ()),
        _Reading(sql, ()),
    ]


def destructive_clause(sql: str) -> str | None:
    """The first SQL (shortened) that drops or empties a table or column, renames one,
    changes a column's type or forbids its NULLs, adds a column the old code's inserts
    leave NULL against NOT NULL, or drops with CASCADE; None if there is none."""
    found = []
    for reading in _readings(sql):
        text = reading.text
        drop = _DROP_OR_TRUNCATE.search(text)
        if drop:
            found.append((drop.start(), drop.group(0)))
        for starts, does in (
            (_ALTER_ANY_TABLE, _BREAKS_IN_ALTER_TABLE.search),
            (_ALTER_ANY_TABLE, _column_without_value),
            (_ALTER_COLUMN, _TYPE_OR_NOT_NULL.search),
            (_ANY_DROP, _CASCADE.search),
        ):
            hit = _first_hit(reading, starts, does)
            if hit is not None:
                found.append(hit)
    if not found:
        return None
    return _shown(min(found)[1])


def _column_without_value(text: str, start: int, end: int) -> re.Match[str] | None:
    """The first column added NOT NULL with no DEFAULT (nor an identity, a generated
    value or a serial type) between `start` and `end`."""
    for added in _ADD_COLUMN.finditer(text, start, end):
        definition = added.group("definition")
        if _NOT_NULL.search(definition) and not _FILLED.search(definition):
            return added
    return None


def _first_hit(
    reading: _Reading,
    starts: re.Pattern[str],
    does: Callable[[str, int, int], re.Match[str] | None],
) -> tuple[int, str] | None:
    """(where, the SQL) of the first clause of `starts` in which `does` finds a match."""
    text = reading.text
    for clause, end, _ in _clauses(reading, starts):
        hit = does(text, clause.end(), end)
        if hit is not None:
            return clause.start(), text[clause.start() : hit.end()]
    return None


def added_rules(sql: str) -> Iterator[AddedRule]:
    """The constraints and unique indexes the SQL adds, in the order they come, each
    once however many readings find it."""
    excusable = _NAMES_MOVE.search(sql) is None
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
            for on in _ON_TABLE.finditer(text, clause.end(), end):
                if _quote_around(on.start(), reading.quoted, quote_starts) is not None:
                    continue  # an ON inside the index's quoted name
                shown = text[clause.start() : on.end()]
                found.append((clause.start(), on.group("table"), shown, False, certain))
                break
        for position, name, shown, not_valid, certain in found:
            created_at = first_created.get(_table_key(name))
            created_before = (
                excusable and certain and created_at is not None and created_at < position
            )
            rules.append((position, name, shown, not_valid, certain, created_before))
    # The readings mostly agree: one rule per place and table, excused only if every
    # reading that found it excuses it.
    merged: dict[tuple[int, str], AddedRule] = {}
    for position, name, shown, not_valid, certain, created_before in sorted(rules):
        parts = _name_parts(name)
        rule = AddedRule(
            table=parts[-1],
            text=_shown(shown),
            not_valid=not_valid,
            created_before=created_before,
            certain=certain,
            schema=".".join(parts[:-1]) or None,
        )
        key = (position, _table_key(name))
        seen = merged.get(key)
        if seen is not None:
            rule = dataclasses.replace(
                seen,
                created_before=seen.created_before and rule.created_before,
                certain=seen.certain and rule.certain,
            )
        merged[key] = rule
    yield from merged.values()


def _name_parts(name: str) -> list[str]:
    """`public."Shop_Person"` -> ["public", "Shop_Person"]: each part as PostgreSQL
    compares it (unquoted folded to lower case, quoted kept)."""
    return [_name_part(part) for part in re.findall(_NAME, name)]


def _table_key(name: str) -> str:
    """A table's name as PostgreSQL compares it, the schema kept where written
    (`tmp.t` is not `public.t`)."""
    return ".".join(_name_parts(name))


def _name_part(part: str) -> str:
    unicode_quoted = part[:2].upper() == "U&"
    quoted = part[2:] if unicode_quoted else part
    if len(quoted) > 1 and quoted.startswith('"') and quoted.endswith('"'):
        return quoted[1:-1].replace('""', '"')
    return part.lower()


def without_comments(sql: str) -> str:
    """`sql` with its comments (`-- …` and `/* … */`) blanked out, every other character
    where it was. Quoted strings and names are stepped over, so a `--` inside one is no
    comment."""
    return _blank_comments(sql)[0]


def _blank_every_comment(sql: str) -> str:
    """`sql` with every `-- …` and `/* … */` blanked out, inside quotes or not."""
    parts: list[str] = []
    position = 0
    for opener in _COMMENT_START.finditer(sql):
        if opener.start() < position:
            continue  # inside the comment just blanked
        start = opener.start()
        if opener.group(0) == "--":
            line_end = _LINE_END.search(sql, start + 2)
            end = len(sql) if line_end is None else line_end.start()
        else:
            end, _ = _block_comment_end(sql, start)
        parts.append(sql[position:start])
        parts.append(" " * (end - start))
        position = end
    parts.append(sql[position:])
    return "".join(parts)


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
        elif opener in ("E'", "e'"):
            end = _closing_escaped_quote(sql, start + 2)
        elif opener.startswith("$"):
            closing = sql.find(opener, start + len(opener))
            end = len(sql) if closing < 0 else closing + len(opener)
        elif opener == "--":
            line_end = _LINE_END.search(sql, start + 2)
            end = len(sql) if line_end is None else line_end.start()
        else:
            end, _ = _block_comment_end(sql, start)
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
