"""Reading untrusted migration source: nothing runs, bad files become REVIEW findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.migration_analysis import Verdict, analyse_file
from bot.migration_analysis.reader import (
    MAX_BYTES,
    Call,
    Ref,
    Unknown,
    Unreadable,
    read,
)
from tests.migration_analysis.builders import migration

PATH = "shop/migrations/0002_change.py"


def unreadable_reason(source: bytes) -> str:
    analysis = analyse_file(PATH, source, None)
    assert analysis.verdict == Verdict.REVIEW
    (finding,) = analysis.operations
    assert finding.verdict == Verdict.REVIEW
    return finding.reason


def test_module_level_code_never_runs(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    source = (
        f"__import__('os').system('touch {sentinel}')\n"
        f"open({str(sentinel)!r}, 'w').write('x')\n"
        "from django.db import migrations\n"
        "class Migration(migrations.Migration):\n"
        f"    x = __import__('os').system('touch {sentinel}')\n"
        "    operations = [migrations.RunPython(__import__('os').system('id'))]\n"
    ).encode()
    analysis = analyse_file(PATH, source, {PATH: source})
    assert not sentinel.exists()
    # The call is read as data: a RunPython whose code is an expression, not run.
    assert [finding.operation for finding in analysis.operations] == ["RunPython"]


def test_non_utf8_file() -> None:
    assert "not UTF-8" in unreadable_reason(b"# caf\xe9\n" + migration())


def test_binary_file() -> None:
    assert "NUL" in unreadable_reason(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_syntax_error_names_the_line() -> None:
    reason = unreadable_reason(b"from django.db import migrations\nclass Migration(:\n")
    assert "syntax error on line 2" in reason


def test_huge_file() -> None:
    source = migration() + b"#" * MAX_BYTES
    assert "limit" in unreadable_reason(source)


def test_deeply_nested_brackets() -> None:
    source = b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n" + migration()
    reason = unreadable_reason(source)
    assert "nest" in reason or "syntax error" in reason


def test_deep_expression_in_the_operations_is_bounded() -> None:
    # Parses fine (the parser builds binary operations iteratively) but is deeper than
    # anything a migration needs.
    chain = "[" * 120 + "1" + "]" * 120
    source = migration(f'migrations.AddField("p", "f", models.IntegerField(default={chain}))')
    assert "levels deep" in unreadable_reason(source)


def test_deep_code_outside_the_migration_class_is_never_walked() -> None:
    source = b"x = " + b"1 + " * 2_000 + b"1\n" + migration()
    assert analyse_file(PATH, source, None).verdict == Verdict.ROUTINE


def test_deep_expression_quoted_in_a_reason_does_not_overflow() -> None:
    lam = "lambda a, b: " + "1 + " * 2_000 + "1"
    analysis = analyse_file(PATH, migration(f"migrations.RunPython({lam})"), None)
    assert analysis.operations[0].operation == "RunPython"


def test_no_migration_class() -> None:
    assert "no `class Migration`" in unreadable_reason(b"from django.db import migrations\n")


def test_operations_computed_needs_review() -> None:
    source = (
        b"from django.db import migrations\n"
        b"class Migration(migrations.Migration):\n"
        b"    operations = make_operations()\n"
    )
    analysis = analyse_file(PATH, source, None)
    assert analysis.verdict == Verdict.REVIEW
    assert "not a literal list" in analysis.operations[0].reason


def test_empty_migration_is_routine() -> None:
    source = (
        b'"""Merge."""\n'
        b"from django.db import migrations\n"
        b"class Migration(migrations.Migration):\n"
        b"    pass\n"
    )
    analysis = analyse_file(PATH, source, None)
    assert analysis.verdict == Verdict.ROUTINE
    assert analysis.operations == ()


def test_docstring_warning() -> None:
    assert any(
        "docstring" in w for w in analyse_file(PATH, migration(docstring=None), None).warnings
    )
    assert analyse_file(PATH, migration(), None).warnings == ()


@pytest.mark.parametrize(
    ("header", "call", "name"),
    [
        ("from django.db import migrations, models", "migrations.RemoveField", "RemoveField"),
        ("from django.db import migrations as m", "m.RemoveField", "RemoveField"),
        ("import django.db.migrations", "django.db.migrations.RemoveField", "RemoveField"),
        ("from django.db.migrations import RemoveField", "RemoveField", "RemoveField"),
        ("from django.db.migrations import RemoveField as Drop", "Drop", "RemoveField"),
        ("from django.db.migrations import *", "RemoveField", "RemoveField"),
        (
            "from django.db.migrations.operations.fields import RemoveField",
            "RemoveField",
            "RemoveField",
        ),
    ],
)
def test_import_styles(header: str, call: str, name: str) -> None:
    source = (
        f"{header}\nfrom django.db import migrations\n"
        "class Migration(migrations.Migration):\n"
        f'    operations = [{call}("person", "nickname")]\n'
    ).encode()
    (finding,) = analyse_file(PATH, source, None).operations
    assert (finding.operation, finding.verdict) == (name, Verdict.TRICKY)
    assert (finding.model, finding.field) == ("person", "nickname")


def test_values_are_read_as_data() -> None:
    source = (
        b"from django.db import migrations, models\n"
        b"class Migration(migrations.Migration):\n"
        b"    dependencies = [('shop', '0001_initial'), ('auth', '0012_x')]\n"
        b"    operations = [\n"
        b"        migrations.AddField('p', 'n', models.IntegerField(default=-1, null=True)),\n"
        b"        migrations.RunPython(forwards, lambda apps, editor: None),\n"
        b"    ]\n"
    )
    migration_file = read(source)
    assert migration_file.dependencies == (("shop", "0001_initial"), ("auth", "0012_x"))
    assert migration_file.operations is not None
    add, run = migration_file.operations
    assert isinstance(add, Call) and add.name == "django.db.migrations.AddField"
    field = add.args[2]
    assert isinstance(field, Call) and field.kwarg("default") == -1
    assert isinstance(run, Call)
    assert run.args[0] == Ref("forwards")
    assert isinstance(run.args[1], Unknown)


def test_unreadable_is_raised_by_read_only() -> None:
    with pytest.raises(Unreadable):
        read(b"\xff\xfe")


@pytest.mark.parametrize(
    "extra",
    [
        "    operations += [migrations.DeleteModel('Person')]\n",
        "    operations.append(migrations.DeleteModel('Person'))\n",
        "    def __init__(self, *args):\n        super().__init__(*args)\n",
        "Migration.operations = []\n",
        "Migration.operations.extend(MORE)\n",
    ],
)
def test_operations_changed_after_the_literal_list_need_review(extra: str) -> None:
    source = migration('migrations.AddField("p", "f", models.TextField(null=True))')
    if extra.startswith("    "):
        source += extra.encode()
    else:
        source += b"\n" + extra.encode()
    analysis = analyse_file(PATH, source, None)
    assert analysis.verdict == Verdict.REVIEW
    assert [finding.operation for finding in analysis.operations] == ["operations", "AddField"]
