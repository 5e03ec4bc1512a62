"""The rules: what each migration operation means for a deploy where the old code keeps
running against the new schema for minutes (Heroku preboot: the seeds' context).

Every rule is a pure function of the operation (as read by `reader`) and the app's state
before it (rebuilt by `state`); it returns findings and changes nothing. `judge_file`
walks a file's operations in order, judging each against the state the previous ones
left, and collects the house-rule warnings and the multi-PR advice.

Verdicts:
* TRICKY: the old code breaks against the new schema, or the deploy cannot be undone
  by migrating back; it needs a booked, approved deploy.
* ROUTINE: the old code keeps working.
* REVIEW: the analyser cannot tell; a person decides (the gate fails closed meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.migration_analysis.model import OperationFinding, Verdict, worst
from bot.migration_analysis.raw_sql import AddedRule, added_rules, destructive_clause
from bot.migration_analysis.reader import Call, MigrationFile, Ref, Unknown, Value
from bot.migration_analysis.state import (
    KNOWN_OPERATIONS,
    AppState,
    apply,
    arguments,
    column,
    operation_name,
    unique_sets,
)

RENAME_ADVICE = "/deploy plan rename"
RETYPE_ADVICE = "/deploy plan retype"
REMOVE_ADVICE = "/deploy plan remove"


@dataclass(frozen=True)
class Context:
    """What the rules know besides the operation itself."""

    state: AppState  # the app before this operation
    # The file's operations after this one (a rename may be made a no-op by a later
    # AlterField/AlterModelTable that keeps the database name).
    later: tuple[Value, ...] = ()
    # Whether the change also edits the app's models module: None = not known (CLI).
    models_changed: bool | None = None


@dataclass
class FileJudgement:
    findings: list[OperationFinding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return worst(finding.verdict for finding in self.findings)


def judge_file(
    migration: MigrationFile, state: AppState, models_changed: bool | None = None
) -> FileJudgement:
    """Judge every operation of one migration, in order, against `state` (which is
    updated as Django would update it, so later operations see earlier ones)."""
    judgement = FileJudgement()
    if not (migration.docstring or "").strip():
        judgement.warnings.append(
            "no module docstring: say what this migration does (house rule: the code shows "
            "the new state, not the change)"
        )
    if migration.operations is None:
        judgement.findings.append(
            OperationFinding(
                "operations",
                None,
                None,
                Verdict.REVIEW,
                f"{migration.operations_problem or 'operations cannot be read'}: "
                "cannot tell what this migration does",
            )
        )
        return judgement
    if migration.operations_problem:
        judgement.findings.append(
            OperationFinding(
                "operations",
                None,
                None,
                Verdict.REVIEW,
                f"{migration.operations_problem}: the operations below may not be all",
            )
        )
    operations = migration.operations
    state.mark_start()
    for index, operation in enumerate(operations):
        context = Context(state=state, later=operations[index + 1 :], models_changed=models_changed)
        judgement.findings.extend(judge(operation, context))
        if not isinstance(operation, Call):
            continue
        if operation_name(operation) == "RunPython":
            args = arguments(operation, "RunPython")
            if args.get("reverse_code") is None:
                judgement.warnings.append(
                    f"RunPython {_callable_name(args.get('code'))} has no reverse_code "
                    "(house rule: every RunPython gets one; RunPython.noop will do)"
                )
        # Models created by the file under analysis are new: nothing running uses them.
        apply(state, operation, new=True)
    judgement.advice.extend(file_advice(judgement.findings, operations, models_changed))
    return judgement


# ------------------------------------------------------------------------- dispatch


def judge(operation: Value, context: Context) -> list[OperationFinding]:
    """The findings for one entry of `operations` (several for SeparateDatabaseAndState)."""
    if not isinstance(operation, Call):
        text = operation.text if isinstance(operation, Unknown) else repr(operation)[:60]
        return [
            OperationFinding(
                "(expression)",
                None,
                None,
                Verdict.REVIEW,
                f"`{text}` in operations is not an operation call: cannot tell what it does",
            )
        ]
    name = operation_name(operation)
    if name is None:
        return [
            OperationFinding(
                operation.short,
                _model_of(operation),
                None,
                Verdict.REVIEW,
                f"custom operation {operation.name}: cannot tell what it does to the schema",
            )
        ]
    if operation.starred:
        return [
            OperationFinding(
                name,
                _model_of(operation),
                None,
                Verdict.REVIEW,
                f"{name} is called with *args/**kwargs: cannot read its arguments",
            )
        ]
    rule = RULES.get(name)
    if rule is None:
        return [
            OperationFinding(
                name,
                _model_of(operation),
                None,
                Verdict.REVIEW,
                f"{name} is not an operation the analyser knows: cannot tell what it does",
            )
        ]
    return rule(name, arguments(operation, name), context)


def _model_of(call: Call) -> str | None:
    for key in ("model_name", "name"):
        value = call.kwarg(key)
        if isinstance(value, str):
            return value
    return call.args[0] if call.args and isinstance(call.args[0], str) else None


Args = dict[str, Value]
Rule = Callable[[str, Args, Context], list[OperationFinding]]


def _text(value: Value) -> str | None:
    return value if isinstance(value, str) else None


def _finding(
    operation: str, model: Value, field_name: Value, verdict: Verdict, reason: str
) -> list[OperationFinding]:
    return [OperationFinding(operation, _text(model), _text(field_name), verdict, reason)]


def _label(model: Value, field_name: Value = None) -> str:
    """`person.name` (or `person`, or `?` for a name that is not a literal)."""
    model_text = _text(model) or "?"
    if field_name is None:
        return model_text
    return f"{model_text}.{_text(field_name) or '?'}"


def _is_new_model(context: Context, model: Value) -> bool:
    state = context.state.model(model)
    return state is not None and state.new


# ------------------------------------------------------------------------- models


def _create_model(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    name = args.get("name")
    return _finding(
        operation,
        name,
        None,
        Verdict.ROUTINE,
        f"creates model {_label(name)}: a new table the old code does not use",
    )


def _delete_model(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    name = args.get("name")
    if _is_new_model(context, name):
        return _finding(
            operation,
            name,
            None,
            Verdict.ROUTINE,
            f"deletes {_label(name)}, created in this change",
        )
    return _finding(
        operation,
        name,
        None,
        Verdict.TRICKY,
        f"deletes model {_label(name)}: its table is dropped while the old code still queries it",
    )


def _rename_model(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    old, new = args.get("old_name"), args.get("new_name")
    if not isinstance(old, str) or not isinstance(new, str):
        return _finding(
            operation, old, None, Verdict.REVIEW, "RenameModel with names that are not literals"
        )
    if _is_new_model(context, old):
        return _finding(
            operation, old, None, Verdict.ROUTINE, f"renames {old}, created in this change"
        )
    old_table = context.state.table(old)
    new_table = _table_after_rename(context, old, new)
    if new_table == old_table:
        return _finding(
            operation,
            old,
            None,
            Verdict.ROUTINE,
            f"renames model {old} to {new} but db_table keeps the table {old_table}",
        )
    note = "" if context.state.has_history else " (no earlier migrations to check its db_table)"
    return _finding(
        operation,
        old,
        None,
        Verdict.TRICKY,
        f"renames model {old} to {new}: table {old_table} becomes {new_table} while the old "
        f"code still queries {old_table}{note}",
    )


def _table_after_rename(context: Context, old: str, new: str) -> str:
    """The table the renamed model ends up with in this file."""
    model = context.state.model(old)
    table = model.db_table if model is not None and model.db_table else None
    for later in context.later:
        if isinstance(later, Call) and operation_name(later) == "AlterModelTable":
            args = arguments(later, "AlterModelTable")
            name = args.get("name")
            if isinstance(name, str) and name.lower() == new.lower():
                value = args.get("table")
                table = value if isinstance(value, str) else None
    return table or context.state.default_table(new)


def _alter_model_table(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    name, table = args.get("name"), args.get("table")
    if not isinstance(name, str) or not (table is None or isinstance(table, str)):
        return _finding(
            operation,
            name,
            None,
            Verdict.REVIEW,
            "AlterModelTable with a table name that is not a literal",
        )
    if _is_new_model(context, name):
        return _finding(
            operation,
            name,
            None,
            Verdict.ROUTINE,
            f"renames the table of {name}, created in this change",
        )
    new_table = table or context.state.default_table(name)
    model = context.state.model(name)
    # After a RenameModel in the same file, the table the old code uses is the one from
    # before the rename (`original_table`), whatever the state calls it now.
    kept = {context.state.table(name), model.original_table} if model is not None else set()
    if new_table in kept:
        return _finding(
            operation,
            name,
            None,
            Verdict.ROUTINE,
            f"sets the table of {name} to {new_table}, the table the old code already uses",
        )
    before = model.original_table if model is not None and model.original_table else None
    return _finding(
        operation,
        name,
        None,
        Verdict.TRICKY,
        f"renames the table of {name} to {new_table}: the old code still queries "
        f"{before or 'the old table'}",
    )


def _alter_order_with_respect_to(
    operation: str, args: Args, context: Context
) -> list[OperationFinding]:
    name = args.get("name")
    if _is_new_model(context, name):
        return _finding(
            operation, name, None, Verdict.ROUTINE, f"{_label(name)}, created in this change"
        )
    return _finding(
        operation,
        name,
        "_order",
        Verdict.TRICKY,
        f"adds or drops {_label(name)}._order: a NOT NULL column the old code does not write "
        "(or still reads)",
    )


def _routine(description: str) -> Rule:
    def rule(operation: str, args: Args, context: Context) -> list[OperationFinding]:
        model = args.get("name") if "model_name" not in args else args.get("model_name")
        return _finding(
            operation, model, None, Verdict.ROUTINE, f"{description} {_label(model)}".strip()
        )

    return rule


def _alter_unique_together(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    name = args.get("name")
    new = unique_sets(args.get("unique_together"))
    model = context.state.model(name)
    if _is_new_model(context, name):
        return _finding(
            operation,
            name,
            None,
            Verdict.ROUTINE,
            f"unique_together on {_label(name)}, created in this change",
        )
    if new is None:
        return _finding(
            operation,
            name,
            None,
            Verdict.REVIEW,
            "unique_together is not a literal: cannot tell what it adds",
        )
    old = model.unique_together if model is not None else None
    if old is None:
        if not new:
            return _finding(
                operation, name, None, Verdict.ROUTINE, f"removes unique_together on {_label(name)}"
            )
        return _finding(
            operation,
            name,
            None,
            Verdict.REVIEW,
            f"sets unique_together on {_label(name)}; without its earlier migrations, cannot tell "
            "whether it adds uniqueness",
        )
    added = sorted(new - old)
    if added:
        groups = ", ".join("(" + ", ".join(group) + ")" for group in added)
        return _finding(
            operation,
            name,
            None,
            Verdict.TRICKY,
            f"adds uniqueness on {_label(name)} {groups}: existing rows or the old code's "
            "writes may violate it",
        )
    return _finding(
        operation, name, None, Verdict.ROUTINE, f"only relaxes unique_together on {_label(name)}"
    )


# ------------------------------------------------------------------------- fields


def _add_field(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    model, name, definition = args.get("model_name"), args.get("name"), args.get("field")
    label = _label(model, name)
    if not isinstance(definition, Call):
        return _finding(
            operation,
            model,
            name,
            Verdict.REVIEW,
            f"adds {label} with a field that is not a call: cannot read it",
        )
    kind = definition.short
    if _is_new_model(context, model):
        return _finding(
            operation,
            model,
            name,
            Verdict.ROUTINE,
            f"adds {label} to a model created in this change",
        )
    if not looks_like_field(definition) or definition.starred:
        return _finding(
            operation,
            model,
            name,
            Verdict.REVIEW,
            f"adds {label} built by `{definition.short}(...)`: cannot read its definition",
        )
    if kind == "ManyToManyField":
        return _finding(
            operation,
            model,
            name,
            Verdict.ROUTINE,
            f"adds many-to-many {label}: a new join table, no column on the existing one",
        )
    if kind == "GeneratedField":
        return _finding(
            operation,
            model,
            name,
            Verdict.ROUTINE,
            f"adds generated column {label}: the database computes it",
        )
    if definition.has("db_default"):
        return _finding(
            operation,
            model,
            name,
            Verdict.ROUTINE,
            f"adds {label} with db_default: the database fills it for the old code's inserts",
        )
    # NullBooleanField (Django < 4) is nullable without saying so.
    null = True if kind == "NullBooleanField" else definition.kwarg("null", False)
    if null is True:
        return _finding(operation, model, name, Verdict.ROUTINE, f"adds nullable {kind} {label}")
    if null is not False:
        return _finding(
            operation,
            model,
            name,
            Verdict.REVIEW,
            f"adds {label} with null={_show(null)}: cannot tell whether it is NOT NULL",
        )
    return _finding(
        operation,
        model,
        name,
        Verdict.TRICKY,
        f"adds NOT NULL {kind} {label} without db_default to an existing table: Django drops "
        "the default after adding the column, so the old code's inserts fail",
    )


def _remove_field(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    model, name = args.get("model_name"), args.get("name")
    label = _label(model, name)
    if _is_new_model(context, model):
        return _finding(
            operation,
            model,
            name,
            Verdict.ROUTINE,
            f"removes {label} from a model created in this change",
        )
    previous = context.state.field(model, name)
    if isinstance(previous, Call) and previous.short == "ManyToManyField":
        what = f"drops the join table of many-to-many {label}"
    else:
        what = f"drops column {label}"
    if context.models_changed is False:
        return _finding(
            operation,
            model,
            name,
            Verdict.TRICKY,
            f"{what}: step 2 of a remove plan (the change leaves the app's models alone, so "
            "they stopped using the field earlier); book it as that step",
        )
    return _finding(
        operation,
        model,
        name,
        Verdict.TRICKY,
        f"{what} while the old code still selects it",
    )


def _rename_field(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    model, old, new = args.get("model_name"), args.get("old_name"), args.get("new_name")
    if not isinstance(old, str) or not isinstance(new, str):
        return _finding(
            operation, model, old, Verdict.REVIEW, "RenameField with names that are not literals"
        )
    label = _label(model, old)
    if _is_new_model(context, model):
        return _finding(
            operation,
            model,
            old,
            Verdict.ROUTINE,
            f"renames {label} on a model created in this change",
        )
    previous = context.state.field(model, old)
    old_column = _original_column(context, model, old, previous)
    final = previous
    for later in context.later:
        if isinstance(later, Call) and operation_name(later) == "AlterField":
            later_args = arguments(later, "AlterField")
            later_model = later_args.get("model_name")
            if (
                isinstance(later_model, str)
                and isinstance(model, str)
                and later_model.lower() == model.lower()
                and later_args.get("name") == new
            ):
                final = later_args.get("field")
    new_column = column(final, new) if final is not None else new
    if old_column is not None and old_column == new_column:
        return _finding(
            operation,
            model,
            old,
            Verdict.ROUTINE,
            f"renames {label} to {new} but db_column keeps the column {old_column}",
        )
    note = (
        ""
        if previous is not None
        else " (unless it already sets db_column: its earlier definition was not found)"
    )
    return _finding(
        operation,
        model,
        old,
        Verdict.TRICKY,
        f"renames column {old_column or old} of {_label(model)} to {new_column or new}: the old "
        f"code still uses {old_column or old}{note}",
    )


# Keyword arguments that never change the database: Django keeps them in Python (forms,
# validation, admin) or only in the migration state.
NON_SCHEMA_KWARGS = frozenset(
    {
        "help_text",
        "choices",
        "verbose_name",
        "validators",
        "blank",
        "default",
        "editable",
        "error_messages",
        "auto_now",
        "auto_now_add",
        "related_name",
        "related_query_name",
        "limit_choices_to",
        "on_delete",
        "upload_to",
        "storage",
        "serialize",
        "unique_for_date",
        "unique_for_month",
        "unique_for_year",
        "db_comment",
        "symmetrical",
        "swappable",
        "path",
        "match",
        "recursive",
        "allow_files",
        "allow_folders",
        "width_field",
        "height_field",
        "max_upload_size",
        "form_class",
        "parent_link",
    }
)

# What a StreamField's column depends on; everything else (the block definitions,
# positional or `block_lookup`, block_counts, min/max_num...) is stored as data in the
# same column, so changing it changes no schema.
STREAMFIELD_SCHEMA_KWARGS = frozenset(
    {"null", "use_json_field", "db_column", "db_default", "unique", "db_index", "primary_key"}
)

# Values Django uses when a keyword is not given.
_DEFAULTS: dict[str, Value] = {
    "null": False,
    "unique": False,
    "primary_key": False,
    "db_index": False,
    "db_constraint": True,
    "db_column": None,
    "max_length": None,
    "max_digits": None,
    "decimal_places": None,
    "db_collation": None,
    "db_tablespace": None,
    "to_field": None,
    "use_json_field": None,
}

_RELATIONS = ("ForeignKey", "OneToOneField", "ManyToManyField")


def looks_like_field(definition: Call) -> bool:
    """A field class (Django's, Wagtail's, a third party's `...Field`), not a helper
    function whose result cannot be known without running it."""
    return (
        definition.name.startswith("django.db.models.")
        # An Alembic column, read as a field whose class is its SQLAlchemy type.
        or definition.name.startswith("sqlalchemy.")
        or definition.short.endswith("Field")
        or definition.short in ("ForeignKey", "ManyToManyField", "OneToOneField")
    )


def _is_streamfield(definition: Call) -> bool:
    return definition.short == "StreamField" and (
        definition.name.startswith("wagtail.") or "." not in definition.name
    )


def _field_type(definition: Call) -> str:
    """Django's fields by their class name, whichever module path the file imports them
    from; anything else by its full dotted name."""
    if definition.name.startswith("django.db.models.") or "." not in definition.name:
        return definition.short
    if _is_streamfield(definition):
        return "wagtail.StreamField"
    return definition.name


def _relation_args(definition: Call) -> dict[str, Value]:
    """ForeignKey(to, on_delete) and friends take `to` positionally."""
    bound = definition.bind("to", "on_delete")
    return bound


def _alter_field(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    model, name, new = args.get("model_name"), args.get("name"), args.get("field")
    label = _label(model, name)
    if _is_new_model(context, model):
        return _finding(
            operation,
            model,
            name,
            Verdict.ROUTINE,
            f"alters {label} on a model created in this change",
        )
    if not isinstance(new, Call) or new.starred or not looks_like_field(new):
        return _finding(
            operation,
            model,
            name,
            Verdict.REVIEW,
            f"alters {label} with a field that cannot be read",
        )
    previous = context.state.field(model, name)
    if previous is None:
        why = (
            "no earlier migrations were available"
            if not context.state.has_history
            else "its earlier definition was not found in the app's earlier migrations"
        )
        return _finding(
            operation,
            model,
            name,
            Verdict.REVIEW,
            f"alters {label} to {new.short}, but {why}: cannot tell what changes",
        )
    if not isinstance(previous, Call) or previous.starred or not looks_like_field(previous):
        return _finding(
            operation,
            model,
            name,
            Verdict.REVIEW,
            f"alters {label}, whose earlier definition cannot be read",
        )
    old_column = _original_column(context, model, name, previous)
    verdict, reason = compare_fields(previous, new, label, old_column)
    return _finding(operation, model, name, verdict, reason)


def _original_column(context: Context, model: Value, name: Value, previous: Value) -> str | None:
    """The column the old code uses for this field: as it was when the file started (a
    RenameField earlier in the file carries it), else from its previous definition, else
    Django's default (the field's name)."""
    if not isinstance(name, str):
        return None
    state = context.state.model(model)
    if state is not None and name in state.original_columns:
        return state.original_columns[name]
    if previous is not None:
        return column(previous, name)
    return name


def compare_fields(
    previous: Call, new: Call, label: str, old_column: str | None
) -> tuple[Verdict, str]:
    """Judge a field's change of definition: the verdict and a one-line reason."""
    old_type, new_type = _field_type(previous), _field_type(new)
    if old_type != new_type and not _same_column_kind(previous, new):
        return (
            Verdict.TRICKY,
            f"changes the type of {label} from {previous.short} to {new.short}: the column is "
            "rewritten and the old code reads and writes the old type",
        )
    streamfield = _is_streamfield(new)
    changes: list[tuple[Verdict, str]] = []
    if streamfield:
        old_kwargs = {
            key: value for key, value in previous.kwargs if key in STREAMFIELD_SCHEMA_KWARGS
        }
        new_kwargs = {key: value for key, value in new.kwargs if key in STREAMFIELD_SCHEMA_KWARGS}
    else:
        if new.short in _RELATIONS:
            old_kwargs, new_kwargs = _relation_args(previous), _relation_args(new)
        else:
            if previous.args != new.args:
                changes.append(
                    (Verdict.REVIEW, "changes positional arguments the analyser cannot name")
                )
            old_kwargs, new_kwargs = dict(previous.kwargs), dict(new.kwargs)
        old_kwargs = {k: v for k, v in old_kwargs.items() if k not in NON_SCHEMA_KWARGS}
        new_kwargs = {k: v for k, v in new_kwargs.items() if k not in NON_SCHEMA_KWARGS}
    for key in sorted(set(old_kwargs) | set(new_kwargs) | _class_defaults(previous, new)):
        before = old_kwargs.get(key, _default(previous, key))
        after = new_kwargs.get(key, _default(new, key))
        if before == after or (key == "to" and _same_model(before, after)):
            continue
        changes.append(
            _compare_kwarg(
                key,
                before,
                after,
                label,
                old_column,
                key in old_kwargs,
                key in new_kwargs,
                new,
            )
        )
    if not changes:
        if streamfield:
            return (
                Verdict.ROUTINE,
                f"changes only the StreamField block definitions of {label}: stored in the "
                "same column",
            )
        old_all, new_all = dict(previous.kwargs), dict(new.kwargs)
        changed = sorted(
            key
            for key in set(old_all) | set(new_all)
            if key not in old_all or key not in new_all or old_all[key] != new_all[key]
        )
        if old_type != new_type:
            changed.insert(0, f"the field class from {previous.short} to {new.short}")
        what = ", ".join(changed) if changed else "nothing"
        return Verdict.ROUTINE, f"alters {label} without a schema change (changes {what})"
    verdict = worst(change for change, _ in changes)
    # The most severe reasons first; one line.
    texts = [text for change, text in sorted(changes, key=lambda c: -c[0].severity)]
    return verdict, f"{label}: " + "; ".join(texts)


# Django fields stored in the same varchar column, and their max_length when none is
# given: switching between them (CharField to EmailField, say) changes validation only.
_VARCHAR_DEFAULT_LENGTH: dict[str, int | None] = {
    "CharField": None,
    "EmailField": 254,
    "SlugField": 50,
    "URLField": 200,
    "FileField": 100,
    "ImageField": 100,
    "FilePathField": 100,
}
# Fields Django indexes unless told not to.
_INDEXED_BY_DEFAULT = frozenset({"ForeignKey", "OneToOneField", "SlugField"})


def _is_django(definition: Call) -> bool:
    return definition.name.startswith("django.db.models.") or "." not in definition.name


def _same_column_kind(previous: Call, new: Call) -> bool:
    return (
        _is_django(previous)
        and _is_django(new)
        and previous.short in _VARCHAR_DEFAULT_LENGTH
        and new.short in _VARCHAR_DEFAULT_LENGTH
    )


def _default(definition: Call, key: str) -> Value:
    """The value Django uses for `key` when this field does not give it."""
    if key == "max_length" and definition.short in _VARCHAR_DEFAULT_LENGTH:
        return _VARCHAR_DEFAULT_LENGTH[definition.short]
    if key == "db_index" and definition.short in _INDEXED_BY_DEFAULT:
        return True
    return _DEFAULTS.get(key)


def _class_defaults(previous: Call, new: Call) -> set[str]:
    """Keys whose class defaults differ between two field classes of one column kind."""
    if previous.short == new.short:
        return set()
    return {
        key for key in ("max_length", "db_index") if _default(previous, key) != _default(new, key)
    }


def _same_model(before: Value, after: Value) -> bool:
    """`"shop.Team"` and `"shop.team"`: Django resolves model references
    case-insensitively (older makemigrations kept the class's case)."""
    return isinstance(before, str) and isinstance(after, str) and before.lower() == after.lower()


def _compare_kwarg(
    key: str,
    before: Value,
    after: Value,
    label: str,
    old_column: str | None,
    had: bool,
    has: bool,
    new: Call,
) -> tuple[Verdict, str]:
    if isinstance(before, Unknown | Ref) or isinstance(after, Unknown | Ref):
        if key in ("to",) and before != after:
            return (
                Verdict.TRICKY,
                f"points the relation to {_show(after)} instead of {_show(before)}",
            )
        return Verdict.REVIEW, f"changes {key} to {_show(after)}, not a literal: cannot judge it"
    if key == "null":
        if after is True:
            return Verdict.ROUTINE, "allows NULL"
        return Verdict.TRICKY, "makes it NOT NULL: existing NULLs and the old code's inserts fail"
    if key in ("unique", "primary_key"):
        if after is True:
            return (
                Verdict.TRICKY,
                f"adds {'uniqueness' if key == 'unique' else 'a primary key'}: existing rows "
                "or the old code's writes may violate it",
            )
        return Verdict.ROUTINE, f"drops {'uniqueness' if key == 'unique' else 'the primary key'}"
    if key == "db_index":
        return Verdict.ROUTINE, (
            "adds" if after else "drops"
        ) + " an index (not concurrently: writes wait while it builds)"
    if key == "max_length":
        if isinstance(before, int) and isinstance(after, int):
            if after < before:
                return (
                    Verdict.TRICKY,
                    f"shortens max_length from {before} to {after}: "
                    "longer values the old code writes fail",
                )
            return Verdict.ROUTINE, f"lengthens max_length from {before} to {after}"
        return Verdict.REVIEW, f"changes max_length from {_show(before)} to {_show(after)}"
    if key in ("max_digits", "decimal_places"):
        if (
            isinstance(before, int)
            and isinstance(after, int)
            and after > before
            and key == "max_digits"
        ):
            return Verdict.ROUTINE, f"widens max_digits from {before} to {after}"
        return (
            Verdict.TRICKY,
            f"changes {key} from {_show(before)} to {_show(after)}: the column type changes",
        )
    if key == "db_column":
        new_column = after if isinstance(after, str) else None
        if new_column is not None and new_column == old_column:
            return Verdict.ROUTINE, f"sets db_column to {new_column}, the column it already uses"
        return (
            Verdict.TRICKY,
            f"changes the column name to {_show(after)}: the old code still uses {old_column}",
        )
    if key == "db_default":
        if has:
            return Verdict.ROUTINE, "sets a database default"
        if new.kwarg("null", False) is True:
            return Verdict.ROUTINE, "drops the database default of a nullable column"
        return (
            Verdict.TRICKY,
            "drops the database default of a NOT NULL column the old code may not write",
        )
    if key in ("to", "to_field", "through", "db_table"):
        return Verdict.TRICKY, f"changes {key} from {_show(before)} to {_show(after)}"
    if key == "db_constraint":
        if after is False:
            return Verdict.ROUTINE, "drops the foreign-key constraint"
        return (
            Verdict.TRICKY,
            "adds a foreign-key constraint: rows the old code writes may violate it",
        )
    if key == "use_json_field":
        return (
            Verdict.TRICKY,
            f"changes use_json_field to {_show(after)}: on Wagtail 3-4 the column type "
            "changes (text/jsonb)",
        )
    return (
        Verdict.REVIEW,
        f"changes {key} from {_show(before)} to {_show(after)}: cannot tell whether the "
        "schema changes",
    )


def _show(value: Value) -> str:
    if isinstance(value, Unknown):
        return value.text
    if isinstance(value, Ref):
        return value.name
    if isinstance(value, Call):
        return f"{value.short}(...)"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ------------------------------------------------------------------------- indexes, constraints


def _describe_index(index: Value) -> str:
    if not isinstance(index, Call):
        return "an index"
    name = index.kwarg("name")
    fields = index.kwarg("fields")
    parts = [f"index {name}" if isinstance(name, str) else "an index"]
    if isinstance(fields, tuple) and all(isinstance(item, str) for item in fields):
        parts.append("(" + ", ".join(str(item) for item in fields) + ")")
    return " ".join(parts)


def _add_index(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    model, index = args.get("model_name"), args.get("index")
    concurrent = operation == "AddIndexConcurrently"
    how = (
        "concurrently (writes continue while it builds)"
        if concurrent
        else "not concurrently: writes to the table wait while it builds; use "
        "AddIndexConcurrently for a big table"
    )
    if _is_new_model(context, model):
        how = "on a model created in this change"
    return _finding(
        operation,
        model,
        None,
        Verdict.ROUTINE,
        f"adds {_describe_index(index)} on {_label(model)} {how}",
    )


def _remove_index(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    model, name = args.get("model_name"), args.get("name")
    how = (
        "concurrently"
        if operation == "RemoveIndexConcurrently"
        else "not concurrently (a brief lock)"
    )
    return _finding(
        operation,
        model,
        None,
        Verdict.ROUTINE,
        f"drops index {_show(name)} on {_label(model)} {how}",
    )


def _add_constraint(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    model, constraint = args.get("model_name"), args.get("constraint")
    kind = constraint.short if isinstance(constraint, Call) else "constraint"
    name = constraint.kwarg("name") if isinstance(constraint, Call) else None
    what = f"{kind} {name}" if isinstance(name, str) else kind
    if _is_new_model(context, model):
        return _finding(
            operation,
            model,
            None,
            Verdict.ROUTINE,
            f"adds {what} to {_label(model)}, created in this change",
        )
    if kind in ("UniqueConstraint", "CheckConstraint", "ExclusionConstraint"):
        note = (
            " (NOT VALID: existing rows are not checked)"
            if operation == "AddConstraintNotValid"
            else ""
        )
        return _finding(
            operation,
            model,
            None,
            Verdict.TRICKY,
            f"adds {what} to existing table {_label(model)}{note}: rows the old code writes "
            "may violate it",
        )
    return _finding(
        operation,
        model,
        None,
        Verdict.REVIEW,
        f"adds {what} to {_label(model)}: cannot tell what it enforces",
    )


# ------------------------------------------------------------------------- data migrations


def _callable_name(value: Value) -> str:
    if isinstance(value, Ref):
        return value.short
    if isinstance(value, Unknown):
        return value.text
    return "code"


def _is_noop(value: Value) -> bool:
    return isinstance(value, Ref) and value.name.endswith(
        (".noop", "RunPython.noop", "RunSQL.noop")
    )


def _run_python(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    code = _callable_name(args.get("code"))
    reverse = args.get("reverse_code")
    if reverse is None:
        return _finding(
            operation,
            None,
            None,
            Verdict.TRICKY,
            f"RunPython {code} has no reverse_code: the deploy cannot be rolled back by "
            "migrating back",
        )
    how = "a no-op reverse" if _is_noop(reverse) else f"reverse {_callable_name(reverse)}"
    return _finding(
        operation, None, None, Verdict.ROUTINE, f"data migration {code} with {how}: reversible"
    )


def _constraint_on_existing_table(sql: str, context: Context) -> AddedRule | None:
    """The first rule the SQL adds to a table that exists before this change, if any."""
    for rule in added_rules(sql):
        model = context.state.model_of_table(rule.table)
        # A new model's table is in the default schema; a rule on another schema's table
        # of that name is on a table that exists.
        if rule.certain and rule.schema in (None, "public") and model is not None and model.new:
            continue  # the table of a model created in this change
        if model is None and rule.created_before:
            continue
        return rule
    return None


def _sql_text(value: Value) -> str | None:
    """The SQL of a RunSQL argument: a string, or a list of strings / (sql, params)."""
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        parts = []
        for item in value:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, tuple) and item and isinstance(item[0], str):
                parts.append(item[0])
            else:
                return None
        return ";\n".join(parts)
    return None


def _run_sql(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    sql = _sql_text(args.get("sql"))
    reverse = args.get("reverse_sql")
    if sql is None:
        return _finding(
            operation,
            None,
            None,
            Verdict.REVIEW,
            "RunSQL whose SQL is not a literal string: cannot read what it does",
        )
    first = " ".join(sql.split())[:50]
    if reverse is None:
        return _finding(
            operation,
            None,
            None,
            Verdict.TRICKY,
            f"RunSQL `{first}` has no reverse_sql: the deploy cannot be rolled back by "
            "migrating back",
        )
    destructive = destructive_clause(sql)
    if destructive:
        return _finding(
            operation,
            None,
            None,
            Verdict.TRICKY,
            f"RunSQL `{destructive}`: raw SQL that breaks the old code",
        )
    rule = _constraint_on_existing_table(sql, context)
    if rule:
        note = " (NOT VALID: existing rows are not checked)" if rule.not_valid else ""
        return _finding(
            operation,
            None,
            None,
            Verdict.TRICKY,
            f"RunSQL `{rule.text}`: raw SQL that adds a constraint or unique index to existing "
            f"table {rule.table}{note}: rows the old code writes may violate it",
        )
    return _finding(operation, None, None, Verdict.ROUTINE, f"RunSQL `{first}` with reverse_sql")


def _separate(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    database = args.get("database_operations")
    if database is None or database == ():
        return _finding(
            operation,
            None,
            None,
            Verdict.ROUTINE,
            "SeparateDatabaseAndState changes only Django's state, not the database",
        )
    if not isinstance(database, tuple):
        return _finding(
            operation,
            None,
            None,
            Verdict.REVIEW,
            "SeparateDatabaseAndState whose database_operations are not a literal list",
        )
    findings = []
    for index, inner in enumerate(database):
        inner_context = Context(
            state=context.state, later=database[index + 1 :], models_changed=context.models_changed
        )
        for finding in judge(inner, inner_context):
            findings.append(
                OperationFinding(
                    finding.operation,
                    finding.model,
                    finding.field,
                    finding.verdict,
                    f"{finding.reason} (in SeparateDatabaseAndState)",
                )
            )
    return findings


def _database_object(operation: str, args: Args, context: Context) -> list[OperationFinding]:
    """Extensions and collations: new database objects nothing running depends on."""
    name = args.get("name")
    what = "collation" if "Collation" in operation else "PostgreSQL extension"
    named = f" {name}" if isinstance(name, str) else ""
    return _finding(operation, None, None, Verdict.ROUTINE, f"creates the {what}{named} if missing")


RULES: dict[str, Rule] = {
    "CreateModel": _create_model,
    "DeleteModel": _delete_model,
    "RenameModel": _rename_model,
    "AlterModelTable": _alter_model_table,
    "AlterModelTableComment": _routine("changes the table comment of"),
    "AlterUniqueTogether": _alter_unique_together,
    "AlterIndexTogether": _routine("changes index_together (indexes, not constraints) of"),
    "AlterOrderWithRespectTo": _alter_order_with_respect_to,
    "AlterModelOptions": _routine("changes Python-side options (no schema) of"),
    "AlterModelManagers": _routine("changes managers (no schema) of"),
    "AddField": _add_field,
    "RemoveField": _remove_field,
    "AlterField": _alter_field,
    "RenameField": _rename_field,
    "AddIndex": _add_index,
    "AddIndexConcurrently": _add_index,
    "RemoveIndex": _remove_index,
    "RemoveIndexConcurrently": _remove_index,
    "RenameIndex": _routine("renames an index (the old code does not name indexes) on"),
    "AddConstraint": _add_constraint,
    "AddConstraintNotValid": _add_constraint,
    "RemoveConstraint": _routine("drops a constraint (relaxes) on"),
    "AlterConstraint": _routine("changes a constraint's Python-side options on"),
    "ValidateConstraint": _routine("validates a constraint already enforced for new rows on"),
    "RunPython": _run_python,
    "RunSQL": _run_sql,
    "SeparateDatabaseAndState": _separate,
    "CreateExtension": _database_object,
    "BloomExtension": _database_object,
    "BtreeGinExtension": _database_object,
    "BtreeGistExtension": _database_object,
    "CITextExtension": _database_object,
    "CryptoExtension": _database_object,
    "HStoreExtension": _database_object,
    "TrigramExtension": _database_object,
    "UnaccentExtension": _database_object,
    "CreateCollation": _database_object,
}
assert set(RULES) <= KNOWN_OPERATIONS  # noqa: S101 - a typo here would go unnoticed


# ------------------------------------------------------------------------- advice


def file_advice(
    findings: list[OperationFinding], operations: tuple[Value, ...], models_changed: bool | None
) -> list[str]:
    advice: list[str] = []
    for finding in findings:
        if finding.verdict != Verdict.TRICKY:
            continue
        label = _label(finding.model, finding.field)
        if finding.operation in ("RenameField", "RenameModel"):
            advice.append(
                f"split the rename of {label} into three PRs with {RENAME_ADVICE} (add the new "
                "one, move the code to it, remove the old one), or keep the database name "
                "with db_column/db_table"
            )
        elif finding.operation == "AlterField" and "changes the type" in finding.reason:
            advice.append(f"split the type change of {label} into three PRs with {RETYPE_ADVICE}")
        elif finding.operation in ("RemoveField", "DeleteModel"):
            if models_changed is False:
                advice.append(
                    f"book this PR as step 2 of a remove plan for {label} ({REMOVE_ADVICE})"
                )
            else:
                advice.append(
                    f"remove {label} in two PRs with {REMOVE_ADVICE}: first stop using it in "
                    "the code and deploy that, then remove it with this migration"
                )
    advice.extend(add_remove_pairs(operations))
    return list(dict.fromkeys(advice))  # once each, in order


def add_remove_pairs(operations: tuple[Value, ...]) -> list[str]:
    """A field added and another removed on the same model in one change: a rename done
    in one step (the seeds' rename plan wants it in three)."""
    added: dict[str, list[str]] = {}
    removed: dict[str, list[str]] = {}
    for operation in operations:
        if not isinstance(operation, Call):
            continue
        name = operation_name(operation)
        if name not in ("AddField", "RemoveField"):
            continue
        args = arguments(operation, name)
        model, field_name = args.get("model_name"), args.get("name")
        if isinstance(model, str) and isinstance(field_name, str):
            target = added if name == "AddField" else removed
            target.setdefault(model.lower(), []).append(f"{model}.{field_name}")
    advice = []
    for model, adds in added.items():
        if model in removed:
            advice.append(
                f"{', '.join(adds)} added and {', '.join(removed[model])} removed in one change: "
                f"if this is a rename, split it with {RENAME_ADVICE}"
            )
    return advice
