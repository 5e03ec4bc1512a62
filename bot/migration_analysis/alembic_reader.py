"""Reading an Alembic revision file as data, with `ast` and nothing else, and judging it
by the Django rules (docs/adr/0023-alembic-migrations-analysed.md).

Like `reader` for Django migrations, nothing from the file is imported, executed or
evaluated: it is parsed with the same bounds (`reader.parse`) and its values are read
with the same value reader. A revision is recognised by its module-level `revision` and
`down_revision` assignments and its `def upgrade()`.

Each `op.*` call in `upgrade()` (and each `batch.*` call in a
`with op.batch_alter_table(...) as batch:` block) is translated into the Django
operation that does the same to the schema (`op.add_column` is an `AddField`, a column
is a field whose class is its SQLAlchemy type, a table is a model named like its table),
and judged by `rules.judge` against the tables the earlier revisions created. What has
no Django counterpart (the connection from `op.get_bind()`, a condition or loop around
operations, an unknown `op` method) is answered REVIEW here, saying why.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from bot.migration_analysis.model import OperationFinding, Verdict
from bot.migration_analysis.reader import (
    Call,
    Ref,
    Unknown,
    Value,
    _imports,
    _shorten,
    _ValueReader,
    parse,
)
from bot.migration_analysis.rules import Context, FileJudgement, file_advice, judge
from bot.migration_analysis.state import AppState, apply

OP = "alembic.op."
_DJANGO = "django.db.migrations."
# Where the translated operations are shown, Django's words become Alembic's. The
# verdicts are the rules'; only these phrases of their reasons and advice differ.
_WORDS = (
    ("creates model ", "creates table "),
    ("deletes model ", "drops table "),
    ("renames model ", "renames table "),
    ("RenameModel with names", "a table rename with names"),
    ("a model created in this change", "a table created in this change"),
    (
        "without db_default to an existing table: Django drops the default after adding "
        "the column, so the old code's inserts fail",
        "without server_default to an existing table: the old code's inserts do not set "
        "it and fail",
    ),
    ("db_default", "server_default"),
    ("use AddIndexConcurrently", "use postgresql_concurrently=True"),
    ("RunSQL whose SQL", "SQL"),
    (" with reverse_sql", ""),
    ("RunSQL `", "runs `"),
    ("the app's earlier migrations", "the earlier revisions"),
    ("earlier migrations", "earlier revisions"),
    (", or keep the database name with db_column/db_table", ""),
)
# Column keywords that are properties of the column, not of its type.
_COLUMN_KWARGS = ("null", "db_default", "unique", "primary_key", "db_index")
# Column keywords kept in Python or the catalogue only: no schema the old code depends on.
_IGNORED_COLUMN_KWARGS = frozenset(
    {"default", "onupdate", "comment", "doc", "info", "key", "quote", "autoincrement"}
)
# Types whose first positional argument is a length (max_length, for the rules).
_LENGTH_TYPES = frozenset({"String", "Unicode", "VARCHAR", "CHAR", "NVARCHAR", "NCHAR"})
_NUMERIC_TYPES = frozenset({"Numeric", "NUMERIC", "DECIMAL"})
# alter_column keywords this module reads; any other is answered REVIEW.
_ALTER_KWARGS = frozenset(
    {
        "table_name",
        "column_name",
        "type_",
        "nullable",
        "server_default",
        "new_column_name",
        "existing_type",
        "existing_nullable",
        "existing_server_default",
        "existing_comment",
        "comment",
        "schema",
    }
)
# Positional parameters of the op methods translated (`op.create_table` takes its
# columns after the table name). In a batch block, `table_name` is the block's.
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "create_table": ("table_name",),
    "drop_table": ("table_name",),
    "rename_table": ("old_table_name", "new_table_name"),
    "add_column": ("table_name", "column"),
    "drop_column": ("table_name", "column_name"),
    "alter_column": ("table_name", "column_name"),
    "create_index": ("index_name", "table_name", "columns"),
    "drop_index": ("index_name", "table_name"),
    "create_unique_constraint": ("constraint_name", "table_name", "columns"),
    "create_check_constraint": ("constraint_name", "table_name", "condition"),
    "drop_constraint": ("constraint_name", "table_name"),
    "execute": ("sqltext",),
}
_NOT_IN_BATCH = frozenset({"create_table", "drop_table", "rename_table", "execute"})


def is_revision_path(path: str) -> bool:
    """`<anything>/versions/<name>.py`, where Alembic keeps revisions (not `__init__.py`
    nor names starting with `_` or `~`)."""
    directory, name = posixpath.split(path.replace("\\", "/"))
    return (
        posixpath.basename(directory) == "versions"
        and name.endswith(".py")
        and not name.startswith(("_", "~"))
    )


def looks_like_revision(source: bytes) -> bool:
    """A cheap test before parsing: the markers' words are in the file."""
    return b"down_revision" in source and b"def upgrade" in source


@dataclass(frozen=True)
class AlterColumn:
    """`alter_column`: Alembic writes the changes only, Django's AlterField the whole new
    definition; the previous one comes from the state when judged."""

    table: str
    column: str
    changes: tuple[tuple[str, Value], ...]  # type_, nullable, server_default given
    existing: tuple[tuple[str, Value], ...]  # existing_type, existing_nullable...
    new_name: str | None

    def operations(self, state: AppState) -> tuple[Call, ...]:
        changes, existing = dict(self.changes), dict(self.existing)
        calls = []
        if changes:
            previous = state.field(self.table, self.column)
            if previous is None and "existing_type" in existing:
                # Not in the earlier revisions read, but the call says what it was.
                known = _field(
                    existing["existing_type"],
                    existing.get("existing_nullable", True),
                    existing.get("existing_server_default"),
                )
                apply(
                    state,
                    _django("AddField", model_name=self.table, name=self.column, field=known),
                    new=False,
                )
                previous = known
            calls.append(
                _django(
                    "AlterField",
                    model_name=self.table,
                    name=self.column,
                    field=_altered(previous, changes),
                )
            )
        if self.new_name is not None:
            calls.append(
                _django(
                    "RenameField",
                    model_name=self.table,
                    old_name=self.column,
                    new_name=self.new_name,
                )
            )
        return tuple(calls)


@dataclass(frozen=True)
class Step:
    """One thing `upgrade()` does, shown as written (`op.add_column`): a Django
    operation for the rules, an `AlterColumn`, or a finding made here."""

    written: str
    operation: Call | AlterColumn | None = None
    finding: OperationFinding | None = None

    def operations(self, state: AppState) -> tuple[Call, ...]:
        if isinstance(self.operation, AlterColumn):
            return self.operation.operations(state)
        return () if self.operation is None else (self.operation,)


@dataclass(frozen=True)
class Revision:
    docstring: str | None
    revision: str | None
    down_revisions: tuple[str, ...]
    steps: tuple[Step, ...]
    # Why the downgrade cannot roll this revision back (a house-rule warning), or None.
    downgrade_problem: str | None


def read_revision(source: bytes) -> Revision | None:
    """Read an Alembic revision; None when the file has not a revision's markers.
    Raises `reader.Unreadable` for a file that cannot be parsed at all."""
    tree = parse(source)
    assigned: dict[str, ast.expr] = {}
    functions: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.value is not None:
                assigned[node.target.id] = node.value
        elif isinstance(node, ast.FunctionDef):
            functions[node.name] = node
    if "revision" not in assigned or "down_revision" not in assigned or "upgrade" not in functions:
        return None
    translator = _Translator(_ValueReader(_imports(tree)))
    translator.statements(functions["upgrade"].body)
    revision = translator.reader.value(assigned["revision"])
    down = translator.reader.value(assigned["down_revision"])
    downs = down if isinstance(down, tuple) else (down,)
    return Revision(
        docstring=ast.get_docstring(tree, clean=False),
        revision=revision if isinstance(revision, str) else None,
        down_revisions=tuple(item for item in downs if isinstance(item, str)),
        steps=tuple(translator.steps),
        downgrade_problem=_downgrade_problem(functions.get("downgrade")),
    )


def _downgrade_problem(function: ast.FunctionDef | None) -> str | None:
    if function is None:
        return (
            "no downgrade(): the revision cannot be rolled back (house rule: write one, "
            "or say in it why it cannot undo the upgrade)"
        )
    if all(
        isinstance(node, ast.Pass)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in function.body
    ):
        return (
            "downgrade() does nothing: the revision cannot be rolled back (house rule: undo "
            "the upgrade, or say why it cannot)"
        )
    return None


# --------------------------------------------------------------------------- translation


def _django(operation: str, **kwargs: Value) -> Call:
    return Call(name=_DJANGO + operation, kwargs=tuple(kwargs.items()))


def _unwrap(value: Value) -> Value:
    """`op.f("name")` (a naming-convention marker) and `sa.text("sql")` are their string."""
    if (
        isinstance(value, Call)
        and (
            value.name == OP + "f"
            or (value.name.startswith("sqlalchemy.") and value.short == "text")
        )
        and len(value.args) == 1
        and not value.kwargs
    ):
        return value.args[0]
    return value


def _field(type_: Value, nullable: Value, server_default: Value) -> Call:
    """A column as the rules read a field: its class is the SQLAlchemy type, its
    keywords the type's (length as max_length...) and the column's (null, db_default)."""
    kind = Call(type_.name) if isinstance(type_, Ref) else type_
    if not isinstance(kind, Call):
        kind = Call("sqlalchemy.Column")  # no type written: SQLAlchemy derives one
    args, kwargs = list(kind.args), dict(kind.kwargs)
    renames = {"length": "max_length", "precision": "max_digits", "scale": "decimal_places"}
    kwargs = {renames.get(key, key): value for key, value in kwargs.items()}
    positional: tuple[str, ...] = ()
    if kind.short in _LENGTH_TYPES:
        positional = ("max_length",)
    elif kind.short in _NUMERIC_TYPES:
        positional = ("max_digits", "decimal_places")
    for key in positional:
        if args:
            kwargs.setdefault(key, args.pop(0))
    kwargs["null"] = nullable
    if server_default is not None and server_default is not False:
        kwargs["db_default"] = server_default
    return Call(name=kind.name, args=tuple(args), kwargs=tuple(kwargs.items()))


def _column(value: Value) -> tuple[str, Call] | None:
    """`sa.Column("name", sa.String(20), nullable=False)`: its name and field."""
    if not isinstance(value, Call) or value.short != "Column" or value.starred:
        return None
    if not value.name.startswith("sqlalchemy."):
        return None
    bound = value.bind("name", "type_")
    name = bound.get("name")
    if not isinstance(name, str):
        return None
    primary = bound.get("primary_key", False)
    nullable = bound.get("nullable", not primary if isinstance(primary, bool) else None)
    field = _field(bound.get("type_"), nullable, bound.get("server_default"))
    extra = {
        key: item
        for key, item in value.kwargs
        if key not in ("name", "type_", "nullable", "server_default")
        and key not in _IGNORED_COLUMN_KWARGS
    }
    if "index" in extra:
        extra["db_index"] = extra.pop("index")
    return name, replace(field, kwargs=field.kwargs + tuple(extra.items()))


def _altered(previous: Value, changes: dict[str, Value]) -> Call:
    """The column's definition after alter_column's changes (type, NULL, default)."""
    if not isinstance(previous, Call):
        type_ = changes.get("type_")
        return _field(type_, changes.get("nullable", True), changes.get("server_default"))
    kwargs = dict(previous.kwargs)
    name, args = previous.name, previous.args
    if "type_" in changes:
        kind = _field(changes["type_"], None, None)
        name, args = kind.name, kind.args
        kwargs = {key: value for key, value in kwargs.items() if key in _COLUMN_KWARGS}
        kwargs.update((key, value) for key, value in kind.kwargs if key != "null")
    if "nullable" in changes:
        kwargs["null"] = changes["nullable"]
    if "server_default" in changes:
        default = changes["server_default"]
        if default is None or default is False:
            kwargs.pop("db_default", None)
        else:
            kwargs["db_default"] = default
    return Call(name=name, args=args, kwargs=tuple(kwargs.items()))


def _review(written: str, reason: str) -> Step:
    return Step(written, finding=OperationFinding(written, None, None, Verdict.REVIEW, reason))


class _Translator:
    """Walks `upgrade()`'s statements into `Step`s."""

    def __init__(self, reader: _ValueReader) -> None:
        self.reader = reader
        self.steps: list[Step] = []

    def uses_connection(self, node: ast.AST) -> bool:
        return any(
            isinstance(inner, ast.Call) and self.reader.dotted(inner.func) == OP + "get_bind"
            for inner in ast.walk(node)
        )

    def statements(self, body: Iterable[ast.stmt], batch: tuple[str, str] | None = None) -> None:
        for statement in body:
            if isinstance(statement, ast.Pass) or (
                isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            ):
                continue
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                self.call(statement.value, batch)
                continue
            if isinstance(statement, ast.With) and self.batch_block(statement):
                continue
            self.other(statement, batch)

    def other(self, statement: ast.stmt, batch: tuple[str, str] | None) -> None:
        """Anything but an operation call: REVIEW, and the operations inside it judged
        (a column dropped under a condition is still dropped on some database)."""
        text = _shorten(statement)
        connection = (
            " (op.get_bind(): raw use of the database connection, cannot tell what it runs)"
            if self.uses_connection(statement)
            else ""
        )
        if isinstance(statement, ast.If):
            why = f"`if {_shorten(statement.test)}`: which operations run depends on a condition"
        elif isinstance(statement, ast.For | ast.AsyncFor | ast.While):
            why = f"a loop (`{text}`): how many times its operations run cannot be told"
        else:
            why = f"`{text}` in upgrade(): not an operation call, cannot tell what it does"
        self.steps.append(_review("(statement)", why + connection))
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(statement, name, None)
            if isinstance(inner, list):
                self.statements(inner, batch)
        for handler in getattr(statement, "handlers", []):
            self.statements(handler.body, batch)

    def batch_block(self, statement: ast.With) -> bool:
        """`with op.batch_alter_table("t") as batch:`: its body's `batch.*` calls are
        operations on table t. False for any other `with`."""
        if len(statement.items) != 1:
            return False
        item = statement.items[0]
        call = item.context_expr
        if (
            not isinstance(call, ast.Call)
            or self.reader.dotted(call.func) != OP + "batch_alter_table"
        ):
            return False
        value = self.reader.value(call)
        table = value.bind("table_name").get("table_name") if isinstance(value, Call) else None
        if not isinstance(table, str) or not isinstance(item.optional_vars, ast.Name):
            self.steps.append(
                _review("op.batch_alter_table", "a batch whose table name is not a literal")
            )
            self.statements(statement.body)
            return True
        self.statements(statement.body, (item.optional_vars.id, table))
        return True

    def call(self, node: ast.Call, batch: tuple[str, str] | None) -> None:
        func = node.func
        if (
            batch is not None
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == batch[0]
        ):
            method, written, table = func.attr, f"batch.{func.attr}", batch[1]
        else:
            name = self.reader.dotted(func)
            if name is None or not name.startswith(OP) or name.count(".") != 2:
                why = (
                    "raw use of the database connection from op.get_bind(), cannot tell what "
                    "it runs"
                    if self.uses_connection(node)
                    else "not an operation of Alembic's `op`, cannot tell what it does"
                )
                self.steps.append(_review("(call)", f"`{_shorten(node)}`: {why}"))
                return
            method, written, table = name[len(OP) :], f"op.{name[len(OP) :]}", None
        value = self.reader.value(node)
        if not isinstance(value, Call):  # pragma: no cover - a call reads as a Call
            return
        self.steps.append(self.operation(method, written, value, table))

    def operation(self, method: str, written: str, call: Call, table: str | None) -> Step:
        if method == "get_bind":
            return _review(written, "raw use of the database connection: cannot tell what it runs")
        params = _SIGNATURES.get(method)
        if params is None or (table is not None and method in _NOT_IN_BATCH):
            return _review(
                written,
                f"{written} is not an operation the analyser knows: cannot tell what it does",
            )
        if call.starred:
            return _review(written, f"{written} is called with *args/**kwargs: cannot read them")
        if table is not None:
            params = tuple(param for param in params if param != "table_name")
        args = {key: _unwrap(value) for key, value in call.bind(*params).items()}
        if table is not None:
            args["table_name"] = table
        target = args.get("table_name")
        if method not in ("execute", "rename_table") and not isinstance(target, str):
            return _review(written, f"{written} on a table whose name is not a literal")
        return self.translate(method, written, args, call)

    def translate(self, method: str, written: str, args: dict[str, Value], call: Call) -> Step:
        table = _text(args.get("table_name"))
        if method == "create_table":
            columns = tuple(column for column in map(_column, call.args[1:]) if column is not None)
            return Step(written, _django("CreateModel", name=table, fields=columns))
        if method == "drop_table":
            return Step(written, _django("DeleteModel", name=table))
        if method == "rename_table":
            old, new = args.get("old_table_name"), args.get("new_table_name")
            return Step(written, _django("RenameModel", old_name=old, new_name=new))
        if method == "add_column":
            column = _column(args.get("column"))
            if column is None:
                return _review(
                    written,
                    f'adds to {table} a column that is not a literal sa.Column("name", type, '
                    f"...) (`{_show(args.get('column'))}`): cannot read it",
                )
            return Step(
                written, _django("AddField", model_name=table, name=column[0], field=column[1])
            )
        if method == "drop_column":
            return Step(
                written, _django("RemoveField", model_name=table, name=args.get("column_name"))
            )
        if method == "alter_column":
            return self.alter_column(written, args, call)
        if method in ("create_index", "create_unique_constraint", "create_check_constraint"):
            return self.index(method, written, args)
        if method == "drop_index":
            concurrently = args.get("postgresql_concurrently") is True
            operation = "RemoveIndexConcurrently" if concurrently else "RemoveIndex"
            return Step(written, _django(operation, model_name=table, name=args.get("index_name")))
        if method == "drop_constraint":
            return Step(
                written,
                _django("RemoveConstraint", model_name=table, name=args.get("constraint_name")),
            )
        # execute: Alembic has no per-operation reverse; downgrade() is the reverse (and
        # a missing one is its own warning), so the SQL is judged as a reversible RunSQL.
        return Step(written, _django("RunSQL", sql=args.get("sqltext"), reverse_sql="downgrade()"))

    def alter_column(self, written: str, args: dict[str, Value], call: Call) -> Step:
        table, column = _text(args.get("table_name")), args.get("column_name")
        unknown = sorted(key for key in args if key not in _ALTER_KWARGS)
        if unknown:
            return _review(
                written,
                f"alters {table}.{_show(column)} with {', '.join(unknown)}: the analyser does not "
                "know what that changes",
            )
        new_name = args.get("new_column_name")
        if not isinstance(column, str) or not (new_name is None or isinstance(new_name, str)):
            return _review(written, f"alters a column of {table} whose name is not a literal")
        changes = tuple(
            (key, args[key]) for key in ("type_", "nullable", "server_default") if key in args
        )
        if not changes and new_name is None:
            return Step(
                written,
                finding=OperationFinding(
                    written,
                    table,
                    column,
                    Verdict.ROUTINE,
                    f"alters {table}.{column} without a schema change (its comment only)",
                ),
            )
        existing = tuple((key, value) for key, value in args.items() if key.startswith("existing_"))
        return Step(written, AlterColumn(table, column, changes, existing, new_name))

    def index(self, method: str, written: str, args: dict[str, Value]) -> Step:
        table = _text(args.get("table_name"))
        name = args.get("index_name", args.get("constraint_name"))
        columns = args.get("columns")
        unique = args.get("unique", False)
        if unique not in (True, False, None):
            return _review(written, f"an index on {table} whose `unique` is not a literal")
        if method == "create_check_constraint":
            constraint = _django_model(
                "CheckConstraint", name=name, condition=args.get("condition")
            )
            return Step(written, _django("AddConstraint", model_name=table, constraint=constraint))
        if method == "create_unique_constraint" or unique:
            # A unique index is Django's UniqueConstraint: rows may violate it.
            constraint = _django_model("UniqueConstraint", name=name, fields=columns)
            return Step(written, _django("AddConstraint", model_name=table, constraint=constraint))
        concurrently = args.get("postgresql_concurrently") is True
        operation = "AddIndexConcurrently" if concurrently else "AddIndex"
        index = _django_model("Index", name=name, fields=columns)
        return Step(written, _django(operation, model_name=table, index=index))


def _django_model(kind: str, **kwargs: Value) -> Call:
    return Call(name="django.db.models." + kind, kwargs=tuple(kwargs.items()))


def _text(value: Value) -> str:
    return value if isinstance(value, str) else "?"


def _show(value: Value) -> str:
    if isinstance(value, Unknown):
        return value.text
    if isinstance(value, Ref):
        return value.name.rsplit(".", 1)[-1]
    if isinstance(value, Call):
        return f"{value.short}(...)"
    return repr(value)[:40]


# --------------------------------------------------------------------------- judging


class TableState(AppState):
    """The database's tables as models: a table is named as itself (no app prefix)."""

    def default_table(self, name: str) -> str:
        return name


def words(text: str) -> str:
    for django, alembic in _WORDS:
        text = text.replace(django, alembic)
    return text


def judge_revision(revision: Revision, state: AppState) -> FileJudgement:
    """Judge `upgrade()`'s steps in order against `state` (the tables before it)."""
    judgement = FileJudgement()
    if not (revision.docstring or "").strip():
        judgement.warnings.append(
            "no module docstring: say what this revision does and why the previous release "
            "keeps working (house rule)"
        )
    if revision.downgrade_problem:
        judgement.warnings.append(revision.downgrade_problem)
    state.mark_start()
    django_findings: list[OperationFinding] = []
    operations: list[Call] = []
    for step in revision.steps:
        if step.finding is not None:
            judgement.findings.append(step.finding)
            continue
        calls = step.operations(state)
        for index, call in enumerate(calls):
            context = Context(state=state, later=calls[index + 1 :])
            for finding in judge(call, context):
                django_findings.append(finding)
                judgement.findings.append(
                    replace(finding, operation=step.written, reason=words(finding.reason))
                )
            apply(state, call, new=True)
            operations.append(call)
    advice = file_advice(django_findings, tuple(operations), None)
    judgement.advice.extend(words(item) for item in advice)
    return judgement


def rebuild_tables(revision: Revision, earlier: Mapping[str, Revision]) -> TableState:
    """The tables as the revisions before this one (its `down_revision` chain, oldest
    first, merges included) left them. `has_history` is False when the chain names a
    revision that is not there."""
    state = TableState(label="")
    order: list[str] = []
    seen: set[str] = set()
    pending: list[tuple[str, bool]] = [(name, False) for name in reversed(revision.down_revisions)]
    while pending:
        name, finished = pending.pop()
        if finished:
            order.append(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        if name not in earlier:
            state.has_history = False
            continue
        pending.append((name, True))
        pending.extend((parent, False) for parent in reversed(earlier[name].down_revisions))
    for name in order:
        for step in earlier[name].steps:
            for call in step.operations(state):
                apply(state, call, new=False)
    return state
