"""Settings: every one is documented, and parsing follows the contract."""

from __future__ import annotations

import json

import pytest

from bot.migrations import REPO_ROOT
from bot.settings import Settings, SettingsError

SETTING_NAMES = sorted(name.upper() for name in Settings.model_fields)


@pytest.mark.parametrize("name", SETTING_NAMES)
def test_every_setting_is_in_the_readme_table_and_app_json(name: str) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    app_json = json.loads((REPO_ROOT / "app.json").read_text())
    assert f"| `{name}` |" in readme
    assert name in app_json["env"]
    assert app_json["env"][name]["description"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/x", "postgresql+psycopg://u:p@db:5432/x"),
        ("postgresql://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:///deploybot.sqlite3", "sqlite:///deploybot.sqlite3"),
    ],
)
def test_database_urls(given: str, expected: str) -> None:
    assert Settings(database_url=given).database_url == expected


def test_require_names_the_missing_setting() -> None:
    with pytest.raises(SettingsError, match="missing required setting SLACK_BOT_TOKEN"):
        Settings(slack_bot_token=None).require("slack_bot_token")


def test_app_json_has_no_duplicate_keys() -> None:
    def refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys in app.json: {keys}"
        return dict(pairs)

    json.loads((REPO_ROOT / "app.json").read_text(), object_pairs_hook=refuse_duplicates)


def test_apps_name_each_apps_repository_and_heroku_app() -> None:
    settings = Settings(
        apps='{"site": {"repo": "org/site", "heroku_app": "site-prod"}, '
        '"donate": {"repo": "org/donate"}}'
    )
    assert settings.production_app("site-prod") is not None
    assert settings.production_app("site") is None  # a review app, say
    donate = settings.app_named("donate")
    assert donate is not None and (donate.repo, donate.heroku_app) == ("org/donate", "donate")
    assert [a.name for a in settings.apps_of_repo("ORG/site")] == ["site"]


def test_without_apps_default_app_and_github_repo_are_the_one_app() -> None:
    settings = Settings(default_app="foundation-site", github_repo="org/site")
    (app,) = settings.app_list
    assert (app.name, app.repo, app.heroku_app) == (
        "foundation-site",
        "org/site",
        "foundation-site",
    )


@pytest.mark.parametrize("given", ['{"site": {"repo": "no-slash"}}', "{not json", '["site"]'])
def test_malformed_apps_are_refused(given: str) -> None:
    with pytest.raises(ValueError, match="apps"):
        Settings(apps=given)


def test_the_work_is_on_the_web_dyno_unless_told_otherwise() -> None:
    assert Settings().work_on_web is True
    assert Settings(work_on_web="false", work_processes=2).work_on_web is False  # type: ignore[arg-type]


def test_a_worker_dyno_needs_work_processes() -> None:
    # WORK_PROCESSES=0 means the web workers' threads do the work: no worker dyno then.
    with pytest.raises(ValueError, match="work_on_web"):
        Settings(work_on_web=False, work_processes=0)
