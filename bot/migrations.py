"""Applying the schema migrations (alembic) from the bot's own commands."""

from __future__ import annotations

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
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
