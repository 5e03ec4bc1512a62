"""Raw SQL read for what breaks the old code and for the rules it adds, including SQL no
migration author would write: a pull request's SQL is data, and a megabyte of it must be
read as readily as a line (the suite's per-test timeout stops a reading that is not)."""

from __future__ import annotations

import pytest

from bot.migration_analysis.raw_sql import SHOWN_CHARS, AddedRule, added_rules, destructive_clause

# GitHub's contents API serves files up to this size inline (bot/github/client.py).
MEGABYTE = 1_000_000


@pytest.mark.parametrize(
    ("sql", "shown"),
    [
        ("ALTER TABLE t DROP COLUMN c", "DROP COLUMN"),
        ("drop table t", "drop table"),
        ("TRUNCATE t", "TRUNCATE"),
        ("ALTER TABLE t RENAME COLUMN a TO b", "ALTER TABLE t RENAME"),
        ("ALTER TABLE t ALTER COLUMN c TYPE bigint", "ALTER COLUMN c TYPE"),
        ("ALTER TABLE t ALTER COLUMN c SET NOT NULL", "ALTER COLUMN c SET NOT NULL"),
        # Two clauses of one statement: the one that changes the type is named.
        (
            "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1, ALTER COLUMN b TYPE int",
            "ALTER COLUMN b TYPE",
        ),
        # The first one in the text.
        ("UPDATE t SET a = 1; ALTER TABLE t RENAME TO u; DROP TABLE v", "ALTER TABLE t RENAME"),
    ],
)
def test_what_breaks_the_old_code_is_found_and_shown(sql: str, shown: str) -> None:
    found = destructive_clause(sql)
    assert found is not None and shown in found


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE t ADD COLUMN c int",
        "ALTER TABLE t ALTER COLUMN c SET DEFAULT 0",
        # A RENAME in the next statement is not this ALTER TABLE's.
        "ALTER TABLE t ADD COLUMN c int; SELECT 'RENAME'",
        "ALTER INDEX i RENAME TO j",
        "CREATE INDEX i ON t (c)",
    ],
)
def test_sql_that_keeps_the_old_code_working_is_not_destructive(sql: str) -> None:
    assert destructive_clause(sql) is None


def test_rules_are_read_in_order_with_their_table_and_whether_the_sql_created_it() -> None:
    sql = (
        'ALTER TABLE public."Shop_Person" ADD CONSTRAINT age_ok CHECK (age >= 0) NOT VALID;\n'
        "CREATE TABLE tally (n int);\n"
        "CREATE UNIQUE INDEX u ON ONLY tally (n);\n"
        "ALTER TABLE shop_team ADD COLUMN x int, ADD UNIQUE (x)"
    )
    assert list(added_rules(sql)) == [
        AddedRule(
            table="Shop_Person",
            text='ALTER TABLE public."Shop_Person" ADD CONSTRAINT age_ok CHECK',
            not_valid=True,
            created_before=False,
        ),
        AddedRule(
            table="tally",
            text="CREATE UNIQUE INDEX u ON ONLY tally",
            not_valid=False,
            created_before=True,
        ),
        AddedRule(
            table="shop_team",
            text="ALTER TABLE shop_team ADD COLUMN x int, ADD UNIQUE",
            not_valid=False,
            created_before=False,
        ),
    ]


def test_a_table_created_after_the_rule_or_if_not_exists_was_not_created_before_it() -> None:
    later = "ALTER TABLE tally ADD UNIQUE (n); CREATE TABLE tally (n int)"
    maybe = "CREATE TABLE IF NOT EXISTS tally (n int); ALTER TABLE tally ADD UNIQUE (n)"
    assert [rule.created_before for rule in added_rules(later)] == [False]
    assert [rule.created_before for rule in added_rules(maybe)] == [False]


def test_not_valid_belongs_to_its_own_statement() -> None:
    sql = "ALTER TABLE t ADD UNIQUE (a); ALTER TABLE u VALIDATE CONSTRAINT c NOT VALID"
    assert [rule.not_valid for rule in added_rules(sql)] == [False]


def test_a_long_clause_is_shown_by_its_end_within_the_limit() -> None:
    sql = "ALTER TABLE t " + "ALTER COLUMN c SET DEFAULT 1, " * 40 + "ADD UNIQUE (c)"
    [rule] = added_rules(sql)
    assert len(rule.text) == SHOWN_CHARS
    assert rule.text.startswith("…") and rule.text.endswith("ADD UNIQUE")


@pytest.mark.parametrize(
    "unit",
    [
        "ALTER TABLE a ",
        "ALTER COLUMN b ",
        "CREATE UNIQUE INDEX ",
        "CREATE TABLE a ",
        "ADD CONSTRAINT ",
        "ALTER TABLE a ADD CONSTRAINT ",
    ],
)
def test_a_megabyte_of_one_clause_repeated_without_a_semicolon_is_read(unit: str) -> None:
    # Before, each clause was read to the end of the text: over a minute for 256 KiB.
    sql = unit * (MEGABYTE // len(unit))
    assert destructive_clause(sql) is None
    assert list(added_rules(sql)) == []
    # One rule at the very end is still found, on the last clause's table.
    rules = list(added_rules(sql + "ALTER TABLE z ADD UNIQUE (x)"))
    assert [rule.table for rule in rules] == ["z"]
    assert destructive_clause(sql + "ALTER TABLE z RENAME TO y") is not None


def test_a_megabyte_of_rules_on_created_tables_is_read() -> None:
    sql = "".join(
        f"CREATE TABLE t{n} (n int); ALTER TABLE t{n} ADD UNIQUE (n);\n" for n in range(20_000)
    )
    assert len(sql) > MEGABYTE
    rules = list(added_rules(sql))
    assert len(rules) == 20_000 and all(rule.created_before for rule in rules)
