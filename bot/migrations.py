"""Applying the schema migrations (alembic) from the bot's own commands."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

REPO_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    # The bot configures logging itself; alembic.ini's [loggers] would silence it.
    config.attributes["skip_logging_config"] = True
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    # Percent signs are interpolation markers in ini files.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    config = alembic_config(database_url)
    # The bot's commands have set logging up already (bot/logs.py). alembic.ini's logging
    # section would replace that set-up (root at WARN), silencing the rest of the process:
    # `serve` and `clock` migrate SQLite before they start.
    config.attributes["skip_logging_config"] = logging.getLogger().hasHandlers()
    command.upgrade(config, revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
