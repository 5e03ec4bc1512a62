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

Three common idioms are read for what they do instead: a branch on the backend's name
(`if op.get_bind().dialect.name == "sqlite":`) has every branch judged; a module-level
constant (a literal, bound once in the whole file) is its value, in f-strings and `+`
too; a loop over a list or tuple constant whose body is op calls is unrolled.
"""

from __future__ import annotations

import ast
import posixpath
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.migration_analysis.model import OperationFinding, Verdict
from bot.migration_analysis.reader import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    Call,
    DictValue,
    Ref,
    Unknown,
    Unreadable,
    Value,
    ValueReader,
    assigned_values,
    module_imports,
    parse,
    shorten_source,
)
from bot.migration_analysis.rules import Context, FileJudgement, file_advice, judge
from bot.migration_analysis.state import AppState, apply, dependencies_first

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
    assigned = assigned_values(tree.body)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    if "revision" not in assigned or "down_revision" not in assigned or "upgrade" not in functions:
        return None
    bindings = _bindings(tree)
    values = _RevisionValues(module_imports(tree), bindings)
    values.read_constants(tree)
    translator = _Translator(values, bindings)
    translator.upgrade(functions["upgrade"])
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


# --------------------------------------------------------------------------- constants

# Names that let a file rebind its module's names without an assignment the walk sees:
# where one appears, no module-level name is taken for a constant.
_REBINDERS = frozenset({"globals", "vars", "locals", "exec", "eval", "setattr", "__dict__"})
_REBOUND = "<globals>"  # counted in `_bindings` when one of them appears
# Each character of a resolved string costs this fraction of a node against MAX_NODES,
# so constants concatenated into ever longer strings stay bounded like any other value.
_CHARS_PER_NODE = 64


def _bindings(tree: ast.Module) -> Counter[str]:
    """How many times each name is bound anywhere in the file (assignments, loop and
    `with` targets, `del`, imports, definitions, parameters, handlers, patterns), and
    how many times it is mutated in place (`NAME.append(...)`, `NAME[0] = ...`): a
    module-level assignment is a constant only when it is its name's one binding."""
    names: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                names[node.id] += 1
            if node.id in _REBINDERS:
                names[_REBOUND] += 1
        elif isinstance(node, ast.Attribute):
            # A method or attribute of the value may change it (`COLUMNS.append(c)`).
            if isinstance(node.value, ast.Name):
                names[node.value.id] += 1
            if not isinstance(node.ctx, ast.Load):
                # `sys.modules[__name__].SQL = ...` rebinds the module's SQL.
                names[node.attr] += 1
            if node.attr in _REBINDERS:
                names[_REBOUND] += 1
        elif isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load):
            if isinstance(node.value, ast.Name):
                names[node.value.id] += 1
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] += 1
        elif isinstance(node, ast.arg):
            names[node.arg] += 1
        elif isinstance(node, ast.alias):
            names[(node.asname or node.name).split(".", 1)[0]] += 1
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names[node.name] += 1
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names[node.rest] += 1
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
    return names


def _is_literal(value: Value) -> bool:
    """A value a constant may hold: literals, tuples and dicts of them, names, and calls
    the reader understands (SQLAlchemy's, `op.f`) of those, without `*args`."""
    if isinstance(value, Unknown):
        return False
    if isinstance(value, tuple):
        return all(_is_literal(item) for item in value)
    if isinstance(value, DictValue):
        return all(_is_literal(key) and _is_literal(item) for key, item in value.items)
    if isinstance(value, Call):
        return (
            (value.name.startswith("sqlalchemy.") or value.name == OP + "f")
            and not value.starred
            and all(_is_literal(item) for item in value.args)
            and all(_is_literal(item) for _, item in value.kwargs)
        )
    return True


class _RevisionValues(ValueReader):
    """The value reader, knowing the revision's module-level constants (a name assigned
    a literal once at module level and bound nowhere else: what it holds when upgrade()
    runs is that literal) and the names upgrade() binds to known values (a loop's
    variable, unrolled). f-strings and `+` of known strings are the string they make."""

    def __init__(self, imports: dict[str, str], bindings: Counter[str]) -> None:
        super().__init__(imports)
        self.bindings = bindings
        self.constants: dict[str, Value] = {}
        # What each constant expands to, in nodes: counted again at each use.
        self.sizes: dict[str, int] = {}
        # Constants written as a list or tuple: a loop over one can be unrolled.
        self.sequences: set[str] = set()
        self.locals: dict[str, Value] = {}

    def read_constants(self, tree: ast.Module) -> None:
        """In the module's order, so a constant refers only to those assigned before it
        (as at import)."""
        for node in tree.body:
            if isinstance(node, ast.Assign):
                targets, expression = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, expression = [node.target], node.value
            else:
                continue
            names = [target.id for target in targets if isinstance(target, ast.Name)]
            if len(names) != len(targets) or any(self.bindings[name] != 1 for name in names):
                continue
            if self.bindings[_REBOUND]:
                continue
            before = self.nodes
            try:
                value = self.value(expression)
            except Unreadable:
                # Too big or deep to hold as a value: not a constant (its uses are
                # review), and what it cost is not held against the rest of the file.
                self.nodes = before
                continue
            if not _is_literal(value):
                continue
            for name in names:
                self.constants[name] = value
                self.sizes[name] = self.nodes - before
                if isinstance(expression, ast.List | ast.Tuple):
                    self.sequences.add(name)

    def count(self, nodes: int) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise Unreadable(f"the revision has over {MAX_NODES:,} expressions")

    def value(self, node: ast.expr, depth: int = 0) -> Value:
        if depth > MAX_DEPTH:
            raise Unreadable(f"the revision nests expressions over {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Name) and node.id in self.locals:
            self.count(1)
            return self.locals[node.id]
        if isinstance(node, ast.Name) and node.id in self.constants:
            self.count(self.sizes[node.id])
            return self.constants[node.id]
        if isinstance(node, ast.JoinedStr):
            self.count(1)
            parts: list[str] = []
            for part in node.values:
                item: Value
                if isinstance(part, ast.FormattedValue):
                    if part.conversion != -1 or part.format_spec is not None:
                        return Unknown(shorten_source(node))
                    item = self.value(part.value, depth + 1)
                    if isinstance(item, int) and not isinstance(item, bool):
                        item = str(item)
                else:
                    item = self.value(part, depth + 1)
                if not isinstance(item, str):
                    return Unknown(shorten_source(node))
                parts.append(item)
            return self.joined(node, "".join(parts))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            self.count(1)
            left = self.value(node.left, depth + 1)
            right = self.value(node.right, depth + 1)
            if isinstance(left, str) and isinstance(right, str):
                return self.joined(node, left + right)
        return super().value(node, depth)

    def joined(self, node: ast.expr, text: str) -> Value:
        if len(text) > MAX_BYTES:
            return Unknown(shorten_source(node))
        self.count(len(text) // _CHARS_PER_NODE)
        return text

    def builtin(self, node: ast.expr, name: str) -> bool:
        """`node` is the builtin `name`: not imported or bound in the file."""
        return isinstance(node, ast.Name) and node.id == name and self.bindings[name] == 0


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

    def __init__(self, reader: _RevisionValues, bindings: Counter[str]) -> None:
        self.reader = reader
        self.bindings = bindings
        self.steps: list[Step] = []
        # upgrade()'s `bind = op.get_bind()` and `dialect = bind.dialect.name`, when
        # used for nothing but tests of the dialect.
        self.binds: set[str] = set()
        self.dialects: set[str] = set()
        self.dialect_assignments: set[int] = set()

    def upgrade(self, function: ast.FunctionDef) -> None:
        self.dialect_locals(function)
        self.statements(function.body)

    def dialect_locals(self, function: ast.FunctionDef) -> None:
        """Find upgrade()'s `bind = op.get_bind()` and `dialect = bind.dialect.name`
        (or `op.get_bind().dialect.name`) assigned once at its top level, and keep those
        whose every use is in a test of the dialect: reading the backend's name runs
        nothing. A name used any other way (`bind.execute(...)`) is not kept, and its
        assignment is REVIEW as any use of the connection."""
        stores: Counter[str] = Counter(
            node.id
            for node in ast.walk(function)
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
        )
        for node in ast.walk(function):
            if isinstance(node, ast.Global | ast.Nonlocal):
                stores.update({name: 2 for name in node.names})
        binds: dict[str, ast.Assign] = {}
        dialects: dict[str, ast.Assign] = {}
        for statement in function.body:
            if not (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and stores[statement.targets[0].id] == 1
            ):
                continue
            name = statement.targets[0].id
            if self.is_get_bind(statement.value):
                binds[name] = statement
            elif self.is_dialect_name(statement.value, set(binds), set()):
                dialects[name] = statement
        while True:  # drop names used otherwise, and what was read from them
            allowed: set[int] = set()
            uses: Counter[str] = Counter()
            tests = [
                node.test
                for node in ast.walk(function)
                if isinstance(node, ast.If) and self.is_dialect_test(node.test, binds, dialects)
            ]
            tests += [statement.value for statement in dialects.values()]
            for test in tests:
                for inner in ast.walk(test):
                    if isinstance(inner, ast.Name) and (inner.id in binds or inner.id in dialects):
                        allowed.add(id(inner))
                        uses[inner.id] += 1
            misused = {
                node.id
                for node in ast.walk(function)
                if isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Load)
                and (node.id in binds or node.id in dialects)
                and id(node) not in allowed
            }
            misused |= {name for name in (*binds, *dialects) if not uses[name]}
            misused |= {
                name
                for name, statement in dialects.items()
                if not self.is_dialect_name(statement.value, set(binds), set())
            }
            if not misused:
                break
            for name in misused:
                binds.pop(name, None)
                dialects.pop(name, None)
        self.binds, self.dialects = set(binds), set(dialects)
        self.dialect_assignments = {id(item) for item in (*binds.values(), *dialects.values())}

    def is_get_bind(self, node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Call)
            and not node.args
            and not node.keywords
            and self.reader.dotted(node.func) == OP + "get_bind"
        )

    def is_dialect_name(
        self, node: ast.expr, binds: Iterable[str], dialects: Iterable[str]
    ) -> bool:
        """`op.get_bind().dialect.name`, `bind.dialect.name` or a `dialect` local."""
        if isinstance(node, ast.Name):
            return node.id in dialects
        if not (
            isinstance(node, ast.Attribute)
            and node.attr == "name"
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "dialect"
        ):
            return False
        connection = node.value.value
        return self.is_get_bind(connection) or (
            isinstance(connection, ast.Name) and connection.id in binds
        )

    def is_dialect_test(
        self, node: ast.expr, binds: Iterable[str], dialects: Iterable[str]
    ) -> bool:
        """A condition on the database backend's name only, compared with literals:
        `==`, `!=`, `in`, `not in`, and `and`/`or`/`not` of such."""
        if isinstance(node, ast.BoolOp):
            return all(self.is_dialect_test(item, binds, dialects) for item in node.values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.is_dialect_test(node.operand, binds, dialects)
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            return False
        (operator,), left, right = node.ops, node.left, node.comparators[0]
        if isinstance(operator, ast.Eq | ast.NotEq):
            if self.is_dialect_name(right, binds, dialects):
                left, right = right, left
            return self.is_dialect_name(left, binds, dialects) and isinstance(
                self.reader.value(right), str
            )
        if isinstance(operator, ast.In | ast.NotIn):
            names = self.reader.value(right)
            return (
                self.is_dialect_name(left, binds, dialects)
                and isinstance(names, tuple)
                and all(isinstance(item, str) for item in names)
            )
        return False

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
            if id(statement) in self.dialect_assignments:
                continue  # `bind = op.get_bind()` only ever asked for its dialect
            if isinstance(statement, ast.If) and self.is_dialect_test(
                statement.test, self.binds, self.dialects
            ):
                # A branch on the backend: each branch runs on some database, so every
                # branch's operations are judged, and the condition itself runs nothing.
                self.statements(statement.body, batch)
                self.statements(statement.orelse, batch)
                continue
            if isinstance(statement, ast.For) and self.unrolled(statement, batch):
                continue
            self.other(statement, batch)

    def unrolled(self, loop: ast.For, batch: tuple[str, str] | None) -> bool:
        """`for x in CONST:` (or `reversed(CONST)`) over a module-level list or tuple
        constant, whose body is only operation calls: judged as the calls written out
        once per element. False (REVIEW, as any loop) for anything else."""
        iterable, backwards = loop.iter, False
        if (
            isinstance(iterable, ast.Call)
            and self.reader.builtin(iterable.func, "reversed")
            and len(iterable.args) == 1
            and not iterable.keywords
        ):
            iterable, backwards = iterable.args[0], True
        if (
            not isinstance(iterable, ast.Name)
            or iterable.id not in self.reader.sequences
            or iterable.id in self.reader.locals
            or not isinstance(loop.target, ast.Name)
            or loop.orelse
            or not all(self.is_operation_call(statement, batch) for statement in loop.body)
        ):
            return False
        elements = self.reader.constants[iterable.id]
        if not isinstance(elements, tuple):  # pragma: no cover - sequences are tuples
            return False
        name = loop.target.id
        for element in reversed(elements) if backwards else elements:
            self.reader.locals[name] = element
            try:
                self.statements(loop.body, batch)
            finally:
                del self.reader.locals[name]
        return True

    def is_operation_call(self, statement: ast.stmt, batch: tuple[str, str] | None) -> bool:
        if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
            return False
        func = statement.value.func
        if (
            batch is not None
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == batch[0]
        ):
            return True
        name = self.reader.dotted(func)
        return name is not None and name.startswith(OP) and name.count(".") == 2

    def other(self, statement: ast.stmt, batch: tuple[str, str] | None) -> None:
        """Anything but an operation call: REVIEW, and the operations inside it judged
        (a column dropped under a condition is still dropped on some database)."""
        text = shorten_source(statement)
        connection = (
            " (op.get_bind(): raw use of the database connection, cannot tell what it runs)"
            if self.uses_connection(statement)
            else ""
        )
        if isinstance(statement, ast.If):
            condition = shorten_source(statement.test)
            why = f"`if {condition}`: which operations run depends on a condition"
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
                self.steps.append(_review("(call)", f"`{shorten_source(node)}`: {why}"))
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

    def known(names: Sequence[str]) -> list[str]:
        found = [name for name in names if name in earlier]
        if len(found) < len(names):
            state.has_history = False
        return found

    order = dependencies_first(
        known(revision.down_revisions), lambda name: known(earlier[name].down_revisions)
    )
    for name in order:
        for step in earlier[name].steps:
            for call in step.operations(state):
                apply(state, call, new=False)
    return state
