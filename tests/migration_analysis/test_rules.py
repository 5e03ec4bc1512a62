"""Every operation kind, judged for a deploy where the old code runs against the new
schema for minutes. Migrations are built from Django's documented signatures."""

from __future__ import annotations

import pytest

from bot.migration_analysis import Verdict
from tests.migration_analysis.builders import analyse, one

TRICKY, REVIEW, ROUTINE = Verdict.TRICKY, Verdict.REVIEW, Verdict.ROUTINE


# ------------------------------------------------------------------ models


def test_create_model_is_routine() -> None:
    finding = one(
        'migrations.CreateModel(name="Badge", fields=[("id", models.AutoField(primary_key=True))])'
    )
    assert (finding.operation, finding.model, finding.verdict) == ("CreateModel", "Badge", ROUTINE)


def test_delete_model_is_tricky_and_names_the_model() -> None:
    finding = one('migrations.DeleteModel(name="Team")')
    assert finding.verdict == TRICKY
    assert finding.model == "Team"
    assert "Team" in finding.reason


def test_rename_model_is_tricky() -> None:
    finding = one('migrations.RenameModel(old_name="Team", new_name="Squad")')
    assert finding.verdict == TRICKY
    assert "shop_team" in finding.reason and "shop_squad" in finding.reason


def test_rename_model_keeping_the_table_with_db_table_is_routine() -> None:
    analysis = analyse(
        'migrations.RenameModel(old_name="Team", new_name="Squad")',
        'migrations.AlterModelTable(name="squad", table="shop_team")',
    )
    assert [finding.verdict for finding in analysis.operations] == [ROUTINE, ROUTINE]
    assert analysis.advice == ()


def test_rename_model_whose_history_sets_db_table_is_routine() -> None:
    history = {
        "shop/migrations/0001_initial.py": analyse_source(
            'migrations.CreateModel(name="Team", fields=[], options={"db_table": "teams"})'
        )
    }
    finding = one('migrations.RenameModel("Team", "Squad")', history=history)
    assert finding.verdict == ROUTINE
    assert "teams" in finding.reason


def analyse_source(*operations: str) -> bytes:
    from tests.migration_analysis.builders import migration

    return migration(*operations)


def test_alter_model_table_is_tricky() -> None:
    finding = one('migrations.AlterModelTable(name="team", table="teams")')
    assert finding.verdict == TRICKY
    assert "teams" in finding.reason


@pytest.mark.parametrize(
    "operation",
    [
        'migrations.AlterModelOptions(name="person", options={"ordering": ["name"]})',
        'migrations.AlterModelManagers(name="person", managers=[])',
        'migrations.AlterModelTableComment(name="person", table_comment="People")',
        'migrations.AlterIndexTogether(name="person", index_together={("name", "age")})',
    ],
)
def test_model_options_are_routine(operation: str) -> None:
    finding = one(operation)
    assert finding.verdict == ROUTINE
    assert finding.model == "person"


def test_alter_order_with_respect_to_is_tricky() -> None:
    assert one('migrations.AlterOrderWithRespectTo("person", "team")').verdict == TRICKY


# ------------------------------------------------------------------ AddField


def test_add_not_null_field_to_an_existing_table_is_tricky() -> None:
    finding = one(
        'migrations.AddField(model_name="person", name="city", '
        'field=models.CharField(max_length=50, default="Paris"))'
    )
    assert finding.verdict == TRICKY
    assert (finding.model, finding.field) == ("person", "city")
    assert "person.city" in finding.reason and "db_default" in finding.reason


def test_add_not_null_field_with_preserve_default_false_is_tricky() -> None:
    finding = one(
        'migrations.AddField("person", "rank", models.IntegerField(default=0), '
        "preserve_default=False)"
    )
    assert finding.verdict == TRICKY


def test_add_foreign_key_not_null_is_tricky() -> None:
    finding = one(
        'migrations.AddField("person", "mentor", '
        'models.ForeignKey(on_delete=models.PROTECT, to="shop.person"))'
    )
    assert finding.verdict == TRICKY


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ("models.CharField(max_length=50, null=True)", "nullable"),
        ('models.CharField(max_length=50, db_default="x")', "db_default"),
        ('models.ManyToManyField(to="shop.team")', "many-to-many"),
        ('models.GeneratedField(expression=models.F("age"), db_persist=True)', "generated"),
    ],
)
def test_add_field_that_old_code_can_live_with_is_routine(field: str, words: str) -> None:
    finding = one(f'migrations.AddField("person", "extra", {field})')
    assert finding.verdict == ROUTINE
    assert words in finding.reason


def test_not_null_field_on_a_model_created_in_the_same_change_is_routine() -> None:
    analysis = analyse(
        'migrations.CreateModel(name="Badge", fields=[("id", models.AutoField(primary_key=True))])',
        'migrations.AddField("badge", "label", models.CharField(max_length=20))',
    )
    assert [finding.verdict for finding in analysis.operations] == [ROUTINE, ROUTINE]
    assert "created in this change" in analysis.operations[1].reason


def test_add_field_with_non_literal_null_needs_review() -> None:
    finding = one('migrations.AddField("person", "x", models.IntegerField(null=NULLABLE))')
    assert finding.verdict == REVIEW


# ------------------------------------------------------------------ RemoveField


def test_remove_field_is_tricky_with_remove_plan_advice() -> None:
    analysis = analyse('migrations.RemoveField(model_name="person", name="nickname")')
    (finding,) = analysis.operations
    assert finding.verdict == TRICKY
    assert (finding.model, finding.field) == ("person", "nickname")
    assert any("/deploy plan remove" in advice for advice in analysis.advice)


def test_add_and_remove_on_one_model_in_one_migration_advises_a_rename_plan() -> None:
    analysis = analyse(
        'migrations.AddField("person", "full_name", models.CharField(max_length=100, null=True))',
        'migrations.RemoveField("person", "name")',
    )
    assert any("/deploy plan rename" in advice for advice in analysis.advice)


# ------------------------------------------------------------------ RenameField


def test_rename_field_is_tricky_and_advises_a_rename_plan() -> None:
    analysis = analyse('migrations.RenameField("person", "nickname", "alias")')
    (finding,) = analysis.operations
    assert finding.verdict == TRICKY
    assert "nickname" in finding.reason and "alias" in finding.reason
    assert any("/deploy plan rename" in advice for advice in analysis.advice)


def test_rename_field_whose_db_column_keeps_the_column_is_routine() -> None:
    # `legacy` already stores into db_column="old_legacy": renaming it renames nothing.
    finding = one('migrations.RenameField("person", "legacy", "heritage")')
    assert finding.verdict == ROUTINE
    assert "old_legacy" in finding.reason


def test_rename_field_then_db_column_to_the_old_name_is_routine() -> None:
    # What makemigrations writes when a renamed field gets db_column="nickname".
    analysis = analyse(
        'migrations.RenameField("person", "nickname", "alias")',
        'migrations.AlterField("person", "alias", '
        'models.CharField(max_length=50, null=True, db_column="nickname"))',
    )
    assert [finding.verdict for finding in analysis.operations] == [ROUTINE, ROUTINE]
    assert analysis.verdict == ROUTINE


def test_rename_field_without_history_says_so() -> None:
    finding = one('migrations.RenameField("person", "nickname", "alias")', history=None)
    assert finding.verdict == TRICKY
    assert "earlier definition was not found" in finding.reason


# ------------------------------------------------------------------ AlterField


def alter(field: str, name: str = "name", **kwargs: object) -> object:
    return one(
        f'migrations.AlterField(model_name="person", name="{name}", field={field})', **kwargs
    )


@pytest.mark.parametrize(
    ("name", "field", "words"),
    [
        ("name", "models.TextField()", "type"),
        ("name", "models.CharField(max_length=40)", "shortens"),
        ("nickname", "models.CharField(max_length=50)", "NOT NULL"),
        ("name", "models.CharField(max_length=100, unique=True)", "uniqueness"),
        ("score", "models.DecimalField(max_digits=6, decimal_places=1)", "decimal_places"),
        ("legacy", 'models.CharField(max_length=20, db_column="new_legacy")', "column"),
        ("team", 'models.ForeignKey(on_delete=models.CASCADE, to="shop.person", null=True)', "to"),
    ],
)
def test_alter_field_that_changes_the_schema_is_tricky(name: str, field: str, words: str) -> None:
    finding = alter(field, name=name)
    assert finding.verdict == TRICKY, finding.reason  # type: ignore[attr-defined]
    assert words in finding.reason  # type: ignore[attr-defined]
    assert f"person.{name}" in finding.reason  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("name", 'models.CharField(max_length=100, help_text="Full name", verbose_name="name")'),
        ("name", 'models.CharField(max_length=100, choices=[("a", "A")], blank=True)'),
        ("name", 'models.CharField(max_length=100, default="x", validators=[check])'),
        ("name", "models.CharField(max_length=200)"),
        ("age", "models.IntegerField(null=True, db_index=True)"),
        ("email", "models.EmailField(max_length=254)"),
        ("nickname", "models.CharField(max_length=50, null=True)"),
        ("team", 'models.ForeignKey(on_delete=models.SET_NULL, to="shop.team", null=True)'),
    ],
)
def test_alter_field_that_old_code_can_live_with_is_routine(name: str, field: str) -> None:
    finding = alter(field, name=name)
    assert finding.verdict == ROUTINE, finding.reason  # type: ignore[attr-defined]


def test_alter_field_without_history_needs_review_and_says_why() -> None:
    finding = alter("models.CharField(max_length=100)", history=None)
    assert finding.verdict == REVIEW  # type: ignore[attr-defined]
    assert "no earlier migrations" in finding.reason  # type: ignore[attr-defined]


def test_alter_field_of_a_field_missing_from_history_needs_review() -> None:
    finding = alter("models.CharField(max_length=100)", name="ghost")
    assert finding.verdict == REVIEW  # type: ignore[attr-defined]
    assert "not found" in finding.reason  # type: ignore[attr-defined]


def test_alter_field_with_an_unknown_schema_keyword_needs_review() -> None:
    finding = alter('models.CharField(max_length=100, db_collation="C")')
    assert finding.verdict == REVIEW  # type: ignore[attr-defined]


STREAM_V1 = (
    'wagtail.fields.StreamField([("text", wagtail.blocks.TextBlock())], use_json_field=True)'
)
STREAM_V2 = (
    "wagtail.fields.StreamField("
    '[("text", wagtail.blocks.TextBlock()), ("image", wagtail.images.blocks.ImageChooserBlock())],'
    " use_json_field=True, blank=True)"
)


WAGTAIL_HEADER = (
    "import wagtail.blocks\nimport wagtail.fields\nfrom django.db import migrations, models\n"
)


def stream_history(field: str) -> dict[str, bytes]:
    from tests.migration_analysis.builders import migration

    source = migration(
        'migrations.CreateModel(name="Page", fields=[("id", models.AutoField(primary_key=True)),'
        f' ("body", {field})])',
        header=WAGTAIL_HEADER,
    )
    return {"shop/migrations/0001_initial.py": source}


@pytest.mark.parametrize("module", ["wagtail.fields", "wagtail.core.fields"])
def test_streamfield_block_changes_are_routine(module: str) -> None:
    history = stream_history(STREAM_V1.replace("wagtail.fields", module))
    finding = one(
        f'migrations.AlterField("page", "body", {STREAM_V2.replace("wagtail.fields", module)})',
        history=history,
        header=f"import wagtail.blocks\nimport {module.rsplit('.', 1)[0]}.fields\n"
        "import wagtail.images.blocks\nfrom django.db import migrations, models\n",
    )
    assert finding.verdict == ROUTINE, finding.reason
    assert "block definitions" in finding.reason


def test_streamfield_imported_by_name_is_recognised() -> None:
    history = stream_history(STREAM_V1)
    finding = one(
        'migrations.AlterField("page", "body", StreamField([("q", wagtail.blocks.CharBlock())],'
        " use_json_field=True))",
        history=history,
        header="import wagtail.blocks\nfrom wagtail.fields import StreamField\n"
        "from django.db import migrations, models\n",
    )
    assert finding.verdict == ROUTINE, finding.reason


def test_streamfield_made_not_null_is_still_tricky() -> None:
    history = stream_history(
        STREAM_V1.replace("use_json_field=True", "use_json_field=True, null=True")
    )
    finding = one(
        f'migrations.AlterField("page", "body", {STREAM_V1})',
        history=history,
        header=WAGTAIL_HEADER,
    )
    assert finding.verdict == TRICKY


def test_alter_field_sees_fields_added_by_later_history_files() -> None:
    from tests.migration_analysis.builders import HISTORY, migration

    history = dict(HISTORY)
    history["shop/migrations/0002_city.py"] = migration(
        'migrations.AddField("person", "city", models.CharField(max_length=30, null=True))',
        dependencies='[("shop", "0001_initial")]',
    )
    finding = one(
        'migrations.AlterField("person", "city", models.CharField(max_length=10, null=True))',
        history=history,
        name="0003_shorter.py",
        dependencies='[("shop", "0002_city")]',
    )
    assert finding.verdict == TRICKY
    assert "from 30 to 10" in finding.reason


# ------------------------------------------------------------------ constraints and indexes


def test_add_unique_constraint_to_an_existing_table_is_tricky() -> None:
    finding = one(
        'migrations.AddConstraint(model_name="person", constraint=models.UniqueConstraint('
        'fields=["email", "team"], name="unique_email_team"))'
    )
    assert finding.verdict == TRICKY
    assert "unique_email_team" in finding.reason and "person" in finding.reason


def test_add_check_constraint_to_an_existing_table_is_tricky() -> None:
    finding = one(
        'migrations.AddConstraint("person", models.CheckConstraint('
        'condition=models.Q(age__gte=0), name="age_positive"))'
    )
    assert finding.verdict == TRICKY


def test_add_constraint_to_a_new_model_is_routine() -> None:
    analysis = analyse(
        'migrations.CreateModel("Badge", [("id", models.AutoField(primary_key=True))])',
        'migrations.AddConstraint("badge", models.UniqueConstraint(fields=["id"], name="u"))',
    )
    assert analysis.verdict == ROUTINE


def test_remove_constraint_is_routine() -> None:
    assert one('migrations.RemoveConstraint("person", "age_positive")').verdict == ROUTINE


def test_add_index_is_routine_and_says_it_is_not_concurrent() -> None:
    finding = one(
        'migrations.AddIndex(model_name="person", index=models.Index(fields=["name"], '
        'name="person_name_idx"))'
    )
    assert finding.verdict == ROUTINE
    assert "not concurrently" in finding.reason and "person_name_idx" in finding.reason


def test_add_index_concurrently_is_routine_and_says_so() -> None:
    finding = one(
        'AddIndexConcurrently("person", models.Index(fields=["age"], name="age_idx"))',
        header="from django.contrib.postgres.operations import AddIndexConcurrently\n"
        "from django.db import migrations, models\n",
    )
    assert finding.operation == "AddIndexConcurrently"
    assert finding.verdict == ROUTINE
    assert "concurrently (writes continue" in finding.reason


def test_remove_index_is_routine() -> None:
    assert one('migrations.RemoveIndex("person", "person_name_idx")').verdict == ROUTINE


def test_alter_unique_together_that_adds_uniqueness_is_tricky() -> None:
    finding = one(
        'migrations.AlterUniqueTogether("person", {("name", "nickname"), ("email", "age")})'
    )
    assert finding.verdict == TRICKY
    assert "age, email" in finding.reason


def test_alter_unique_together_that_only_relaxes_is_routine() -> None:
    assert one('migrations.AlterUniqueTogether("person", set())').verdict == ROUTINE


def test_alter_unique_together_without_history_needs_review() -> None:
    finding = one('migrations.AlterUniqueTogether("person", {("a", "b")})', history=None)
    assert finding.verdict == REVIEW


# ------------------------------------------------------------------ data migrations


def test_run_python_without_reverse_is_tricky_and_warned() -> None:
    analysis = analyse(
        "migrations.RunPython(forwards)", body="def forwards(apps, schema_editor):\n    pass\n"
    )
    (finding,) = analysis.operations
    assert finding.verdict == TRICKY
    assert "rolled back" in finding.reason and "forwards" in finding.reason
    assert any("reverse_code" in warning for warning in analysis.warnings)


@pytest.mark.parametrize(
    "call",
    [
        "migrations.RunPython(forwards, backwards)",
        "migrations.RunPython(forwards, reverse_code=migrations.RunPython.noop)",
        "migrations.RunPython(code=forwards, reverse_code=backwards, atomic=False)",
    ],
)
def test_run_python_with_reverse_is_routine(call: str) -> None:
    analysis = analyse(call)
    assert analysis.verdict == ROUTINE
    assert analysis.warnings == ()


def test_run_python_with_explicit_none_reverse_is_tricky() -> None:
    assert one("migrations.RunPython(forwards, None)").verdict == TRICKY


def test_run_sql_without_reverse_is_tricky() -> None:
    finding = one('migrations.RunSQL("UPDATE shop_person SET age = 0 WHERE age IS NULL")')
    assert finding.verdict == TRICKY
    assert "reverse_sql" in finding.reason


@pytest.mark.parametrize(
    "call",
    [
        'migrations.RunSQL("CREATE INDEX i ON t (c)", "DROP INDEX i")',
        'migrations.RunSQL(sql=["UPDATE t SET a = 1", ("UPDATE t SET b = %s", [2])], '
        "reverse_sql=migrations.RunSQL.noop)",
    ],
)
def test_run_sql_with_reverse_is_routine(call: str) -> None:
    assert one(call).verdict == ROUTINE


def test_reversible_run_sql_that_drops_a_column_is_tricky() -> None:
    finding = one(
        'migrations.RunSQL("ALTER TABLE t DROP COLUMN c", "ALTER TABLE t ADD COLUMN c int")'
    )
    assert finding.verdict == TRICKY
    assert "DROP COLUMN" in finding.reason


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("ALTER TABLE shop_person ADD CONSTRAINT age_ok CHECK (age >= 0)", "shop_person"),
        ('ALTER TABLE ONLY public."shop_person" ADD UNIQUE (email)', "shop_person"),
        ("ALTER TABLE IF EXISTS ONLY shop_person ADD UNIQUE (email)", "shop_person"),
        (
            "alter table shop_person add column team int, "
            "add constraint fk foreign key (team) references shop_team",
            "shop_person",
        ),
        ("ALTER TABLE shop_team ADD CONSTRAINT x EXCLUDE USING gist (name WITH =)", "shop_team"),
        (
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_email ON shop_person (email)",
            "shop_person",
        ),
        ("UPDATE t SET a = 1; ALTER TABLE shop_team ADD PRIMARY KEY (id)", "shop_team"),
        # A comment naming a table the SQL creates does not make the rule that table's.
        (
            "CREATE TABLE tally (n int); "
            "ALTER TABLE shop_person /* ALTER TABLE tally */ ADD UNIQUE (email)",
            "shop_person",
        ),
        # IF NOT EXISTS leaves an existing table as it is: the constraint lands on it.
        (
            "CREATE TABLE IF NOT EXISTS tally (n int); ALTER TABLE tally ADD UNIQUE (n)",
            "tally",
        ),
        # Created after the constraint is added: the constraint went on a table before.
        ("ALTER TABLE tally ADD UNIQUE (n); CREATE TABLE tally (n int)", "tally"),
        # A table the migrations know of exists, whatever the SQL says it creates.
        (
            "CREATE TABLE shop_person (id int); ALTER TABLE shop_person ADD UNIQUE (id)",
            "shop_person",
        ),
    ],
)
def test_reversible_run_sql_that_adds_a_constraint_to_an_existing_table_is_tricky(
    sql: str, table: str
) -> None:
    # As AddConstraint on an existing model: the old code goes on writing rows that the
    # new rule may refuse.
    finding = one(f"migrations.RunSQL({sql!r}, 'SELECT 1')")
    assert finding.verdict == TRICKY
    assert f"adds a constraint or unique index to existing table {table}:" in finding.reason


def test_run_sql_adding_a_constraint_not_valid_says_existing_rows_are_not_checked() -> None:
    finding = one(
        "migrations.RunSQL('ALTER TABLE shop_person ADD CONSTRAINT c CHECK (age > 0) NOT VALID',"
        " 'SELECT 1')"
    )
    assert finding.verdict == TRICKY
    assert finding.reason == (
        "RunSQL `ALTER TABLE shop_person ADD CONSTRAINT c CHECK`: raw SQL that adds a "
        "constraint or unique index to existing table shop_person (NOT VALID: existing rows "
        "are not checked): rows the old code writes may violate it"
    )


@pytest.mark.parametrize(
    "operations",
    [
        (
            'migrations.CreateModel(name="Badge", fields=[])',
            'migrations.RunSQL("ALTER TABLE shop_badge ADD CONSTRAINT c CHECK (id > 0)", "")',
        ),
        (
            'migrations.CreateModel(name="Badge", fields=[], options={"db_table": "badges"})',
            'migrations.RunSQL("ALTER TABLE badges ADD EXCLUDE USING gist (id WITH =)", "")',
            'migrations.RunSQL("CREATE UNIQUE INDEX u ON badges (id)", "DROP INDEX u")',
        ),
        (
            'migrations.RunSQL("CREATE TABLE tally (n int); ALTER TABLE tally ADD UNIQUE (n)", '
            '"DROP TABLE tally")',
        ),
        ('migrations.RunSQL("CREATE INDEX i ON shop_person (email)", "DROP INDEX i")',),
        ('migrations.RunSQL("ALTER TABLE shop_person ADD COLUMN nick text", "SELECT 1")',),
        # The usual second step after NOT VALID: checks the rows, adds no rule.
        ('migrations.RunSQL("ALTER TABLE shop_person VALIDATE CONSTRAINT c", "SELECT 1")',),
    ],
)
def test_run_sql_adding_a_constraint_to_a_new_table_or_no_constraint_is_routine(
    operations: tuple[str, ...],
) -> None:
    analysis = analyse(*operations)
    assert analysis.verdict == ROUTINE, analysis.operations


def test_run_sql_that_is_not_a_literal_needs_review() -> None:
    finding = one("migrations.RunSQL(SQL, REVERSE)")
    assert finding.verdict == REVIEW
    assert "not a literal" in finding.reason


# ------------------------------------------------------------------ SeparateDatabaseAndState


def test_separate_database_and_state_is_judged_by_database_operations() -> None:
    analysis = analyse(
        "migrations.SeparateDatabaseAndState("
        'state_operations=[migrations.RemoveField("person", "nickname")],'
        "database_operations=[])"
    )
    assert analysis.verdict == ROUTINE
    assert "only Django's state" in analysis.operations[0].reason


def test_separate_database_and_state_with_a_tricky_database_operation() -> None:
    analysis = analyse(
        "migrations.SeparateDatabaseAndState("
        'database_operations=[migrations.RunSQL("ALTER TABLE shop_person DROP COLUMN nickname")],'
        'state_operations=[migrations.RemoveField("person", "nickname")])'
    )
    (finding,) = analysis.operations
    assert finding.verdict == TRICKY
    assert "SeparateDatabaseAndState" in finding.reason


def test_separate_database_and_state_moving_a_model_keeping_its_table_is_routine() -> None:
    # The talk's recipe: move a model between apps with db_table, no schema change.
    analysis = analyse(
        "migrations.SeparateDatabaseAndState("
        'state_operations=[migrations.DeleteModel("Team")],'
        "database_operations=[])",
        'migrations.AlterModelOptions(name="person", options={})',
    )
    assert analysis.verdict == ROUTINE


# ------------------------------------------------------------------ unknown


def test_custom_operation_needs_review() -> None:
    finding = one(
        'BackfillSlugs("person")',
        header="from django.db import migrations\nfrom shop.ops import BackfillSlugs\n",
    )
    assert finding.verdict == REVIEW
    assert "shop.ops.BackfillSlugs" in finding.reason


def test_operation_that_is_not_a_call_needs_review() -> None:
    assert one("EXTRA_OPERATION").verdict == REVIEW


def test_operation_with_star_arguments_needs_review() -> None:
    assert one("migrations.RemoveField(*ARGS)").verdict == REVIEW


@pytest.mark.parametrize(
    ("call", "words"),
    [
        ('CreateExtension("hstore")', "extension hstore"),
        ("BtreeGinExtension()", "extension"),
        ('CreateCollation("nd", provider="icu", locale="und-u-ks-level2")', "collation nd"),
    ],
)
def test_extensions_and_collations_are_routine(call: str, words: str) -> None:
    finding = one(
        call,
        header="from django.contrib.postgres.operations import "
        "BtreeGinExtension, CreateCollation, CreateExtension\n"
        "from django.db import migrations, models\n",
    )
    assert (finding.verdict, finding.model) == (ROUTINE, None)
    assert words in finding.reason


def test_relation_target_written_in_another_case_is_the_same_model() -> None:
    finding = alter(
        'models.ForeignKey(on_delete=models.CASCADE, to="shop.Team", null=True)', name="team"
    )
    assert finding.verdict == ROUTINE  # type: ignore[attr-defined]


def test_char_field_to_email_field_of_the_same_length_is_routine() -> None:
    finding = alter("models.CharField(max_length=254, unique=True)", name="email")
    assert finding.verdict == ROUTINE, finding.reason  # type: ignore[attr-defined]
    assert "EmailField to CharField" in finding.reason  # type: ignore[attr-defined]


def test_email_field_to_slug_field_shortens_by_its_default_length() -> None:
    finding = alter("models.SlugField(unique=True)", name="email")
    assert finding.verdict == TRICKY  # type: ignore[attr-defined]
    assert "from 254 to 50" in finding.reason  # type: ignore[attr-defined]


def test_field_built_by_a_helper_function_needs_review() -> None:
    finding = one(
        'migrations.AddField("person", "slug", make_slug_field())',
        body="def make_slug_field():\n    return None\n",
    )
    assert finding.verdict == REVIEW
    assert "make_slug_field" in finding.reason


def test_third_party_field_class_is_read() -> None:
    finding = one(
        'migrations.AddField("person", "tags", taggit.managers.TaggableManager(null=True))',
    )
    assert finding.verdict == REVIEW  # not a `...Field`: cannot tell what it stores
    finding = one('migrations.AddField("person", "geo", geo.fields.PointField(null=True))')
    assert finding.verdict == ROUTINE
