"""Rasa's tracker store, as the gateway reaches it to erase a person and to purge old turns.

Rasa keeps each conversation as rows of its `events` table (SQLTrackerStore) keyed by
`sender_id`, which is Sahay's pseudonymous contact id. In development that table is in
var/rasa/tracker.db; on PostgreSQL, in the database `<DATABASE_URL's>_tracker` on the same
server (bot/supervisor.py writes Rasa's endpoints.yml from the same setting).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine

EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


def _no_table(exc: Exception) -> bool:
    """Rasa has not yet made its database or table (it does on its first start): nothing
    is stored there."""
    text = str(exc).lower()
    missing = "does not exist" in text and ("events" in text or 'database "' in text)
    return "no such table" in text or missing


class TrackerStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)

    async def erase(self, sender_id: str) -> int:
        """Delete every turn of one conversation; the number of events deleted. Raises when
        the store cannot be reached (the erasure is then tried again)."""
        return await self._delete(EVENTS.c.sender_id == sender_id)

    async def purge(self, before: datetime) -> int:
        """Delete every event older than `before` (Rasa stores Unix timestamps)."""
        return await self._delete(EVENTS.c.timestamp < before.timestamp())

    async def count(self, sender_id: str) -> int:
        try:
            async with self.engine.connect() as conn:
                query = sa.select(sa.func.count()).where(EVENTS.c.sender_id == sender_id)
                return int(await conn.scalar(query.select_from(EVENTS)) or 0)
        except DBAPIError as exc:
            if _no_table(exc):
                return 0
            raise

    async def _delete(self, where: sa.ColumnElement[bool]) -> int:
        try:
            async with self.engine.begin() as conn:
                deleted = await conn.execute(EVENTS.delete().where(where))
                return int(deleted.rowcount or 0)
        except DBAPIError as exc:
            if _no_table(exc):
                return 0
            raise

    async def dispose(self) -> None:
        await self.engine.dispose()
