"""Message text encrypted at rest: the text already stored is sealed with the newest key

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from bot.settings import Settings
from storage.crypto import AddressUnreadable

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("inbound_messages", "outbound_messages")


def _rewrite(change: Callable[[str], str | None]) -> None:
    connection = op.get_bind()
    for name in TABLES:
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("text", sa.Text))
        rows = connection.execute(
            sa.select(table.c.id, table.c.text).where(table.c.text.is_not(None))
        )
        for row_id, value in rows.all():
            changed = change(value)
            if changed is not None:
                connection.execute(table.update().where(table.c.id == row_id).values(text=changed))


def upgrade() -> None:
    box = Settings().box()

    def seal(value: str) -> str | None:
        try:
            box.open(value)
        except AddressUnreadable:
            return box.seal(value)
        return None  # sealed already

    _rewrite(seal)


def downgrade() -> None:
    box = Settings().box()

    def unseal(value: str) -> str | None:
        try:
            return box.open(value)
        except AddressUnreadable:
            return None

    _rewrite(unseal)
