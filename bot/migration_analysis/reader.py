"""Reading a Django migration file as data, with `ast` and nothing else.

A pull request's migration is untrusted code. This module parses it (never imports,
executes or evaluates it: no `exec`, no `eval`, not even `ast.literal_eval`, whose input
could still be made expensive) and turns the `Migration` class into plain values:

* `Call`: a call as written (`models.CharField(max_length=20)`), with the callee's dotted
  name resolved through the file's imports, its positional and keyword arguments;
* `Ref`: a name or attribute (`forwards`, `migrations.RunPython.noop`), resolved the same way;
* `Unknown`: anything else (lambdas, arithmetic, f-strings...), kept as short source text.

Literals (strings, numbers, booleans, None, lists, tuples, sets, dicts) become Python
values built here by walking the tree, so nothing in the file decides what runs.

The file is bounded before parsing (size, NUL bytes, UTF-8) and while its values are read
(depth and number of nodes): anything outside the bounds raises `Unreadable` with a
reason a person can act on. Only the `Migration` class's attributes are walked: the
rest of the module (RunPython functions, helpers) is parsed and never looked at.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Union

# A migration makemigrations writes is a few kilobytes, a big app's initial or squashed
# migration some tens. The bound is about memory: `ast.parse` builds every node of the
# file before anything can be looked at, some 0.6 KB per token, so 256 KiB of the
# densest code (`f(1,2)` lines) costs up to 2 s and 140 MB; 1 MB would cost four times
# that in a work process. A larger file is answered "review" with its size.
MAX_BYTES = 256 * 1024
# Bounds on the expressions read as values (the Migration class's attributes): generous
# for real migrations (nested field options reach depth ~10; a squashed migration of a
# big app has some tens of thousands of nodes) and far below what would make the
# recursive conversion overflow. The parser's own limits bound the rest of the file.
MAX_DEPTH = 100
MAX_NODES = 200_000
# Unknown expressions are quoted in reasons: keep them one short line.
_UNKNOWN_TEXT = 60


class Unreadable(Exception):
    """The file cannot be read as a migration; the message says why, for a person."""


@dataclass(frozen=True)
class Ref:
    """A name or attribute chain, e.g. `migrations.RunPython.noop`, resolved through the
    file's imports to `django.db.migrations.RunPython.noop`."""

    name: str

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Unknown:
    """An expression that is not a literal, name or call: kept as (shortened) source."""

    text: str


@dataclass(frozen=True)
class Call:
    """A call as written. `name` is the callee's dotted name resolved through imports
    (`django.db.models.CharField`), or as written when it is not imported."""

    name: str
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()
    # `*args` / `**kwargs` in the call: some arguments cannot be known.
    starred: bool = False

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def kwarg(self, key: str, default: Value = None) -> Value:
        for name, value in self.kwargs:
            if name == key:
                return value
        return default

    def has(self, key: str) -> bool:
        return any(name == key for name, _ in self.kwargs)

    def bind(self, *params: str) -> dict[str, Value]:
        """The arguments by parameter name, for a callee whose positional parameters are
        `params` (Django's documented signatures); absent arguments are absent."""
        bound: dict[str, Value] = dict(zip(params, self.args, strict=False))
        bound.update(self.kwargs)
        return bound


@dataclass(frozen=True)
class DictValue:
    """A dict literal, kept as ordered pairs (its keys need not be hashable values)."""

    items: tuple[tuple[Value, Value], ...]

    def get(self, key: str) -> Value:
        for name, value in self.items:
            if name == key:
                return value
        return None

    def has(self, key: str) -> bool:
        return any(name == key for name, _ in self.items)


Value = Union[  # noqa: UP007 (a recursive alias: the `|` form cannot name itself here)
    None, bool, int, float, complex, str, bytes, tuple["Value", ...], DictValue, Call, Ref, Unknown
]


@dataclass(frozen=True)
class MigrationFile:
    """What a migration file says, as data."""

    docstring: str | None
    # (app_label, migration_name) pairs; a non-literal entry is left out.
    dependencies: tuple[tuple[str, str], ...]
    # None when `operations` is missing or not a literal list/tuple.
    operations: tuple[Value, ...] | None
    # Why `operations` could not be read (operations is None), or why the literal list
    # read may not be all of them (operations is not None).
    operations_problem: str | None = None
    replaces: tuple[tuple[str, str], ...] = ()
    initial: bool = False
    imports: dict[str, str] = field(default_factory=dict)


# Names a migration uses without importing them when it relies on a star import, and the
# fallbacks for files that forgot an import (Django would fail to load them, but the
# intent is clear and judging it is more useful than refusing).
_IMPLICIT = {
    "migrations": "django.db.migrations",
    "models": "django.db.models",
}


def parse(source: bytes) -> ast.Module:
    """Parse bounded, UTF-8 source; raise `Unreadable` for anything else."""
    if len(source) > MAX_BYTES:
        raise Unreadable(f"file is {len(source):,} bytes, over the {MAX_BYTES:,}-byte limit")
    if b"\x00" in source:
        raise Unreadable("file contains NUL bytes: binary, not Python source")
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"file is not UTF-8 (byte {exc.start})") from None
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise Unreadable(f"syntax error on line {exc.lineno}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        # The parser's own limits (deep nesting it cannot build a tree for).
        raise Unreadable(f"file is too deeply nested to parse ({type(exc).__name__})") from None
    return tree


def read(source: bytes) -> MigrationFile:
    """Read a migration file; raise `Unreadable` when it cannot be read as one."""
    tree = parse(source)
    imports = module_imports(tree)
    migration = _migration_class(tree)
    if migration is None:
        raise Unreadable("no `class Migration` at module level: Django would not load it")
    assignments = assigned_values(migration.body)
    reader = ValueReader(imports)

    operations: tuple[Value, ...] | None = None
    problem: str | None = None
    node = assignments.get("operations")
    if node is None:
        # Django's Migration base class has `operations = []`.
        operations = () if "operations" not in _assigned_names(migration) else None
        if operations is None:
            problem = "`operations` is not assigned a plain list"
    elif isinstance(node, ast.List | ast.Tuple):
        operations = tuple(reader.value(element) for element in node.elts)
    else:
        problem = f"`operations` is computed (`{shorten_source(node)}`), not a literal list"
    if operations is not None:
        problem = _changed_later(tree, migration)

    return MigrationFile(
        docstring=ast.get_docstring(tree, clean=False),
        dependencies=_pairs(reader.value(assignments["dependencies"]))
        if "dependencies" in assignments
        else (),
        operations=operations,
        operations_problem=problem,
        replaces=_pairs(reader.value(assignments["replaces"])) if "replaces" in assignments else (),
        initial=reader.value(assignments["initial"]) is True if "initial" in assignments else False,
        imports=imports,
    )


def _is_operations(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "operations") or (
        isinstance(node, ast.Attribute) and node.attr == "operations"
    )


def _changed_later(tree: ast.Module, cls: ast.ClassDef) -> str | None:
    """Why the literal `operations` list may not be all the operations: it is extended
    in the class body or from module level (`operations += [...]`,
    `Migration.operations.append(...)`), or the class defines `__init__` (which could
    build them). Function bodies are not searched: they run only if called."""
    for statement in cls.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
            return "the Migration class defines __init__, which may change its operations"
    for statement in [*cls.body, *tree.body]:
        if isinstance(statement, ast.AugAssign) and _is_operations(statement.target):
            return "`operations` is extended after its literal list"
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(target, ast.Attribute) for target in statement.targets)
            and any(_is_operations(target) for target in statement.targets)
        ):
            return "`operations` is replaced from outside the Migration class"
        if (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Attribute)
            and _is_operations(statement.value.func.value)
        ):
            return f"`operations.{statement.value.func.attr}(...)` changes the list"
    return None


def module_imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted name it stands for, from the module's top-level imports."""
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    # `import django.db.migrations` binds `django`.
                    head = alias.name.split(".", 1)[0]
                    names[head] = head
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _migration_class(tree: ast.Module) -> ast.ClassDef | None:
    found = None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            found = node  # the last definition wins, as it would at import
    return found


def assigned_values(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """Name -> the value last assigned to it by a plain or annotated assignment among
    `body`'s statements (a class body, a module)."""
    assigned: dict[str, ast.expr] = {}
    for node in body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node.value
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.value is not None
        ):
            assigned[node.target.id] = node.value
    return assigned


def _assigned_names(cls: ast.ClassDef) -> set[str]:
    """Every name bound in the class body somehow (augmented assignment, loops...)."""
    names: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _pairs(value: Value) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, tuple):
        return ()
    pairs = []
    for item in value:
        if (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], str)
        ):
            pairs.append((item[0], item[1]))
    return tuple(pairs)


def shorten_source(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError):  # pragma: no cover - bounded by _check_shape
        return "..."
    text = " ".join(text.split())
    return text if len(text) <= _UNKNOWN_TEXT else text[: _UNKNOWN_TEXT - 3] + "..."


class ValueReader:
    """Turns expressions into `Value`s by walking the tree, counting nodes and depth."""

    def __init__(self, imports: dict[str, str]) -> None:
        self.imports = imports
        self.nodes = 0

    def dotted(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.imports.get(node.id) or _IMPLICIT.get(node.id) or node.id
        return ".".join([head, *reversed(parts)])

    def value(self, node: ast.expr, depth: int = 0) -> Value:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Unreadable(f"the Migration class has over {MAX_NODES:,} expressions")
        if depth > MAX_DEPTH:
            raise Unreadable(f"the Migration class nests expressions over {MAX_DEPTH} levels deep")
        depth += 1
        if isinstance(node, ast.Constant):
            constant = node.value
            if constant is Ellipsis:
                return Unknown("...")
            return constant  # type: ignore[no-any-return, unused-ignore]
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            if any(isinstance(element, ast.Starred) for element in node.elts):
                return Unknown(shorten_source(node))
            return tuple(self.value(element, depth) for element in node.elts)
        if isinstance(node, ast.Dict):
            if any(key is None for key in node.keys):  # `**spread`
                return Unknown(shorten_source(node))
            return DictValue(
                tuple(
                    (self.value(key, depth), self.value(item, depth))
                    for key, item in zip(node.keys, node.values, strict=True)
                    if key is not None
                )
            )
        if isinstance(node, ast.Call):
            name = self.dotted(node.func)
            if name is None:
                return Unknown(shorten_source(node))
            starred = any(isinstance(arg, ast.Starred) for arg in node.args) or any(
                keyword.arg is None for keyword in node.keywords
            )
            return Call(
                name=name,
                args=tuple(
                    self.value(arg, depth) for arg in node.args if not isinstance(arg, ast.Starred)
                ),
                kwargs=tuple(
                    (keyword.arg, self.value(keyword.value, depth))
                    for keyword in node.keywords
                    if keyword.arg is not None
                ),
                starred=starred,
            )
        if isinstance(node, ast.Name | ast.Attribute):
            name = self.dotted(node)
            return Ref(name) if name is not None else Unknown(shorten_source(node))
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
            and not isinstance(node.operand.value, bool)
        ):
            return -node.operand.value
        if isinstance(node, ast.JoinedStr):
            return Unknown(shorten_source(node))
        return Unknown(shorten_source(node))
