"""`sahay db upgrade`: Alembic, configured in code (no alembic.ini to keep in sync)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking: run from the CLI or a thread, never on the event loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


async def create_database(url: str) -> bool:
    """Create the PostgreSQL database `url` names if it is missing; True when created."""
    import asyncpg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = {
        "host": target.host,
        "port": target.port or 5432,
        "user": target.username,
        "password": target.password,
    }
    try:
        await (await asyncpg.connect(database=target.database, **server)).close()
        return False
    except asyncpg.InvalidCatalogNameError:
        pass
    conn = await asyncpg.connect(database="postgres", **server)
    try:
        await conn.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await conn.close()
    return True
