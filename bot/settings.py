"""All configuration, read once from the environment (and an optional `.env` file).

Names match the interface contract in the README. Settings that only some commands need
(the Slack tokens, say) are optional here and demanded by `Settings.require`, so that
`deploybot migrate` works without Slack credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.windows.rules import WindowError, parse_seed

DEFAULT_DATABASE_URL = "sqlite:///deploybot.sqlite3"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


PositiveInt = Annotated[int, Field(ge=1)]
REPO_PATTERN = r"^[\w.-]+/[\w.-]+$"


class AppSpec(BaseModel):
    """One entry of APPS: the GitHub repository an app is built from, and the Heroku
    app that runs it in production (the booked name when not given)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: str = Field(pattern=REPO_PATTERN)
    heroku_app: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{1,29}$")


@dataclass(frozen=True)
class App:
    """A booked app: its name in bookings, its repository and its Heroku production app."""

    name: str
    repo: str | None
    heroku_app: str


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # Slack
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: AnyHttpUrl = AnyHttpUrl("https://slack.com/api/")

    # Process
    database_url: str = DEFAULT_DATABASE_URL
    port: Annotated[int, Field(ge=1, le=65535)] = 3000
    web_concurrency: PositiveInt = 2
    log_level: str = "INFO"
    # Processes that do the work behind Slack's acknowledgements, beside the web workers
    # (docs/adr/0013); 0 does it on threads inside the web workers instead. They run at
    # this `nice` value (19 is the lowest priority), so acknowledgements get the CPU first.
    work_processes: Annotated[int, Field(ge=0, le=16)] = 1
    work_nice: Annotated[int, Field(ge=0, le=19)] = 19
    # Whether the web dyno does that work (the default, one dyno). False: the web workers
    # only record each request's work and acknowledge it, and `deploybot work` (the
    # Procfile's `worker`, on dynos of its own) does it, in WORK_PROCESSES processes
    # (docs/adr/0020). WORK_PROCESSES=0 (the work on the web workers' threads) cannot
    # be combined with it.
    work_on_web: bool = True
    # How long a work process's claim on recorded work lasts without being renewed
    # (docs/adr/0018): the work of a process that died is done by another this long after.
    work_lease_seconds: Annotated[int, Field(ge=3, le=600)] = 30
    # How long a `deploybot clock` holds its lease in the database without renewing it:
    # a second clock takes over at most this plus a third of it after the first dies.
    clock_lease_seconds: Annotated[int, Field(ge=3, le=300)] = 30
    # How long a process's claim on an outgoing Slack message lasts (docs/adr/0019):
    # longer than any send takes with the client's own retries, since a claim that runs
    # out mid-send lets another process send it again; a process killed mid-send holds
    # back the rest of that channel's messages this long.
    outbox_lease_seconds: Annotated[int, Field(ge=3, le=600)] = 120

    # Channels
    deploy_channel: str | None = None
    review_apps_channel: str | None = None

    # Booking rules
    default_app: str | None = None
    # Several sites: a JSON object of booked app name -> {"repo": "owner/name",
    # "heroku_app": "heroku-production-app"} (heroku_app defaults to the name). Empty:
    # the one app DEFAULT_APP, built from GITHUB_REPO and run by the Heroku app of the
    # same name.
    # NoDecode: our validator reads the JSON, so a mistake is reported like any other.
    apps: Annotated[dict[str, AppSpec], NoDecode] = Field(default_factory=dict)
    min_lead_minutes: Annotated[int, Field(ge=0)] = 10
    default_duration_minutes: PositiveInt = 30
    max_duration_minutes: PositiveInt = 480

    # Lifecycle and reminders
    early_start_grace_minutes: Annotated[int, Field(ge=0)] = 15
    allow_emergency_override: bool = False
    expire_after_hours: PositiveInt = 12
    calendar_token: str | None = Field(default=None, min_length=16)

    # Approval and freeze rules
    required_approvals: PositiveInt = 1
    approver_usergroup: str | None = None
    freeze_branch: str = Field(default="master", min_length=1, max_length=100)
    # Hours a freeze may stay on before the person who froze it is reminded, and again
    # every as many hours after that. Fractions are allowed (0.5 is half an hour).
    freeze_reminder_hours: Annotated[float, Field(gt=0)] = 4.0
    # The deploy windows of a new install, one `/deploy window add` argument list per
    # line or `;` (e.g. `blackout "0 15 * * 5" for 66h Europe/Berlin "Weekend"`); stored
    # the first time the windows are read, then managed from Slack.
    deploy_windows: str = ""

    # The bot's own public base URL (e.g. https://my-deploybot.herokuapp.com); commit
    # statuses link to its /api/freeze when set.
    public_url: AnyHttpUrl | None = None

    # GitHub
    github_token: str | None = None
    github_repo: str | None = Field(default=None, pattern=REPO_PATTERN)
    github_api_url: AnyHttpUrl = AnyHttpUrl("https://api.github.com")
    github_webhook_secret: str | None = None
    # Paths whose change makes a PR an Elasticsearch mapping change (comma-separated
    # globs, e.g. "*/search/mappings.py,search/*.json"); empty turns the check off.
    es_mapping_paths: str = ""

    # Heroku and review apps
    heroku_webhook_secret: str | None = None
    # Optional: a Heroku API token that can read the production apps' releases and
    # slugs, to find a release's commit when its webhook names none (no slug commit and
    # no "Deploy <sha>" description). Without it such a release moves no booking.
    heroku_api_token: str | None = None
    heroku_api_url: AnyHttpUrl = AnyHttpUrl("https://api.heroku.com")
    # One short message per production release in DEPLOY_CHANNEL (version, commit, PRs,
    # who deployed), threaded under the booking's announcement when there is one.
    release_notes: bool = False
    # Minutes a release that a deploying booking may explain waits for the merge
    # webhook (deliveries arrive out of order) before it counts as unexplained.
    release_wait_minutes: Annotated[int, Field(ge=0)] = 60
    review_app_notify_token: str | None = None
    slack_webhook_ra: str | None = None

    @field_validator("database_url")
    @classmethod
    def _accept_heroku_postgres_urls(cls, value: str) -> str:
        # Heroku hands out `postgres://`, which SQLAlchemy no longer accepts; we also pin
        # the psycopg 3 driver so a plain `postgresql://` URL does not look for psycopg2.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("apps", mode="before")
    @classmethod
    def _apps_from_json(cls, value: Any) -> Any:
        # Given as JSON in the environment; tests and .env files may pass the string.
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator("public_url", mode="before")
    @classmethod
    def _empty_url_is_unset(cls, value: object) -> object:
        # `PUBLIC_URL=` (as Heroku config or .env leaves it) means "not set".
        return None if value == "" else value

    @field_validator("deploy_windows")
    @classmethod
    def _readable_windows(cls, value: str) -> str:
        try:
            parse_seed(value)
        except WindowError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("work_on_web")
    @classmethod
    def _work_somewhere(cls, value: bool, info: ValidationInfo) -> bool:
        # WORK_PROCESSES is declared first, so it has been read (unless malformed).
        if not value and info.data.get("work_processes") == 0:
            raise ValueError(
                "false needs WORK_PROCESSES of 1 or more (the worker dyno's processes); "
                "WORK_PROCESSES=0 does the work on the web dyno's threads"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def es_mapping_patterns(self) -> list[str]:
        return [part.strip() for part in self.es_mapping_paths.split(",") if part.strip()]

    @cached_property
    def app_list(self) -> tuple[App, ...]:
        """Every booked app; DEFAULT_APP with GITHUB_REPO when APPS is not set."""
        if self.apps:
            return tuple(
                App(name, spec.repo, spec.heroku_app or name) for name, spec in self.apps.items()
            )
        if self.default_app:
            return (App(self.default_app, self.github_repo, self.default_app),)
        return ()

    @cached_property
    def github_repos(self) -> tuple[str, ...]:
        """Every repository the freeze and the gate watch: GITHUB_REPO, then each app's
        repository of APPS, each once (GitHub's names are case-insensitive)."""
        repos: list[str] = []
        for repo in (self.github_repo, *(app.repo for app in self.app_list)):
            if repo and repo.lower() not in {known.lower() for known in repos}:
                repos.append(repo)
        return tuple(repos)

    def repo_of_app(self, name: str) -> str | None:
        """The repository a booking of app `name` names its `#123` pull requests in:
        GITHUB_REPO in the one-app case, the app's own with APPS (None: not one of them)."""
        if not self.apps:
            return self.github_repo
        app = self.app_named(name)
        return app.repo if app is not None else None

    def production_app(self, heroku_app: str) -> App | None:
        """The booked app whose Heroku production app is `heroku_app` (None: a review
        app, or an app the bot does not follow)."""
        return next((app for app in self.app_list if app.heroku_app == heroku_app), None)

    def app_named(self, name: str) -> App | None:
        return next((app for app in self.app_list if app.name == name), None)

    def apps_of_repo(self, repo: str) -> list[App]:
        return [app for app in self.app_list if (app.repo or "").lower() == repo.lower()]

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def require(self, *names: str) -> None:
        """Stop with one line naming every one of `names` that is not set: a new user
        should learn all that is missing at once, not one setting per attempt."""
        missing = [name.upper() for name in names if not getattr(self, name)]
        if len(missing) == 1:
            raise SettingsError(f"missing required setting {missing[0]}")
        if missing:
            raise SettingsError(f"missing required settings {', '.join(missing)}")


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one line that names every
    malformed setting (never its value: it may be a secret)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors(include_input=False, include_url=False):
            name = str(error["loc"][0]).upper() if error["loc"] else "?"
            problems.setdefault(name, str(error["msg"]))
        label = "malformed setting" if len(problems) == 1 else "malformed settings"
        details = "; ".join(f"{name}: {msg}" for name, msg in problems.items())
        raise SettingsError(f"{label} {details}") from None
