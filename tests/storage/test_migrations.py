"""Alembic owns the schema: migrations match the models, and go down and up again."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import storage.broadcast_models  # noqa: F401 - its tables are part of the schema
from storage.db import Database
from storage.migrate import downgrade, upgrade
from storage.models import Base


async def test_migrations_match_the_models(database: Database) -> None:
    async with database.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert diff == []


async def test_downgrade_to_nothing_and_upgrade_again(database: Database) -> None:
    await asyncio.to_thread(downgrade, database.url, "base")
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert set(tables) <= {"alembic_version"}
    await asyncio.to_thread(upgrade, database.url)
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert {"contacts", "inbound_messages", "outbound_messages"} <= set(tables)
