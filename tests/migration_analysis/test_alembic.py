"""Alembic revisions, judged by the Django rules (ADR 0023): one revision at a time
against the `tasks` fixture's revisions as its history, read with `ast` only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.migration_analysis import FileAnalysis, Verdict, analyse_file

FIXTURES = Path(__file__).parent / "fixtures"
VERSIONS = FIXTURES / "tasks/versions"
PATH = "tasks/versions/0003_change.py"
DOCSTRING = '"""A change to the tasks."""\n'
DOWNGRADE = "def downgrade() -> None:\n    op.drop_column('task', 'x')\n"


def history() -> dict[str, bytes]:
    return {f"tasks/versions/{path.name}": path.read_bytes() for path in VERSIONS.glob("*.py")}


def revision(
    body: str,
    *,
    docstring: str = DOCSTRING,
    downgrade: str = DOWNGRADE,
    down_revision: str = '"0002"',
    prelude: str = "",
) -> bytes:
    """A revision 0003 whose upgrade() is `body`; `prelude` is module-level code."""
    lines = "".join(f"    {line}\n" for line in textwrap.dedent(body).strip().splitlines())
    return (
        f"{docstring}import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"{textwrap.dedent(prelude).strip()}\n\n"
        f'revision = "0003"\ndown_revision = {down_revision}\n\n\n'
        f"def upgrade() -> None:\n{lines}\n\n{downgrade}"
    ).encode()


def analyse(body: str, **kwargs: str) -> FileAnalysis:
    return analyse_file(PATH, revision(body, **kwargs), history())


def only(body: str) -> tuple[Verdict, str, str]:
    """The verdict of a one-operation revision, its operation's name and reason."""
    analysis = analyse(body)
    (finding,) = analysis.operations
    assert analysis.verdict == finding.verdict
    assert analysis.warnings == ()
    return finding.verdict, finding.operation, finding.reason


def test_the_fixture_revisions_are_routine_without_warnings() -> None:
    sources = history()
    for path, source in sources.items():
        analysis = analyse_file(path, source, sources)
        assert analysis.verdict == Verdict.ROUTINE, analysis
        assert analysis.warnings == ()
    analysis = analyse_file(
        "tasks/versions/0001_create_task.py", sources["tasks/versions/0001_create_task.py"], sources
    )
    assert [(item.operation, item.verdict) for item in analysis.operations] == [
        ("op.create_table", Verdict.ROUTINE),
        ("op.create_index", Verdict.ROUTINE),
    ]
    assert (
        analysis.operations[0].reason == "creates table task: a new table the old code does not use"
    )


def test_module_level_code_never_runs(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    source = (
        f"__import__('os').system('touch {sentinel}')\n"
        f"open({str(sentinel)!r}, 'w').write('x')\n"
        "from alembic import op\n"
        "revision = __import__('os').system('id')\n"
        'down_revision = "0002"\n'
        "def upgrade():\n"
        f"    op.execute(open({str(sentinel)!r}, 'w').write('x'))\n"
        "def downgrade():\n"
        f"    __import__('os').system('touch {sentinel}')\n"
    ).encode()
    analysis = analyse_file(PATH, source, history())
    assert not sentinel.exists()
    # The argument is read as data: SQL that is not a literal, not run.
    assert [(item.operation, item.verdict) for item in analysis.operations] == [
        ("op.execute", Verdict.REVIEW)
    ]


@pytest.mark.parametrize(
    ("call", "says"),
    [
        ("op.create_index('ix_task_title', 'task', ['title'])", "not concurrently"),
        (
            "op.create_index('ix_task_title', 'task', ['title'], postgresql_concurrently=True)",
            "concurrently (writes continue",
        ),
        ("op.add_column('task', sa.Column('x', sa.Text(), nullable=True))", "adds nullable Text"),
        ("op.add_column('task', sa.Column('x', sa.Text()))", "adds nullable Text"),
        (
            "op.add_column('task', sa.Column('x', sa.Integer(), nullable=False, "
            "server_default=sa.text('0')))",
            "with server_default",
        ),
        ("op.alter_column('task', 'title', type_=sa.String(200))", "lengthens max_length"),
        ("op.alter_column('task', 'title', nullable=True)", "allows NULL"),
        ("op.alter_column('task', 'owner', server_default='me')", "sets a database default"),
        ("op.drop_index('ix_task_done', table_name='task')", "drops index"),
        (
            "op.execute('CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$')",
            "runs `CREATE FUNCTION",
        ),
    ],
)
def test_routine_operations(call: str, says: str) -> None:
    verdict, _, reason = only(call)
    assert verdict == Verdict.ROUTINE
    assert says in reason


def test_anything_done_to_a_table_created_in_the_same_file_is_routine() -> None:
    analysis = analyse(
        """
        op.create_table('tag', sa.Column('id', sa.Integer(), nullable=False))
        op.add_column('tag', sa.Column('name', sa.Text(), nullable=False))
        op.alter_column('tag', 'name', type_=sa.String(20), new_column_name='label')
        op.create_index('uq_tag_label', 'tag', ['label'], unique=True)
        op.execute('ALTER TABLE tag ADD CONSTRAINT ck_tag CHECK (id > 0)')
        op.drop_column('tag', 'label')
        op.rename_table('tag', 'label')
        op.drop_table('label')
        """
    )
    assert analysis.verdict == Verdict.ROUTINE, analysis
    created, *others = (item for item in analysis.operations if item.operation != "op.execute")
    assert created.reason.startswith("creates table tag")
    assert all("created in this change" in item.reason for item in others), others


def test_not_null_column_without_server_default_on_an_existing_table_is_tricky() -> None:
    verdict, operation, reason = only(
        "op.add_column('task', sa.Column('x', sa.Integer(), nullable=False))"
    )
    assert (verdict, operation) == (Verdict.TRICKY, "op.add_column")
    assert reason == (
        "adds NOT NULL Integer task.x without server_default to an existing table: the old "
        "code's inserts do not set it and fail"
    )


@pytest.mark.parametrize(
    ("call", "says", "advice"),
    [
        ("op.drop_column('task', 'note')", "drops column task.note", "/deploy plan remove"),
        ("op.drop_table('task')", "drops table task", "/deploy plan remove"),
        (
            "op.alter_column('task', 'note', new_column_name='notes')",
            "renames column note of task to notes",
            "/deploy plan rename",
        ),
        (
            "op.rename_table('task', 'todo')",
            "renames table task to todo: table task becomes todo",
            "/deploy plan rename",
        ),
        (
            "op.alter_column('task', 'note', type_=sa.Text())",
            "changes the type of task.note from String to Text",
            "/deploy plan retype",
        ),
        ("op.alter_column('task', 'note', nullable=False)", "makes it NOT NULL", None),
        ("op.alter_column('task', 'title', type_=sa.String(50))", "shortens max_length", None),
        (
            "op.alter_column('task', 'priority', server_default=None)",
            "drops the database default of a NOT NULL column",
            None,
        ),
        (
            "op.create_index('uq_task_title', 'task', ['title'], unique=True)",
            "adds UniqueConstraint uq_task_title to existing table task",
            None,
        ),
        ("op.execute('DROP TABLE task')", "runs `DROP TABLE`: raw SQL", None),
        ("op.execute(sa.text('TRUNCATE task'))", "runs `TRUNCATE`", None),
        ("op.execute('ALTER TABLE task ALTER COLUMN note SET NOT NULL')", "SET NOT NULL", None),
        (
            "op.execute('ALTER TABLE task ADD CONSTRAINT ck_title CHECK (length(title) > 0)')",
            "runs `ALTER TABLE task ADD CONSTRAINT ck_title CHECK`: raw SQL that adds a "
            "constraint or unique index to existing table task",
            None,
        ),
    ],
)
def test_tricky_operations_with_the_django_advice(call: str, says: str, advice: str | None) -> None:
    analysis = analyse(call)
    (finding,) = analysis.operations
    assert analysis.verdict == finding.verdict == Verdict.TRICKY
    assert says in finding.reason
    if advice is None:
        assert analysis.advice == ()
    else:
        (text,) = analysis.advice
        assert advice in text
        assert "db_column" not in text  # Django's way out is not Alembic's


def test_batch_blocks_are_judged_on_their_table() -> None:
    analysis = analyse(
        """
        with op.batch_alter_table('task') as batch:
            batch.add_column(sa.Column('x', sa.Text(), nullable=True))
            batch.alter_column('note', new_column_name='notes')
            batch.drop_column('done')
        """
    )
    assert [(item.operation, item.verdict) for item in analysis.operations] == [
        ("batch.add_column", Verdict.ROUTINE),
        ("batch.alter_column", Verdict.TRICKY),
        ("batch.drop_column", Verdict.TRICKY),
    ]
    assert analysis.operations[2].reason.startswith("drops column task.done")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("op.execute(SQL)", "SQL is not a literal string"),
        ("op.execute(f'DROP INDEX {name}')", "SQL is not a literal string"),
        ("op.get_bind().execute(sa.text('DELETE FROM task'))", "op.get_bind()"),
        ("op.get_bind()", "raw use of the database connection"),
        ("conn = op.get_bind()", "op.get_bind()"),
        ("op.bulk_insert(TABLE, [])", "op.bulk_insert is not an operation the analyser knows"),
        ("helper(op)", "not an operation of Alembic's `op`"),
        ("op.add_column('task', COLUMN)", "not a literal sa.Column"),
        ("op.alter_column('task', 'note', postgresql_using='x')", "postgresql_using"),
        ("op.drop_column(TABLE, 'x')", "whose name is not a literal"),
    ],
)
def test_what_cannot_be_judged_is_review(body: str, says: str) -> None:
    analysis = analyse(body)
    assert analysis.verdict == Verdict.REVIEW
    assert any(says in item.reason for item in analysis.operations), analysis.operations


def test_operations_under_a_condition_are_review_and_still_judged() -> None:
    analysis = analyse(
        """
        if op.get_bind().dialect.server_version_info >= (13,):
            op.drop_column('task', 'note')
        """
    )
    condition, drop = analysis.operations
    assert condition.verdict == Verdict.REVIEW
    assert condition.reason.startswith("`if op.get_bind().dialect.server_version_info >= (13,)`")
    assert "op.get_bind()" in condition.reason
    assert drop.verdict == analysis.verdict == Verdict.TRICKY


def verdicts(analysis: FileAnalysis) -> list[tuple[str, Verdict]]:
    return [(item.operation, item.verdict) for item in analysis.operations]


BRANCHED = [("op.drop_column", Verdict.TRICKY), ("op.add_column", Verdict.ROUTINE)]


@pytest.mark.parametrize(
    "body",
    [
        """
        if op.get_bind().dialect.name == 'postgresql':
            op.drop_column('task', 'note')
        else:
            op.add_column('task', sa.Column('x', sa.Text()))
        """,
        """
        if op.get_bind().dialect.name != 'sqlite':
            op.drop_column('task', 'note')
        elif op.get_bind().dialect.name in ('sqlite', 'mysql'):
            op.add_column('task', sa.Column('x', sa.Text()))
        """,
        """
        bind = op.get_bind()
        if bind.dialect.name not in ['sqlite'] and not bind.dialect.name == 'mysql':
            op.drop_column('task', 'note')
        if 'sqlite' == bind.dialect.name:
            op.add_column('task', sa.Column('x', sa.Text()))
        """,
        """
        dialect = op.get_bind().dialect.name
        if dialect == 'postgresql' or dialect == 'oracle':
            op.drop_column('task', 'note')
        elif dialect == 'sqlite':
            op.add_column('task', sa.Column('x', sa.Text()))
        """,
        """
        bind = op.get_bind()
        dialect = bind.dialect.name
        if dialect == POSTGRESQL:
            op.drop_column('task', 'note')
        else:
            op.add_column('task', sa.Column('x', sa.Text()))
        """,
    ],
)
def test_a_branch_on_the_dialect_judges_every_branch_and_is_not_review(body: str) -> None:
    analysis = analyse_file(PATH, revision(body, prelude="POSTGRESQL = 'postgresql'"), history())
    assert verdicts(analysis) == BRANCHED
    assert analysis.verdict == Verdict.TRICKY


@pytest.mark.parametrize(
    ("body", "says"),
    [
        # The connection is also used to run something: that use, and the local, are review.
        (
            """
            bind = op.get_bind()
            if bind.dialect.name == 'postgresql':
                op.drop_column('task', 'note')
            bind.execute(sa.text('DELETE FROM task'))
            """,
            "`bind = op.get_bind()` in upgrade()",
        ),
        (
            """
            dialect = op.get_bind().dialect.name
            if dialect == 'postgresql':
                op.drop_column('task', 'note')
            dialect = 'sqlite'
            """,
            "`dialect = op.get_bind().dialect.name` in upgrade()",
        ),
        (
            """
            if op.get_bind().dialect.name == DIALECT:
                op.drop_column('task', 'note')
            """,
            "`if op.get_bind().dialect.name == DIALECT`",
        ),
        (
            """
            if op.get_bind().dialect.name.startswith('post'):
                op.drop_column('task', 'note')
            """,
            "`if op.get_bind().dialect.name.startswith('post')`",
        ),
        (
            """
            if op.get_bind().execute(sa.text('SELECT 1')).scalar():
                op.drop_column('task', 'note')
            """,
            "`if op.get_bind().execute(sa.text('SELECT 1')).scalar()`",
        ),
    ],
)
def test_other_uses_of_the_connection_in_a_condition_stay_review(body: str, says: str) -> None:
    # The same body on the dialect alone is not review (so the negatives are precise).
    plain = analyse(
        "if op.get_bind().dialect.name == 'postgresql':\n    op.drop_column('task', 'note')"
    )
    assert verdicts(plain) == [("op.drop_column", Verdict.TRICKY)]
    analysis = analyse_file(
        PATH, revision(body, prelude="from tasks.settings import DIALECT"), history()
    )
    # Tricky (the drop) outranks review in the file's verdict: the condition is shown.
    reviews = [item.reason for item in analysis.operations if item.verdict == Verdict.REVIEW]
    assert any(reason.startswith(says) for reason in reviews), reviews
    assert ("op.drop_column", Verdict.TRICKY) in verdicts(analysis)  # still judged


@pytest.mark.parametrize(
    ("prelude", "body", "says"),
    [
        ("SQL = 'DROP TABLE task'", "op.execute(SQL)", "runs `DROP TABLE`"),
        (
            "TABLE = 'task'\nWHAT: str = 'TABLE'",
            "op.execute(f'DROP {WHAT} {TABLE}')",
            "runs `DROP TABLE`",
        ),
        ("TABLE = 'task'", "op.execute('TRUNCATE ' + TABLE + ';')", "runs `TRUNCATE`"),
        (
            "TABLE = 'task'\nSQL = f'ALTER TABLE {TABLE} ' 'ALTER COLUMN note SET NOT NULL'",
            "op.execute(sa.text(SQL))",
            "SET NOT NULL",
        ),
        (
            "TABLE = 'task'\nCOLUMN = 'note'",
            "op.drop_column(TABLE, COLUMN)",
            "drops column task.note",
        ),
        (
            "COLUMN = sa.Column('x', sa.Integer(), nullable=False)",
            "op.add_column('task', COLUMN)",
            "adds NOT NULL Integer task.x without server_default",
        ),
    ],
)
def test_module_level_constants_are_their_value(prelude: str, body: str, says: str) -> None:
    analysis = analyse_file(PATH, revision(body, prelude=prelude), history())
    (finding,) = analysis.operations
    assert analysis.verdict == finding.verdict == Verdict.TRICKY, finding
    assert says in finding.reason


@pytest.mark.parametrize(
    "prelude",
    [
        "SQL = 'SELECT 1'\nSQL = 'DROP TABLE task'",  # rebound later
        "SQL = 'DROP TABLE task'\nSQL += ''",
        "SQL = 'DROP TABLE task'\ndef helper():\n    global SQL\n    SQL = 'SELECT 1'",
        "SQL = 'DROP TABLE task'\nfor SQL in ['SELECT 1']:\n    pass",
        "SQL = 'DROP TABLE task'\nglobals()['SQL'] = 'SELECT 1'",
        "import sys\nSQL = 'DROP TABLE task'\nsys.modules[__name__].SQL = 'SELECT 1'",
        "from tasks.sql import SQL",  # imported
        "SQL = 'drop table task'.upper()",  # computed
        "SQL = PREFIX + ' TABLE task'",  # built from an unknown name
        "SQL = f'DROP TABLE {TABLE!r}'\nTABLE = 'task'",  # converted, and used before assigned
        "SQL = 'DROP TABLE task' * 1",
    ],
)
def test_a_name_that_is_not_a_constant_stays_review(prelude: str) -> None:
    constant = analyse_file(
        PATH, revision("op.execute(SQL)", prelude="SQL = 'DROP TABLE task'"), history()
    )
    assert verdicts(constant) == [("op.execute", Verdict.TRICKY)]
    analysis = analyse_file(PATH, revision("op.execute(SQL)", prelude=prelude), history())
    assert verdicts(analysis) == [("op.execute", Verdict.REVIEW)]
    assert "SQL is not a literal string" in analysis.operations[0].reason


def test_a_name_rebound_inside_upgrade_is_not_the_constant() -> None:
    def judged(body: str) -> list[tuple[str, Verdict]]:
        return verdicts(
            analyse_file(PATH, revision(body, prelude="SQL = 'DROP TABLE task'"), history())
        )

    assert judged("op.execute(SQL)") == [("op.execute", Verdict.TRICKY)]
    assert judged("SQL = 'SELECT 1'\nop.execute(SQL)") == [
        ("(statement)", Verdict.REVIEW),
        ("op.execute", Verdict.REVIEW),
    ]


COLUMNS = """
COLUMNS = [
    sa.Column('x', sa.Text(), nullable=True),
    sa.Column('y', sa.Integer(), nullable=False),
]
"""


@pytest.mark.parametrize(
    ("iterable", "order"),
    [("COLUMNS", ["task.x", "task.y"]), ("reversed(COLUMNS)", ["task.y", "task.x"])],
)
def test_a_loop_over_a_constant_is_unrolled(iterable: str, order: list[str]) -> None:
    body = f"for column in {iterable}:\n    op.add_column('task', column)"
    analysis = analyse_file(PATH, revision(body, prelude=COLUMNS), history())
    assert [item.operation for item in analysis.operations] == ["op.add_column"] * 2
    assert [f"task.{item.field}" for item in analysis.operations] == order
    # y is NOT NULL without a server default: tricky, wherever it comes in the loop.
    tricky = [
        f"task.{item.field}" for item in analysis.operations if item.verdict == Verdict.TRICKY
    ]
    assert tricky == ["task.y"]
    assert analysis.verdict == Verdict.TRICKY


def test_a_loop_over_table_names_in_a_batch_block() -> None:
    analysis = analyse_file(
        PATH,
        revision(
            "with op.batch_alter_table('task') as batch:\n"
            "    for name in NAMES:\n"
            "        batch.drop_column(name)",
            prelude="NAMES = ('note', 'done')",
        ),
        history(),
    )
    assert verdicts(analysis) == [("batch.drop_column", Verdict.TRICKY)] * 2
    assert [item.field for item in analysis.operations] == ["note", "done"]


@pytest.mark.parametrize(
    ("prelude", "body"),
    [
        (COLUMNS, "for column in make_columns():\n    op.add_column('task', column)"),
        (COLUMNS, "for column in COLUMNS:\n    print(column)\n    op.add_column('task', column)"),
        (COLUMNS, "for column in COLUMNS:\n    op.add_column('task', column)\nelse:\n    pass"),
        (
            COLUMNS + "COLUMNS.append(sa.Column('z', sa.Text()))",
            "for column in COLUMNS:\n    op.add_column('task', column)",
        ),
        (
            COLUMNS + "def reversed(items):\n    return items[:1]",
            "for column in reversed(COLUMNS):\n    op.add_column('task', column)",
        ),
        ("COLUMNS = {'x', 'y'}", "for column in COLUMNS:\n    op.drop_column('task', column)"),
    ],
)
def test_any_other_loop_stays_review(prelude: str, body: str) -> None:
    unrolled = analyse_file(
        PATH,
        revision("for column in COLUMNS:\n    op.add_column('task', column)", prelude=COLUMNS),
        history(),
    )
    assert "(statement)" not in [item.operation for item in unrolled.operations]
    analysis = analyse_file(PATH, revision(body, prelude=prelude), history())
    (loop, *_) = (item for item in analysis.operations if item.operation == "(statement)")
    assert loop.verdict == Verdict.REVIEW
    assert loop.reason.startswith("a loop (`for column in")


def doubling(count: int, first: str, double: str) -> str:
    """`S0 = first`, then each constant twice the one before."""
    lines = [f"S0 = {first}"] + [
        f"S{index} = " + double.format(f"S{index - 1}") for index in range(1, count)
    ]
    return "\n".join(lines)


def test_constants_that_grow_without_bound_are_refused() -> None:
    def judged(prelude: str, body: str) -> list[tuple[str, Verdict]]:
        return verdicts(analyse_file(PATH, revision(body, prelude=prelude), history()))

    text = "'DROP TABLE task; '", "{0} + {0}"
    assert judged(doubling(4, *text), "op.execute(S3)") == [("op.execute", Verdict.TRICKY)]
    # Over 256 KiB of SQL from 40 lines: not a literal the analyser builds.
    assert judged(doubling(40, *text), "op.execute(S39)") == [("op.execute", Verdict.REVIEW)]
    # Tuples share their parts, but what they stand for doubles too: a constant that
    # expands past the file's bound on expressions is not a constant.
    assert judged(doubling(60, "'x'", "({0}, {0})"), "op.execute(S59)") == [
        ("op.execute", Verdict.REVIEW)
    ]


def test_a_column_unknown_to_the_history_is_review_unless_the_call_says_what_it_was() -> None:
    verdict, _, reason = only("op.alter_column('task', 'ghost', type_=sa.Text())")
    assert verdict == Verdict.REVIEW
    assert "not found in the earlier revisions" in reason
    verdict, _, reason = only(
        "op.alter_column('task', 'ghost', type_=sa.Text(), existing_type=sa.String(10))"
    )
    assert (verdict, "changes the type") == (Verdict.TRICKY, reason.split(" of ")[0])


def test_the_history_is_the_down_revision_chain() -> None:
    # 0002 added `owner`; a revision branching off 0001 does not have it.
    body = "op.alter_column('task', 'owner', nullable=False)"
    assert analyse(body).verdict == Verdict.TRICKY
    off_0001 = analyse_file(PATH, revision(body, down_revision='"0001"'), history())
    assert off_0001.verdict == Verdict.REVIEW
    without = analyse_file(PATH, revision(body), None)
    assert "no earlier revisions were available" in without.operations[0].reason


@pytest.mark.parametrize(
    ("kwargs", "warning"),
    [
        ({"docstring": ""}, "no module docstring"),
        ({"downgrade": ""}, "no downgrade()"),
        ({"downgrade": "def downgrade():\n    pass\n"}, "downgrade() does nothing"),
        ({"downgrade": 'def downgrade():\n    """Nothing."""\n'}, "downgrade() does nothing"),
    ],
)
def test_house_rules_warn_without_changing_the_verdict(
    kwargs: dict[str, str], warning: str
) -> None:
    analysis = analyse("op.add_column('task', sa.Column('x', sa.Text()))", **kwargs)
    assert analysis.verdict == Verdict.ROUTINE
    (text,) = analysis.warnings
    assert text.startswith(warning)


# Pieces of `upgrade()` bodies that combine into plausible and implausible operations.
METHODS = st.sampled_from(
    [
        "op.create_table",
        "op.drop_table",
        "op.rename_table",
        "op.add_column",
        "op.drop_column",
        "op.alter_column",
        "op.create_index",
        "op.drop_index",
        "op.create_unique_constraint",
        "op.create_check_constraint",
        "op.drop_constraint",
        "op.execute",
        "op.get_bind",
        "op.bulk_insert",
        "batch.add_column",
        "batch.alter_column",
        "batch.drop_column",
        "helper",
    ]
)
ATOMS = st.sampled_from(
    [
        "'task'",
        "'note'",
        "'title'",
        "'owner'",
        "None",
        "True",
        "False",
        "1",
        "[]",
        "['title']",
        "x",
        "lambda: 0",
        "f'{x}'",
        "*args",
        "**kw",
        "op.f('ix')",
        "sa.text('DROP TABLE task')",
        "sa.String(5)",
        "sa.Numeric(10, 2)",
        "sa.Text",
        "sa.Column('x', sa.Integer(), nullable=False)",
        "sa.Column('title', sa.String(length=5), server_default='a')",
        "sa.Column()",
    ]
)
KEYS = st.sampled_from(
    [
        "table_name",
        "type_",
        "nullable",
        "server_default",
        "new_column_name",
        "existing_type",
        "unique",
        "postgresql_concurrently",
        "column_name",
        "comment",
        "postgresql_using",
    ]
)


@st.composite
def calls(draw: st.DrawFn) -> str:
    args = [arg for arg in draw(st.lists(ATOMS, max_size=4)) if not arg.startswith("**")]
    kwargs = draw(st.lists(st.tuples(KEYS, ATOMS), max_size=3, unique_by=lambda pair: pair[0]))
    keyword = [f"{key}={value}" for key, value in kwargs if not value.startswith("*")]
    return f"{draw(METHODS)}({', '.join(args + keyword)})"


@st.composite
def bodies(draw: st.DrawFn) -> str:
    lines = []
    for call in draw(st.lists(calls(), max_size=6)):
        wrapper = draw(
            st.sampled_from(
                [
                    "",
                    "if x:",
                    "for c in x:",
                    "with op.batch_alter_table('task') as batch:",
                    "with op.batch_alter_table(x) as batch:",
                ]
            )
        )
        lines.append(f"{wrapper}\n    {call}" if wrapper else call)
    return "\n".join(lines) or "pass"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(), bodies())
def test_generated_revisions_never_raise(body: str, earlier: str) -> None:
    sources = history()
    sources["tasks/versions/0002_task_owner.py"] = (
        revision(earlier)
        .replace(b'revision = "0003"', b'revision = "0002"')
        .replace(b'down_revision = "0002"', b'down_revision = "0001"')
    )
    analysis = analyse_file(PATH, revision(body), sources)
    assert analysis.verdict in Verdict
    for finding in analysis.operations:
        assert finding.operation != "(file)", finding  # read as a revision, whatever it does
        assert "the analyser failed" not in finding.reason, finding
        assert "\n" not in finding.reason
