"""Raw SQL read for what breaks the old code and for the rules it adds, including SQL no
migration author would write: a pull request's SQL is data, and a megabyte of it must be
read as readily as a line (the suite's per-test timeout stops a reading that is not)."""

from __future__ import annotations

import pytest

from bot.migration_analysis.raw_sql import (
    SHOWN_CHARS,
    AddedRule,
    added_rules,
    destructive_clause,
    without_comments,
)

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
        # However the table is named, or not: backquotes, a comment, no space, a parameter.
        ("ALTER TABLE `people_person` RENAME TO p", "RENAME"),
        ("ALTER TABLE /* old */ people_person RENAME TO p", "RENAME"),
        ("ALTER TABLE -- the old one\n people_person RENAME TO p", "RENAME"),
        ('ALTER TABLE"t" RENAME TO u', "RENAME"),
        ("ALTER TABLE %s RENAME TO u", "RENAME"),
        # PostgreSQL lets COLUMN out.
        ("ALTER TABLE t DROP c", "ALTER TABLE t DROP c"),
        ("ALTER TABLE t DROP IF EXISTS c", "DROP IF"),
        ("ALTER TABLE t ALTER c TYPE bigint", "ALTER c TYPE"),
        ("ALTER TABLE t ALTER c SET DATA TYPE bigint", "SET DATA TYPE"),
        ("ALTER TABLE t ALTER c SET NOT NULL", "ALTER c SET NOT NULL"),
        # Quoted column names, with spaces or hyphens.
        ('ALTER TABLE t ALTER "my col" TYPE bigint', "TYPE"),
        ('ALTER TABLE t ALTER COLUMN "my-col" SET NOT NULL', "SET NOT NULL"),
        # Columns named like the words of harmless drops: legal, and dropped.
        ("ALTER TABLE t DROP identity", "DROP identity"),
        ("ALTER TABLE t DROP COLUMN expression", "DROP COLUMN"),
        ("ALTER TABLE t DROP expression", "DROP expression"),
        # What the quote-aware reading does not follow is read as written too: PostgreSQL's
        # dollar quotes and backslash escapes, a line comment ended by \r.
        ("SELECT $$--$$; ALTER TABLE t RENAME TO u", "RENAME"),
        ("SELECT $$/*$$; ALTER TABLE t RENAME TO u; SELECT $$*/$$", "RENAME"),
        ("SELECT E'it\\'s -- '; ALTER TABLE t RENAME TO u", "RENAME"),
        ("SELECT 1 -- x\rALTER TABLE t RENAME TO u", "RENAME"),
        # The old code's inserts leave the id to the database; a generated column's
        # value to it too.
        ("ALTER TABLE t ALTER COLUMN id DROP IDENTITY IF EXISTS", "DROP IDENTITY"),
        ('ALTER TABLE t ALTER "my col" DROP EXPRESSION', "DROP EXPRESSION"),
        # Real breaks inside what looks like a harmless column drop's quoted name.
        (
            "ALTER TABLE shop_person ALTER a SET DEFAULT 'ALTER \"', DROP b, "
            "ALTER c SET DEFAULT '\" DROP DEFAULT'",
            "DROP b",
        ),
        (
            'ALTER TABLE shop_person /*ALTER "*/ RENAME COLUMN email TO mail /*" DROP DEFAULT*/',
            "RENAME",
        ),
        # PostgreSQL nests block comments, ends line comments at \r too, and follows
        # dollar quotes and E'' escapes: what it runs is read.
        ("/* /* */ -- */ DROP TABLE shop_person;", "DROP TABLE"),
        ("ALTER TABLE shop_person DROP --x\r COLUMN email;\n", "COLUMN"),
        ("DROP --x\r TABLE shop_person;\n", "TABLE"),
        ("SELECT $$ -- $$; DROP --x\n TABLE shop_person;", "TABLE"),
        ("SELECT $tag$ ' $tag$; DROP TABLE shop_person", "DROP TABLE"),
        ("SELECT E'it\\'s -- '; DROP TABLE shop_person", "DROP TABLE"),
        # A keyword in a comment counts too: the text is also read as written, and
        # erring towards tricky is the safe side.
        ("-- ALTER TABLE t RENAME TO u\nSELECT 1", "RENAME"),
        ("SELECT 1 /* DROP TABLE t */", "DROP TABLE"),
        # A comment inside a DO block's body is one to PL/pgSQL.
        ("DO $$BEGIN ALTER/**/TABLE shop_person RENAME TO p; END$$", "RENAME"),
        ("DO $$BEGIN DROP--\nTABLE shop_person; END$$", "TABLE"),
        # Names next to quotes need no space; $ and non-ASCII letters are part of names.
        ('ALTER TABLE shop_person DROP"name"', 'DROP"name"'),
        ('ALTER TABLE shop_person ALTER"age"TYPE bigint', "TYPE"),
        ("ALTER TABLE shop_person ALTER age$x TYPE bigint", "TYPE"),
        ("SELECT $é$--$é$; DROP TABLE shop_person", "DROP TABLE"),
        # Moved, renamed or dropped with what depends on it.
        ("ALTER TABLE shop_person SET SCHEMA archive", "SET SCHEMA"),
        ("ALTER SCHEMA public RENAME TO old", "RENAME"),
        ("DROP TYPE mood CASCADE", "DROP TYPE"),
        ("DROP SEQUENCE shop_person_id_seq", "DROP SEQUENCE"),
        ("DROP INDEX i CASCADE", "CASCADE"),
        # A column the old code's inserts leave NULL, against NOT NULL.
        ("ALTER TABLE shop_person ADD COLUMN c int NOT NULL", "NOT NULL"),
        ('ALTER TABLE "x" ADD "c" numeric(10,2) NOT NULL', "NOT NULL"),
        # A `--` in a string is no comment.
        ("SELECT '--'; ALTER TABLE t RENAME TO u", "ALTER TABLE t RENAME"),
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
        # What old code keeps working with: a constraint, a default, NOT NULL dropped.
        "ALTER TABLE t DROP CONSTRAINT c",
        "ALTER TABLE t ALTER COLUMN c DROP DEFAULT",
        "ALTER TABLE t ALTER c DROP NOT NULL",
        "ALTER TABLE t ALTER CONSTRAINT c DEFERRABLE",
        # What Django writes for a default or a nullable column.
        'ALTER TABLE "x" ALTER COLUMN "y" DROP DEFAULT',
        'ALTER TABLE "x" ALTER COLUMN "y" DROP NOT NULL',
        'ALTER TABLE "x" DROP CONSTRAINT "y"',
        'ALTER TABLE "x" ADD COLUMN "y" integer DEFAULT 0 NOT NULL',
        "ALTER TABLE x ADD COLUMN id bigserial NOT NULL",
        "ALTER TABLE x ADD COLUMN n int GENERATED ALWAYS AS IDENTITY NOT NULL",
        "ALTER TABLE x ADD COLUMN note text",
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
            schema="public",
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


def test_a_comment_holding_alter_table_does_not_move_the_rule_to_its_table() -> None:
    sql = (
        "CREATE TABLE tmp (n int);\n"
        "ALTER TABLE people_person /* ALTER TABLE tmp */ ADD UNIQUE (email);\n"
        "ALTER TABLE /* no name here */ shop_team ADD UNIQUE (name)"
    )
    found = [(rule.table, rule.created_before, rule.certain) for rule in added_rules(sql)]
    # Read as written, the comment gives a rule on tmp too, judged as on a table that
    # exists; read as PostgreSQL does, the rule is people_person's.
    assert ("people_person", False, True) in found
    assert ("shop_team", False, True) in found
    assert all(not created for _, created, _ in found)


def test_a_rule_after_an_unended_clause_is_taken_to_be_on_a_table_that_exists() -> None:
    # The second ALTER TABLE is inside a string of the first statement: which table the
    # rule is on cannot be told apart from a real one, so it is not excused as new.
    sql = (
        "CREATE TABLE tmp (n int);\n"
        "ALTER TABLE people_person ALTER COLUMN x SET DEFAULT 'ALTER TABLE tmp', "
        "ADD UNIQUE (email)"
    )
    [rule] = added_rules(sql)
    assert (rule.table, rule.certain, rule.created_before) == ("tmp", False, False)


def test_a_semicolon_inside_a_string_ends_no_clause() -> None:
    # The rule is on people_person: the `; ALTER TABLE tmp` is in a string.
    sql = (
        "CREATE TABLE tmp (n int);\n"
        "ALTER TABLE people_person ALTER COLUMN x SET DEFAULT '; ALTER TABLE tmp', "
        "ADD UNIQUE (email)"
    )
    assert [(rule.table, rule.certain) for rule in added_rules(sql)] == [("tmp", False)]


def test_a_create_table_in_a_string_or_another_schema_or_case_excuses_nothing() -> None:
    for sql in (
        "SELECT 'CREATE TABLE shop_person'; ALTER TABLE shop_person ADD UNIQUE (email)",
        'CREATE TABLE "Shop_Person" (n int); ALTER TABLE shop_person ADD UNIQUE (email)',
        "CREATE TABLE tmp.shop_person (n int); ALTER TABLE public.shop_person ADD UNIQUE (n)",
    ):
        assert [rule.created_before for rule in added_rules(sql)] == [False], sql
    # The same name, written alike, is the same table.
    same = 'CREATE TABLE "Tally" (n int); ALTER TABLE "Tally" ADD CONSTRAINT "a b" UNIQUE (n)'
    assert [rule.created_before for rule in added_rules(same)] == [True]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE audit$new (id int); ALTER TABLE audit$log ADD CONSTRAINT u UNIQUE (id)",
        'CREATE TABLE "audit new" (id int); ALTER TABLE "audit log" ADD UNIQUE (id)',
        "SET search_path = tmp; CREATE TABLE audit (id int); RESET search_path; "
        "ALTER TABLE audit ADD UNIQUE (id)",
        'CREATE TABLE newt (a int); CREATE UNIQUE INDEX "i ON newt " ON audit (a)',
    ],
)
def test_a_table_created_under_another_name_or_path_excuses_nothing(sql: str) -> None:
    # At least one reading finds the rule and does not excuse it (what rules.py asks).
    rules = list(added_rules(sql))
    assert rules and not all(rule.created_before for rule in rules)


def test_rules_need_no_space_next_to_quotes_and_not_null_is_one() -> None:
    quoted = 'ALTER TABLE shop_person ADD CONSTRAINT"u"UNIQUE(name)'
    not_null = "ALTER TABLE shop_person ADD CONSTRAINT nn NOT NULL age"
    assert [rule.table for rule in added_rules(quoted)] == ["shop_person"]
    assert [rule.table for rule in added_rules(not_null)] == ["shop_person"]


def test_sql_behind_a_dollar_quote_is_read_as_written_too() -> None:
    sql = "CREATE TABLE tmp (n int); SELECT $$--$$; ALTER TABLE people_person ADD UNIQUE (email)"
    assert [rule.table for rule in added_rules(sql)] == ["people_person"]


def test_comments_are_blanked_where_they_are_and_quotes_are_stepped_over() -> None:
    sql = "a -- b\nc /* d */ e 'f -- g' \"h /* i\" j"
    blanked = without_comments(sql)
    assert len(blanked) == len(sql)
    assert blanked.split() == ["a", "c", "e", "'f", "--", "g'", '"h', "/*", 'i"', "j"]


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
        "'' ",
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


@pytest.mark.parametrize("unit", ["'", '"x', "*/'", "/*", "-- "])
def test_a_megabyte_of_quotes_and_comments_is_read(unit: str) -> None:
    sql = unit * (MEGABYTE // len(unit)) + " ALTER TABLE z ADD UNIQUE (x); DROP TABLE z"
    assert len(without_comments(sql)) == len(sql)
    # Whatever is left open before it, strings or comments, the SQL at the end is still
    # read: one of the readings takes the text as written.
    assert [rule.table for rule in added_rules(sql)] == ["z"]
    assert "DROP TABLE" in (destructive_clause(sql) or "")
