"""`deploybot migrations check`: in-process through `bot.cli.main`, and once as a
subprocess for the exit codes the way CI sees them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["migrations", "check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_routine_app_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(FIXTURES / "library"))
    assert code == 0
    assert "0002_book_isbn_index.py: routine" in out
    assert "AddIndexConcurrently" in out
    assert out.rstrip().endswith("2 migration files: 0 tricky, 0 review, 2 routine")


def test_text_output_groups_operations_by_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(FIXTURES / "shop"))
    assert code == 1
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 4  # three files and the counts
    assert blocks[2].startswith(
        str(FIXTURES / "shop/migrations/0003_remove_product_description.py")
    )
    assert "tricky   RemoveField: drops column product.description" in blocks[2]
    assert "advice:" in blocks[2]


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    target = FIXTURES / "shop/migrations/0003_remove_product_description.py"
    code, out, _ = run(capsys, "--json", str(target))
    assert code == 1
    (item,) = json.loads(out)
    assert item["path"] == str(target)
    assert item["verdict"] == "tricky"
    assert item["operations"] == [
        {
            "operation": "RemoveField",
            "model": "product",
            "field": "description",
            "verdict": "tricky",
            "reason": item["operations"][0]["reason"],
        }
    ]
    assert item["warnings"] == []


def test_history_comes_from_the_same_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    app = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", app)
    (app / "migrations/0004_price.py").write_text(
        '"""Wider prices."""\n'
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0003_remove_product_description")]\n'
        "    operations = [\n"
        '        migrations.AlterField("product", "price",'
        " models.DecimalField(decimal_places=2, max_digits=12)),\n"
        "    ]\n"
    )
    code, out, _ = run(capsys, "--json", str(app / "migrations/0004_price.py"))
    assert code == 0, out
    assert "widens max_digits from 8 to 12" in out


def test_streamfield_fixture_change_is_routine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    app = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", app)
    (app / "migrations/0004_body_blocks.py").write_text(
        '"""Quotes in the body."""\n'
        "import wagtail.blocks\nimport wagtail.fields\n"
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0003_remove_product_description")]\n'
        "    operations = [\n"
        '        migrations.AlterField("product", "body", wagtail.fields.StreamField(['
        '("paragraph", wagtail.blocks.RichTextBlock()), ("quote", wagtail.blocks.CharBlock())'
        "], use_json_field=True)),\n"
        "    ]\n"
    )
    code, out, _ = run(capsys, str(app / "migrations/0004_body_blocks.py"))
    assert code == 0, out


def test_unreadable_file_is_review(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "app/migrations/0001_bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"class Migration(:\n")
    code, out, _ = run(capsys, str(bad))
    assert code == 1
    assert "review" in out and "syntax error" in out


def test_no_such_path_exits_2_with_a_short_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "/no/such/place")
    assert code == 2
    assert out == ""
    assert err.strip() == "deploybot: no such file or directory: /no/such/place"


def test_directory_without_migrations_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2
    assert "no */migrations/*.py files" in err


def test_a_missing_path_next_to_routine_files_still_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, str(FIXTURES / "library"), "/no/such/place")
    assert code == 1
    assert "no such file" in err


def test_directory_walk_skips_installed_packages_and_init(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shutil.copytree(FIXTURES / "library", tmp_path / "library")
    vendored = tmp_path / ".venv/lib/site-packages/django/contrib/auth/migrations"
    vendored.mkdir(parents=True)
    (vendored / "0001_initial.py").write_text("syntax error (\n")
    code, out, _ = run(capsys, "--json", str(tmp_path))
    assert code == 0
    paths = [item["path"] for item in json.loads(out)]
    assert len(paths) == 2 and all("library/migrations/000" in path for path in paths)


def test_alembic_revisions_are_found_in_a_directory_and_named_explicitly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, str(FIXTURES / "tasks"))
    assert code == 0, out
    assert "op.create_index: adds index ix_task_owner (owner) on task concurrently" in out
    assert out.rstrip().endswith("2 migration files: 0 tricky, 0 review, 2 routine")
    # Named explicitly, a revision is judged against its directory's other revisions.
    versions = tmp_path / "tasks/versions"
    shutil.copytree(FIXTURES / "tasks/versions", versions)
    (versions / "0003_drop_note.py").write_text(
        '"""Drop task.note."""\nfrom alembic import op\n\nrevision = "0003"\n'
        'down_revision = "0002"\n\n\ndef upgrade():\n    op.drop_column("task", "note")\n\n\n'
        'def downgrade():\n    op.add_column("task", sa.Column("note", sa.String(20)))\n'
    )
    code, out, _ = run(capsys, "--json", str(versions / "0003_drop_note.py"))
    assert code == 1
    (item,) = json.loads(out)
    assert item["verdict"] == "tricky"
    assert item["operations"][0]["reason"] == (
        "drops column task.note while the old code still selects it"
    )


def test_a_python_file_in_versions_without_the_markers_is_not_walked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    versions = tmp_path / "alembic/versions"
    versions.mkdir(parents=True)
    (versions / "helpers.py").write_text("def upgrade():\n    pass\n")
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2
    assert "no */migrations/*.py files or Alembic revisions" in err


# What the analyser finds in the bot's own revisions and the team accepts, by file: the
# file's verdict and, for each finding that is not routine, its operation, verdict and
# the start of its reason. Every other revision must be routine without warnings, and
# every finding listed here must still be found: a finding that disappears (the analyser
# changed, or someone edited a shipped revision) fails the test until it is removed here.
ACCEPTED = {
    "alembic/versions/0003_approvals_lifecycle_plans.py": (
        "tricky",
        [
            # A unique index on the existing booking table is a UniqueConstraint: rows may
            # violate it. A true finding, accepted: 0003 shipped before the analyser read
            # Alembic, and no row could violate it then: before 0003 no code set a
            # booking 'deploying' (the lifecycle transitions that do came with 0003 in
            # commit 712348f), so no app had two.
            (
                "op.create_index",
                "tricky",
                "adds UniqueConstraint uq_booking_one_deploying_per_app to existing table booking",
            ),
        ],
    ),
}


def test_the_bots_own_alembic_migrations_are_routine_but_for_the_accepted_findings() -> None:
    """The team's rule: the bot's own migrations pass the bot's own analyser, and what
    does not pass is accepted here, by name, with the reason."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrations", "check", "--json", "alembic/versions"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin"},  # no bot settings at all
    )
    items = json.loads(result.stdout)
    assert len(items) == len(list((REPO_ROOT / "alembic/versions").glob("0*.py")))
    found = {
        item["path"]: (
            item["verdict"],
            [
                (op["operation"], op["verdict"], op["reason"])
                for op in item["operations"]
                if op["verdict"] != "routine"
            ],
        )
        for item in items
        if item["verdict"] != "routine" or item["warnings"]
    }
    assert all(not item["warnings"] for item in items), [item["warnings"] for item in items]
    assert set(found) == set(ACCEPTED), found
    for path, (verdict, findings) in ACCEPTED.items():
        assert found[path][0] == verdict, found[path]
        assert [(op, v) for op, v, _ in found[path][1]] == [(op, v) for op, v, _ in findings]
        for (_, _, reason), (_, _, start) in zip(found[path][1], findings, strict=True):
            assert reason.startswith(start), reason
    # Tricky findings exit 1, as CI sees it; nothing is review (exit 1 too) or unreadable.
    assert result.returncode == (1 if ACCEPTED else 0), result.stderr


def test_subprocess_exit_codes() -> None:
    """The installed entry point, as CI runs it: exit 0, 1 and 2 in one go."""

    def check(*paths: Path | str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot", "migrations", "check", "--json", *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO_ROOT,
            env={"PATH": "/usr/bin:/bin"},  # no bot settings at all
        )

    routine = check(FIXTURES / "library")
    assert routine.returncode == 0, routine.stderr
    assert [item["verdict"] for item in json.loads(routine.stdout)] == ["routine", "routine"]
    assert check(FIXTURES / "shop").returncode == 1
    missing = check("no/such/path")
    assert missing.returncode == 2
    assert "no such file or directory" in missing.stderr


def test_paths_relative_to_inside_the_migrations_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES / "shop/migrations")
    code, out, _ = run(capsys, "--json", "0003_remove_product_description.py", ".")
    assert code == 1
    items = json.loads(out)
    assert items[0]["path"] == "0003_remove_product_description.py"
    assert len(items) == 3  # the file named, then the other two found below "."
    code, out, _ = run(capsys, ".")
    assert "3 migration files" in out
