"""The models of one Django app as its migrations define them, rebuilt from source.

Django's own `ProjectState` needs Django and the project importable; here the state is
rebuilt from the operations read by `reader` alone, and holds only what the rules need:
each model's fields as written (the field call), its table name and unique_together.

What is not modelled: other apps (a migration's cross-app dependencies are ignored),
model inheritance (parents' fields), and anything a custom operation does to the state.
That is enough to compare an AlterField with the field's previous definition; when the
previous definition is not found, the rules say so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bot.migration_analysis.reader import Call, DictValue, Unreadable, Value, read

# The operations Django ships (django.db.migrations.operations and
# django.contrib.postgres.operations). A call to anything else is a custom operation.
DJANGO_PREFIXES = ("django.db.migrations.", "django.contrib.postgres.operations.")


def operation_name(call: Call) -> str | None:
    """The Django operation a call makes ("RemoveField"), or None for a custom one.

    A bare name (`RemoveField(...)` after `from django.db.migrations import *`) counts as
    Django's when it has the name of one of Django's operations.
    """
    if call.name.startswith(DJANGO_PREFIXES):
        return call.short
    if "." not in call.name and call.name in KNOWN_OPERATIONS:
        return call.name
    return None


KNOWN_OPERATIONS = frozenset(
    {
        "CreateModel",
        "DeleteModel",
        "RenameModel",
        "AlterModelTable",
        "AlterModelTableComment",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AlterOrderWithRespectTo",
        "AlterModelOptions",
        "AlterModelManagers",
        "AddField",
        "RemoveField",
        "AlterField",
        "RenameField",
        "AddIndex",
        "RemoveIndex",
        "RenameIndex",
        "AddConstraint",
        "RemoveConstraint",
        "AlterConstraint",
        "RunSQL",
        "RunPython",
        "SeparateDatabaseAndState",
        "AddIndexConcurrently",
        "RemoveIndexConcurrently",
        "AddConstraintNotValid",
        "ValidateConstraint",
        "CreateExtension",
        "BloomExtension",
        "BtreeGinExtension",
        "BtreeGistExtension",
        "CITextExtension",
        "CryptoExtension",
        "HStoreExtension",
        "TrigramExtension",
        "UnaccentExtension",
        "CreateCollation",
        "RemoveCollation",
    }
)

# Django's documented positional parameters, by operation.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "CreateModel": ("name", "fields", "options", "bases", "managers"),
    "DeleteModel": ("name",),
    "RenameModel": ("old_name", "new_name"),
    "AlterModelTable": ("name", "table"),
    "AlterModelTableComment": ("name", "table_comment"),
    "AlterUniqueTogether": ("name", "unique_together"),
    "AlterIndexTogether": ("name", "index_together"),
    "AlterOrderWithRespectTo": ("name", "order_with_respect_to"),
    "AlterModelOptions": ("name", "options"),
    "AlterModelManagers": ("name", "managers"),
    "AddField": ("model_name", "name", "field", "preserve_default"),
    "RemoveField": ("model_name", "name"),
    "AlterField": ("model_name", "name", "field", "preserve_default"),
    "RenameField": ("model_name", "old_name", "new_name"),
    "AddIndex": ("model_name", "index"),
    "RemoveIndex": ("model_name", "name"),
    "RenameIndex": ("model_name", "new_name", "old_name", "old_fields"),
    "AddConstraint": ("model_name", "constraint"),
    "RemoveConstraint": ("model_name", "name"),
    "AlterConstraint": ("model_name", "name", "constraint"),
    "RunSQL": ("sql", "reverse_sql", "state_operations", "hints", "elidable"),
    "RunPython": ("code", "reverse_code", "atomic", "hints", "elidable"),
    "SeparateDatabaseAndState": ("database_operations", "state_operations"),
    "AddIndexConcurrently": ("model_name", "index"),
    "RemoveIndexConcurrently": ("model_name", "name"),
    "AddConstraintNotValid": ("model_name", "constraint"),
    "ValidateConstraint": ("model_name", "name"),
    "CreateExtension": ("name",),
    "CreateCollation": ("name", "locale", "provider", "deterministic"),
    "RemoveCollation": ("name", "locale", "provider", "deterministic"),
}


def arguments(call: Call, operation: str) -> dict[str, Value]:
    return call.bind(*SIGNATURES.get(operation, ()))


@dataclass
class ModelState:
    name: str  # as first written
    fields: dict[str, Value] = field(default_factory=dict)  # field name -> definition
    db_table: str | None = None  # options["db_table"], when literal
    # unique_together as sets of field names; None when it could not be read.
    unique_together: frozenset[tuple[str, ...]] | None = frozenset()
    # Created by a migration of the change under analysis (its table is new: nothing
    # running today uses it).
    new: bool = False
    # The table and columns in the database when the file under analysis starts (set by
    # `AppState.mark_start`, carried along renames): a rename that a later operation of
    # the same file undoes at the database level is no rename for the old code.
    original_table: str | None = None
    original_columns: dict[str, str | None] = field(default_factory=dict)


@dataclass
class AppState:
    label: str
    models: dict[str, ModelState] = field(default_factory=dict)  # lower-cased name -> state
    # False when the app's earlier migrations were not available at all.
    has_history: bool = True

    def model(self, name: Value) -> ModelState | None:
        return self.models.get(name.lower()) if isinstance(name, str) else None

    def table(self, name: str) -> str:
        """The model's table: its db_table, else Django's `<app_label>_<model>`."""
        model = self.model(name)
        if model is not None and model.db_table:
            return model.db_table
        return self.default_table(name)

    def default_table(self, name: str) -> str:
        """The table a model gets without a db_table: Django's `<app_label>_<model>`."""
        return f"{self.label}_{name.lower()}"

    def model_of_table(self, table: str) -> ModelState | None:
        """The model whose table is `table` (a name in the database, as raw SQL gives
        it), if the migrations so far know of one."""
        wanted = table.lower()
        return next((m for m in self.models.values() if self.table(m.name).lower() == wanted), None)

    def mark_start(self) -> None:
        """Remember the database names as they are before the file under analysis."""
        for model in self.models.values():
            model.original_table = self.table(model.name)
            model.original_columns = {
                name: column(definition, name) for name, definition in model.fields.items()
            }

    def field(self, model_name: Value, field_name: Value) -> Value | None:
        model = self.model(model_name)
        if model is None or not isinstance(field_name, str):
            return None
        return model.fields.get(field_name)


def column(definition: Value, name: str) -> str | None:
    """The database column a field definition uses (None: no column, or unknowable)."""
    if not isinstance(definition, Call):
        return None
    if definition.short == "ManyToManyField":
        return None
    db_column = definition.kwarg("db_column")
    if isinstance(db_column, str):
        return db_column
    if db_column is not None:
        return None
    if definition.short in ("ForeignKey", "OneToOneField"):
        return f"{name}_id"
    return name


def unique_sets(value: Value) -> frozenset[tuple[str, ...]] | None:
    """unique_together as written (a set of tuples, or one tuple), as sorted name tuples."""
    if value is None or (isinstance(value, Call) and value.name == "set" and not value.args):
        return frozenset()  # makemigrations writes `set()` for "none any more"
    if not isinstance(value, tuple):
        return None
    if all(isinstance(item, str) for item in value):
        value = (value,)
    sets = set()
    for item in value:
        if not isinstance(item, tuple) or not all(isinstance(name, str) for name in item):
            return None
        sets.add(tuple(sorted(str(name) for name in item)))
    return frozenset(sets)


def apply(state: AppState, call: Call, *, new: bool) -> None:
    """Change `state` as Django's state would change for this operation (state side only:
    SeparateDatabaseAndState and RunSQL apply their state_operations)."""
    operation = operation_name(call)
    if operation is None:
        return
    args = arguments(call, operation)
    if operation == "CreateModel":
        name = args.get("name")
        if not isinstance(name, str):
            return
        model = ModelState(name=name, new=new)
        fields = args.get("fields")
        if isinstance(fields, tuple):
            for item in fields:
                if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                    model.fields[item[0]] = item[1]
        options = args.get("options")
        if isinstance(options, DictValue):
            table = options.get("db_table")
            model.db_table = table if isinstance(table, str) else None
            model.unique_together = unique_sets(options.get("unique_together"))
        state.models[name.lower()] = model
    elif operation == "DeleteModel":
        name = args.get("name")
        if isinstance(name, str):
            state.models.pop(name.lower(), None)
    elif operation == "RenameModel":
        old, new_name = args.get("old_name"), args.get("new_name")
        if isinstance(old, str) and isinstance(new_name, str):
            renamed = state.models.pop(old.lower(), None)
            if renamed is not None:
                renamed.name = new_name
                state.models[new_name.lower()] = renamed
    elif operation == "AlterModelTable":
        target = state.model(args.get("name"))
        table = args.get("table")
        if target is not None:
            target.db_table = table if isinstance(table, str) else None
    elif operation == "AlterUniqueTogether":
        target = state.model(args.get("name"))
        if target is not None:
            target.unique_together = unique_sets(args.get("unique_together"))
    elif operation in ("AddField", "AlterField"):
        model_name, name = args.get("model_name"), args.get("name")
        target = state.model(model_name)
        if target is None and isinstance(model_name, str):
            # A model whose creation we have not seen (no base history): what this
            # operation says about the field is still known; the rest is not.
            target = ModelState(name=model_name, unique_together=None)
            state.models[model_name.lower()] = target
        if target is not None and isinstance(name, str):
            target.fields[name] = args.get("field")
    elif operation == "RemoveField":
        target = state.model(args.get("model_name"))
        name = args.get("name")
        if target is not None and isinstance(name, str):
            target.fields.pop(name, None)
            target.original_columns.pop(name, None)
    elif operation == "RenameField":
        target = state.model(args.get("model_name"))
        old, new_name = args.get("old_name"), args.get("new_name")
        if target is not None and isinstance(old, str) and isinstance(new_name, str):
            if old in target.fields:
                target.fields[new_name] = target.fields.pop(old)
            if old in target.original_columns:
                target.original_columns[new_name] = target.original_columns.pop(old)
    elif operation in ("SeparateDatabaseAndState", "RunSQL"):
        for inner in _calls(args.get("state_operations")):
            apply(state, inner, new=new)


def _calls(value: Value) -> Iterable[Call]:
    if isinstance(value, tuple):
        return [item for item in value if isinstance(item, Call)]
    return []


# --------------------------------------------------------------------------- history


def migration_name(path: str) -> str:
    """`blog/migrations/0002_auto.py` -> `0002_auto` (Django's name for it)."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return base[:-3] if base.endswith(".py") else base


def app_label(path: str) -> str:
    """The app label Django would use by default: the app package's last name, i.e. the
    directory holding `migrations/`. (An AppConfig may set another; then the default
    table names computed from it are wrong, and the rules that compare table names are
    affected: RenameModel/AlterModelTable, and raw SQL adding a constraint to a model's
    new table, which is then judged as if the table existed: tricky, the safe side.)"""
    parts = path.replace("\\", "/").split("/")
    return parts[-3] if len(parts) >= 3 else ""


@dataclass(frozen=True)
class Earlier:
    """One earlier migration of the app, read (or not)."""

    name: str
    dependencies: tuple[str, ...]  # names of same-app migrations it depends on
    operations: tuple[Value, ...]
    new: bool  # part of the change under analysis


def read_earlier(sources: Mapping[str, bytes], changed: frozenset[str]) -> dict[str, Earlier]:
    """Read the app's other migrations; an unreadable one contributes nothing (its
    fields become unknown, which the rules report as such)."""
    read_files: dict[str, Earlier] = {}
    for path, source in sources.items():
        name = migration_name(path)
        try:
            migration = read(source)
        except Unreadable:
            read_files[name] = Earlier(name, (), (), path in changed)
            continue
        label = app_label(path)
        dependencies = tuple(
            dep_name
            for dep_app, dep_name in migration.dependencies
            if dep_app == label or dep_app == "__self__"
        )
        read_files[name] = Earlier(name, dependencies, migration.operations or (), path in changed)
    return read_files


def ancestors(
    name: str, own_dependencies: Iterable[str], earlier: Mapping[str, Earlier]
) -> list[str]:
    """The earlier migrations `name` depends on within its app, in an order Django could
    apply them (dependencies first, ties by name).

    When the dependencies cannot be followed (none given, or they name no file we have),
    fall back to every file whose name sorts before this one: Django's numbering.
    """
    known = [dep for dep in own_dependencies if dep in earlier and dep != name]
    if not known:
        return sorted(other for other in earlier if other < name)
    wanted: set[str] = set()
    stack = list(known)
    while stack:
        current = stack.pop()
        if current in wanted or current == name or current not in earlier:
            continue
        wanted.add(current)
        stack.extend(earlier[current].dependencies)
    # Siblings in name order.
    return dependencies_first(
        sorted(wanted),
        lambda current: sorted(dep for dep in earlier[current].dependencies if dep in wanted),
    )


def dependencies_first(roots: Iterable[str], parents: Callable[[str], Iterable[str]]) -> list[str]:
    """`roots` and everything they depend on (`parents` of each, in the order it gives
    them), each once, every one after what it depends on: the order migrations are
    applied in. Depth-first and iterative: a long-lived app has hundreds of migrations in
    one chain. A cycle (broken history) is cut where it closes."""
    order: list[str] = []
    entered: set[str] = set()
    for root in roots:
        pending: list[tuple[str, bool]] = [(root, False)]
        while pending:
            current, finished = pending.pop()
            if finished:
                order.append(current)
                continue
            if current in entered:
                continue
            entered.add(current)
            pending.append((current, True))
            pending.extend((parent, False) for parent in reversed(list(parents(current))))
    return order


def rebuild(
    label: str,
    earlier: Mapping[str, Earlier],
    order: Iterable[str],
) -> AppState:
    state = AppState(label=label)
    for name in order:
        migration = earlier[name]
        for operation in migration.operations:
            if isinstance(operation, Call):
                apply(state, operation, new=migration.new)
    return state
