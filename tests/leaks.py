"""Looking for a person in everything Sahay stores: every column of every table (with sealed
values decrypted), and Rasa's tracker store."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.crypto import AddressBox, AddressUnreadable

FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_=-]+")


def _readable(value: Any, box: AddressBox) -> str:
    """The value as text, and, for anything that is a Fernet token, what it says."""
    text = (
        json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else value
    )
    found = [text]
    for token in FERNET_TOKEN.findall(text):
        with contextlib.suppress(AddressUnreadable):
            found.append(box.open(token))
    return "\n".join(found)


async def where_found(
    engine: AsyncEngine, needles: Iterable[str], box: AddressBox
) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every needle found in any cell of any table."""
    wanted = [n for n in needles if n]
    hits = []
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        for name in tables:
            result = await conn.execute(sa.text(f'SELECT * FROM "{name}"'))  # noqa: S608 - names from the schema
            columns = list(result.keys())
            for row in result.all():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = _readable(value, box)
                    hits += [(name, column, n) for n in wanted if n in text]
    return hits
