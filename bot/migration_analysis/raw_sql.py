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
is uncertain it errs towards tricky: comments are blanked out first (they are never run,
but could hold a keyword that ends a clause), and a rule found in a clause that began
without a `;` after the clause before it (its `ALTER TABLE` may sit in a string of the
statement before) is taken to be on a table that exists.
"""

from __future__ import annotations

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
_BREAKS_IN_ALTER_TABLE = re.compile(
    r"\bRENAME\b"
    r"|\bALTER\s+(?:COLUMN\s+)?[\w\"]+\s+(?:SET\s+DATA\s+)?TYPE\b"
    r"|\bALTER\s+(?:COLUMN\s+)?[\w\"]+\s+SET\s+NOT\s+NULL\b"
    r"|\bDROP\s+(?!CONSTRAINT\b|DEFAULT\b|NOT\b|IDENTITY\b|EXPRESSION\b)[\w\"]+",
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


def destructive_clause(sql: str) -> str | None:
    """The first SQL (shortened) that drops or empties a table or column, renames one,
    changes a column's type or forbids its NULLs; None if there is none."""
    sql = without_comments(sql)
    found = []
    drop = _DROP_OR_TRUNCATE.search(sql)
    if drop:
        found.append((drop.start(), drop.group(0)))
    for starts, does in (
        (_ALTER_ANY_TABLE, _BREAKS_IN_ALTER_TABLE),
        (_ALTER_COLUMN, _TYPE_OR_NOT_NULL),
    ):
        for clause, end, _ in _clauses(sql, starts):
            hit = does.search(sql, clause.end(), end)
            if hit:
                found.append((clause.start(), sql[clause.start() : hit.end()]))
                break
    if not found:
        return None
    return _shown(min(found)[1])


def added_rules(sql: str) -> Iterator[AddedRule]:
    """The constraints and unique indexes the SQL adds, in the order they come."""
    sql = without_comments(sql)
    first_created: dict[str, int] = {}
    for creation in _CREATE_TABLE.finditer(sql):
        first_created.setdefault(bare_table(creation.group("table")).lower(), creation.start())
    rules: list[tuple[int, str, str, bool, bool]] = []
    for clause, end, certain in _clauses(sql, _ALTER_TABLE):
        add = _ADD_RULE.search(sql, clause.end(), end)
        if add:
            not_valid = _NOT_VALID.search(sql, add.end(), end) is not None
            text = sql[clause.start() : add.end()]
            rules.append((clause.start(), clause.group("table"), text, not_valid, certain))
    for clause, end, certain in _clauses(sql, _CREATE_UNIQUE_INDEX):
        on = _ON_TABLE.search(sql, clause.end(), end)
        if on:
            text = sql[clause.start() : on.end()]
            rules.append((clause.start(), on.group("table"), text, False, certain))
    for position, name, text, not_valid, certain in sorted(rules):
        table = bare_table(name)
        created_at = first_created.get(table.lower())
        yield AddedRule(
            table=table,
            text=_shown(text),
            not_valid=not_valid,
            created_before=certain and created_at is not None and created_at < position,
            certain=certain,
        )


def bare_table(name: str) -> str:
    """`public."Shop_Person"` -> `Shop_Person`: the table's own name, unquoted."""
    return name.rsplit(".", 1)[-1].strip('"')


def without_comments(sql: str) -> str:
    """`sql` with its comments (`-- …` and `/* … */`) blanked out, every other character
    where it was. Quoted strings and names are stepped over, so a `--` inside one is no
    comment. In one pass: each search starts where the last one ended."""
    parts: list[str] = []
    position = 0
    while True:
        found = _QUOTE_OR_COMMENT.search(sql, position)
        if found is None:
            parts.append(sql[position:])
            return "".join(parts)
        start = found.start()
        parts.append(sql[position:start])
        opener = found.group(0)
        if opener in ("'", '"'):
            end = _closing_quote(sql, start + 1, opener)
            parts.append(sql[start:end])
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


def _clauses(sql: str, starts: re.Pattern[str]) -> Iterator[tuple[re.Match[str], int, bool]]:
    """Each match of `starts`, with where its clause ends (at the next `;` or the next
    match, whichever comes first) and whether it began after a `;` ended the clause
    before it (or is the first). The `;` is looked for again only once passed, so the
    whole text is read once however many clauses there are."""
    matches = list(starts.finditer(sql))
    semicolon = -1
    ended_by_semicolon = True
    for index, match in enumerate(matches):
        if semicolon < match.end():
            found = sql.find(";", match.end())
            semicolon = len(sql) if found < 0 else found
        following = matches[index + 1].start() if index + 1 < len(matches) else len(sql)
        yield match, min(semicolon, following), ended_by_semicolon
        ended_by_semicolon = semicolon < following


def _shown(text: str) -> str:
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= SHOWN_CHARS else "…" + collapsed[-(SHOWN_CHARS - 1) :]
