"""A pull request as a whole: several migrations, history at the base, ES mapping paths,
the JSON the gate stores."""

from __future__ import annotations

import pytest

from bot.migration_analysis import (
    FileAnalysis,
    OperationFinding,
    PullRequestAnalysis,
    Verdict,
    analyse_pull_request,
    history_paths_needed,
    is_migration_path,
    worst,
)
from bot.migration_analysis.globs import matches_any
from bot.migration_analysis.state import ancestors, read_earlier
from tests.migration_analysis.builders import HISTORY, INITIAL, migration

ROUTINE_ADD = 'migrations.AddField("person", "bio", models.TextField(null=True))'
REMOVE = 'migrations.RemoveField("person", "nickname")'


def test_verdicts_are_ordered_by_severity() -> None:
    assert Verdict.ROUTINE.severity < Verdict.REVIEW.severity < Verdict.TRICKY.severity
    assert worst([]) == Verdict.ROUTINE
    assert worst([Verdict.REVIEW, Verdict.ROUTINE]) == Verdict.REVIEW
    assert worst([Verdict.REVIEW, Verdict.TRICKY, Verdict.ROUTINE]) == Verdict.TRICKY
    # Not alphabetical, although a Verdict is a str:
    assert Verdict.ROUTINE < Verdict.REVIEW < Verdict.TRICKY
    assert Verdict.REVIEW > Verdict.ROUTINE and Verdict.TRICKY >= Verdict.REVIEW
    assert sorted([Verdict.TRICKY, Verdict.ROUTINE, Verdict.REVIEW]) == [
        Verdict.ROUTINE,
        Verdict.REVIEW,
        Verdict.TRICKY,
    ]
    assert max(Verdict.REVIEW, Verdict.ROUTINE) == Verdict.REVIEW
    assert Verdict("tricky") == "tricky"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("shop/migrations/0001_initial.py", True),
        ("src/apps/shop/migrations/0002_x.py", True),
        ("shop/migrations/__init__.py", False),
        ("shop/migrations/_helpers.py", False),
        ("shop/migrations/README.md", False),
        ("shop/migrations/sub/0001.py", False),
        ("alembic/versions/0001_initial.py", False),
        ("shop/models.py", False),
    ],
)
def test_is_migration_path(path: str, expected: bool) -> None:
    assert is_migration_path(path) is expected


def test_history_paths_needed_are_the_migrations_directories() -> None:
    assert history_paths_needed(
        ["a/migrations/0002_x.py", "a/migrations/0003_y.py", "b/migrations/0001.py", "a/models.py"]
    ) == {"a/migrations", "b/migrations"}


def test_routine_pull_request() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_bio.py", "shop/models.py"],
        {"shop/migrations/0002_bio.py": migration(ROUTINE_ADD)},
        HISTORY,
        [],
    )
    assert (analysis.verdict, analysis.kind) == (Verdict.ROUTINE, None)
    assert analysis.first_concern() is None


def test_tricky_pull_request_names_its_first_concern() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_a.py", "shop/migrations/0003_b.py", "shop/models.py"],
        {
            "shop/migrations/0002_a.py": migration("migrations.RunSQL(SQL, SQL)"),
            "shop/migrations/0003_b.py": migration(REMOVE, dependencies='[("shop", "0002_a")]'),
        },
        HISTORY,
        [],
    )
    assert (analysis.verdict, analysis.kind) == (Verdict.TRICKY, "migration")
    concern = analysis.first_concern()
    assert concern is not None
    assert (concern.operation, concern.verdict) == ("RemoveField", Verdict.TRICKY)


def test_review_only_pull_request_names_the_review_operation() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_a.py"],
        {"shop/migrations/0002_a.py": migration("migrations.RunSQL(SQL, SQL)")},
        HISTORY,
        [],
    )
    assert (analysis.verdict, analysis.kind) == (Verdict.REVIEW, "migration")
    concern = analysis.first_concern()
    assert concern is not None and concern.operation == "RunSQL"


def test_pull_request_sees_its_own_earlier_migrations() -> None:
    # 0002 creates a model and 0003 adds a NOT NULL field to it: the table is new in this
    # deploy, so nothing running uses it.
    analysis = analyse_pull_request(
        ["shop/migrations/0002_badge.py", "shop/migrations/0003_badge_label.py"],
        {
            "shop/migrations/0002_badge.py": migration(
                'migrations.CreateModel("Badge", [("id", models.AutoField(primary_key=True))])',
                dependencies='[("shop", "0001_initial")]',
            ),
            "shop/migrations/0003_badge_label.py": migration(
                'migrations.AddField("badge", "label", models.CharField(max_length=9))',
                dependencies='[("shop", "0002_badge")]',
            ),
        },
        HISTORY,
        [],
    )
    assert analysis.verdict == Verdict.ROUTINE, analysis.to_json()


def test_alter_field_against_a_field_added_earlier_in_the_same_pull_request() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_a.py", "shop/migrations/0003_b.py"],
        {
            "shop/migrations/0002_a.py": migration(ROUTINE_ADD),
            "shop/migrations/0003_b.py": migration(
                'migrations.AlterField("person", "bio", models.TextField())',
                dependencies='[("shop", "0002_a")]',
            ),
        },
        None,  # the base is not available: the PR's own files still count
        [],
    )
    finding = analysis.files[1].operations[0]
    assert finding.verdict == Verdict.TRICKY
    assert "NOT NULL" in finding.reason


def test_deleted_or_unfetched_migration_needs_review() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_gone.py", "shop/migrations/0003_too_big.py"],
        {"shop/migrations/0002_gone.py": None},
        HISTORY,
        [],
    )
    # Only what the caller passed is analysed: the gate reports files it did not read.
    assert [(item.path, item.verdict) for item in analysis.files] == [
        ("shop/migrations/0002_gone.py", Verdict.REVIEW)
    ]
    assert "deleted" in analysis.files[0].operations[0].reason


def test_remove_field_without_a_models_change_is_step_2_of_a_remove_plan() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_remove.py"],
        {"shop/migrations/0002_remove.py": migration(REMOVE)},
        HISTORY,
        [],
    )
    (finding,) = analysis.files[0].operations
    assert finding.verdict == Verdict.TRICKY  # step 2 still needs its booked deploy
    assert "step 2 of a remove plan" in finding.reason
    assert any("step 2" in advice for advice in analysis.files[0].advice)


def test_remove_field_with_the_models_change_in_the_same_pr_is_not_step_2() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_remove.py", "shop/models.py"],
        {"shop/migrations/0002_remove.py": migration(REMOVE)},
        HISTORY,
        [],
    )
    (finding,) = analysis.files[0].operations
    assert "step 2" not in finding.reason
    assert any("two PRs" in advice for advice in analysis.files[0].advice)


def test_add_and_remove_in_separate_migrations_of_one_pr_advises_a_rename_plan() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_a.py", "shop/migrations/0003_b.py"],
        {
            "shop/migrations/0002_a.py": migration(ROUTINE_ADD),
            "shop/migrations/0003_b.py": migration(REMOVE, dependencies='[("shop", "0002_a")]'),
        },
        HISTORY,
        [],
    )
    assert any("/deploy plan rename" in advice for advice in analysis.advice)


def test_es_mapping_paths_make_the_pr_tricky_of_kind_es() -> None:
    analysis = analyse_pull_request(
        ["kitsune/search/es_mappings/question.json", "README.md"],
        {},
        None,
        ["kitsune/search/**/*.json"],
    )
    assert analysis.es_mapping_paths == ("kitsune/search/es_mappings/question.json",)
    assert (analysis.verdict, analysis.kind) == (Verdict.TRICKY, "es")


def test_empty_es_mapping_patterns_turn_the_check_off() -> None:
    analysis = analyse_pull_request(["kitsune/search/es_mappings/question.json"], {}, None, [])
    assert (analysis.verdict, analysis.kind) == (Verdict.ROUTINE, None)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("search/*.py", "search/documents.py", True),
        ("search/*.py", "search/tests/test_x.py", False),
        ("search/**", "search/tests/test_x.py", True),
        ("**/mappings/*.json", "mappings/a.json", True),
        ("**/mappings/*.json", "app/search/mappings/a.json", True),
        ("/search/es?.py", "search/es7.py", True),
        ("search/[ab].py", "search/c.py", False),
        ("search/[!ab].py", "search/c.py", True),
        ("   ", "anything", False),
    ],
)
def test_globs(pattern: str, path: str, expected: bool) -> None:
    assert matches_any(path, [pattern]) is expected


def test_pull_request_analysis_round_trips_through_json() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_a.py", "search/mapping.json"],
        {"shop/migrations/0002_a.py": migration(REMOVE, ROUTINE_ADD, docstring=None)},
        HISTORY,
        ["search/*.json"],
    )
    data = analysis.to_json()
    assert PullRequestAnalysis.from_json(data) == analysis
    file_json = data["files"][0]
    assert set(file_json) >= {"path", "verdict", "operations", "warnings"}
    assert set(file_json["operations"][0]) == {"operation", "model", "field", "verdict", "reason"}


def test_build_derives_verdict_and_kind() -> None:
    finding = OperationFinding("RunSQL", None, None, Verdict.REVIEW, "x")
    item = FileAnalysis("a/migrations/0001.py", Verdict.REVIEW, (finding,))
    assert PullRequestAnalysis.build([item]).kind == "migration"
    assert PullRequestAnalysis.build([]).kind is None


def test_history_follows_dependencies_not_file_names() -> None:
    # 0003_b depends on 0002_a only; 0002_z (a parallel branch, merged later) is not its
    # ancestor and must not be replayed before it.
    sources = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_a.py": migration(dependencies='[("shop", "0001_initial")]'),
        "shop/migrations/0002_z.py": migration(dependencies='[("shop", "0001_initial")]'),
    }
    earlier = read_earlier(sources, frozenset())
    assert ancestors("0003_b", ["0002_a"], earlier) == ["0001_initial", "0002_a"]
    # Without usable dependencies: Django's numbering.
    assert ancestors("0003_b", [], earlier) == ["0001_initial", "0002_a", "0002_z"]


def test_a_bug_in_a_rule_becomes_review_not_an_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.migration_analysis import rules

    def broken(*args: object) -> list[OperationFinding]:
        raise KeyError("bug")

    monkeypatch.setitem(rules.RULES, "RemoveField", broken)
    analysis = analyse_pull_request(
        ["shop/migrations/0002_remove.py"],
        {"shop/migrations/0002_remove.py": migration(REMOVE)},
        HISTORY,
        [],
    )
    assert analysis.verdict == Verdict.REVIEW
    assert "the analyser failed" in analysis.files[0].operations[0].reason


def test_dependency_cycle_in_history_does_not_hang() -> None:
    sources = {
        "shop/migrations/0001_a.py": migration(dependencies='[("shop", "0002_b")]'),
        "shop/migrations/0002_b.py": migration(dependencies='[("shop", "0001_a")]'),
    }
    earlier = read_earlier(sources, frozenset())
    assert sorted(ancestors("0003_c", ["0002_b"], earlier)) == ["0001_a", "0002_b"]


def test_squashed_migration_whose_replaced_migrations_are_in_history_is_routine() -> None:
    history = dict(HISTORY)
    history["shop/migrations/0002_nick.py"] = migration(
        REMOVE, dependencies='[("shop", "0001_initial")]'
    )
    squash = migration(
        'migrations.CreateModel("Person", [("id", models.AutoField(primary_key=True))])',
        REMOVE,
        body="",
    ).replace(
        b"    dependencies = []",
        b'    replaces = [("shop", "0001_initial"), ("shop", "0002_nick")]\n    dependencies = []',
    )
    analysis = analyse_pull_request(
        ["shop/migrations/0001_squashed_0002_nick.py"],
        {"shop/migrations/0001_squashed_0002_nick.py": squash},
        history,
        [],
    )
    assert analysis.verdict == Verdict.ROUTINE, analysis.to_json()
    assert analysis.files[0].operations[0].operation == "(squashed)"


def test_squashed_migration_without_its_replaced_migrations_is_judged() -> None:
    squash = migration(REMOVE).replace(
        b"    dependencies = []", b'    replaces = [("shop", "0009_gone")]\n    dependencies = []'
    )
    analysis = analyse_pull_request(
        ["shop/migrations/0010_squash.py"], {"shop/migrations/0010_squash.py": squash}, HISTORY, []
    )
    assert analysis.verdict == Verdict.TRICKY


def test_summary_line_for_a_commit_status() -> None:
    from bot.migration_analysis.report import summary

    tricky = analyse_pull_request(
        ["shop/migrations/0002_r.py"], {"shop/migrations/0002_r.py": migration(REMOVE)}, HISTORY, []
    )
    assert summary(tricky).startswith("tricky: RemoveField: drops column person.nickname")
    assert len(summary(tricky, limit=40)) == 40
    es = analyse_pull_request(["search/a.json"], {}, None, ["search/*"])
    assert summary(es) == "Elasticsearch mapping change (search/a.json)"
    routine = analyse_pull_request([], {}, None, [])
    assert summary(routine) == "No backward-incompatible migration"


@pytest.mark.parametrize(
    "models_path", ["shop/models.py", "shop/models/person.py", "shop/db/models.py"]
)
def test_models_changed_anywhere_in_the_app_is_not_step_2(models_path: str) -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_remove.py", models_path],
        {"shop/migrations/0002_remove.py": migration(REMOVE)},
        HISTORY,
        [],
    )
    assert "step 2" not in analysis.files[0].operations[0].reason


def test_models_of_another_app_do_not_count() -> None:
    analysis = analyse_pull_request(
        ["shop/migrations/0002_remove.py", "blog/models.py"],
        {"shop/migrations/0002_remove.py": migration(REMOVE)},
        HISTORY,
        [],
    )
    assert "step 2" in analysis.files[0].operations[0].reason
