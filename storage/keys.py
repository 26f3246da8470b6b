"""`sahay keys rotate`: every value encrypted at rest, sealed again under the newest key.

Put a new key first in ENCRYPTION_KEYS (keeping the old ones after it), restart, run this;
when it reports nothing unreadable, the old keys can be removed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import AddressBox, AddressUnreadable
from storage.db import Database
from storage.models import RequestEvent

# Every column that holds one sealed value per row: (table, primary key, column).
SEALED_COLUMNS = (
    ("contacts", "id", "address"),
    ("inbound_messages", "id", "text"),
    ("outbound_messages", "id", "text"),
    ("requests", "id", "description"),
    ("requests", "id", "phone"),
)
# Timeline events that hold sealed values in their data (web/timeline.py reads them).
SEALED_EVENT_KINDS = ("note", "reply", "person_message")
BATCH = 500


def _rotate_value(box: AddressBox, sealed: Any, counts: Counter[str], name: str) -> Any:
    if not isinstance(sealed, str) or not sealed:
        return sealed
    try:
        rotated = box.rotate(sealed)
    except AddressUnreadable:
        counts["unreadable"] += 1
        return sealed
    counts[name] += 1
    return rotated


async def _rotate_column(
    session: AsyncSession, box: AddressBox, where: tuple[str, str, str], counts: Counter[str]
) -> None:
    name, key, column = where
    # Read as plain text, not through SealedText: the tokens themselves are rotated.
    table = sa.table(name, sa.column(key, sa.String), sa.column(column, sa.Text))
    pk, value = table.c[key], table.c[column]
    last: Any = None
    while True:
        query = sa.select(pk, value).where(value.is_not(None)).order_by(pk).limit(BATCH)
        if last is not None:
            query = query.where(pk > last)
        rows = (await session.execute(query)).all()
        if not rows:
            return
        for row_id, sealed in rows:
            rotated = _rotate_value(box, sealed, counts, f"{name}.{column}")
            if rotated != sealed:
                await session.execute(table.update().where(pk == row_id).values({column: rotated}))
        last = rows[-1][0]


def _rotate_event(box: AddressBox, event: RequestEvent, counts: Counter[str]) -> None:
    data = dict(event.data)
    name = "request_events.data"
    if event.kind == "note":
        data["text"] = _rotate_value(box, data.get("text"), counts, name)
    elif event.kind == "reply":
        data["original"] = _rotate_value(box, data.get("original"), counts, name)
    elif event.kind == "person_message" and data.get("translations"):
        data["translations"] = {
            language: _rotate_value(box, sealed, counts, name)
            for language, sealed in data["translations"].items()
        }
    event.data = data


async def rotate(database: Database, box: AddressBox) -> Counter[str]:
    """Seal every value again under `box`'s first key. Counts per column, and `unreadable`:
    values no configured key opens (left as they are)."""
    counts: Counter[str] = Counter()
    for where in SEALED_COLUMNS:
        async with database.session() as session:
            await _rotate_column(session, box, where, counts)
    async with database.session() as session:
        events = await session.scalars(
            sa.select(RequestEvent).where(RequestEvent.kind.in_(SEALED_EVENT_KINDS))
        )
        for event in events:
            _rotate_event(box, event, counts)
    return counts
