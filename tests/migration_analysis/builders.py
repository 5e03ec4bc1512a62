"""Small migration sources for the tests, built from Django's documented signatures."""

from __future__ import annotations

from collections.abc import Mapping

from bot.migration_analysis import FileAnalysis, OperationFinding, analyse_file

HEADER = "from django.db import migrations, models\n"
APP = "shop/migrations"


def migration(
    *operations: str,
    docstring: str | None = "A test migration.",
    dependencies: str = "[]",
    header: str = HEADER,
    body: str = "",
) -> bytes:
    """A migration module whose `operations` list holds the given source snippets."""
    doc = f'"""{docstring}"""\n\n' if docstring is not None else ""
    ops = "".join(f"        {operation},\n" for operation in operations)
    return (
        f"{doc}{header}\n{body}\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = {dependencies}\n"
        f"    operations = [\n{ops}    ]\n"
    ).encode()


# The app the tests alter: a Person with a few fields, and a Team it belongs to.
INITIAL = migration(
    """migrations.CreateModel(
            name="Person",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("nickname", models.CharField(max_length=50, null=True)),
                ("email", models.EmailField(max_length=254, unique=True)),
                ("age", models.IntegerField(null=True)),
                ("legacy", models.CharField(max_length=20, db_column="old_legacy")),
                ("score", models.DecimalField(max_digits=6, decimal_places=2)),
            ],
            options={"unique_together": {("name", "nickname")}},
        )""",
    """migrations.CreateModel(
            name="Team",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        )""",
    """migrations.AddField(
            model_name="person",
            name="team",
            field=models.ForeignKey(on_delete=models.CASCADE, to="shop.team", null=True),
        )""",
)

HISTORY: dict[str, bytes] = {f"{APP}/0001_initial.py": INITIAL}
AFTER_INITIAL = '[("shop", "0001_initial")]'


def analyse(
    *operations: str,
    history: Mapping[str, bytes] | None = HISTORY,
    name: str = "0002_change.py",
    **kwargs: str | None,
) -> FileAnalysis:
    kwargs.setdefault("dependencies", AFTER_INITIAL)
    source = migration(*operations, **kwargs)  # type: ignore[arg-type]
    return analyse_file(f"{APP}/{name}", source, history)


def one(*operations: str, **kwargs: object) -> OperationFinding:
    """The single finding of a migration with these operations."""
    analysis = analyse(*operations, **kwargs)  # type: ignore[arg-type]
    assert len(analysis.operations) == 1, analysis.operations
    return analysis.operations[0]
