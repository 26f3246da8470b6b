"""Erasure and retention: a contact's confirmed erasure, a request's anonymisation, and
message text that the retention purge removes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("erase_requested_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("outbound_messages") as batch:
        batch.alter_column("text", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE outbound_messages SET text = '' WHERE text IS NULL")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.alter_column("text", existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("anonymised_at")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("erase_requested_at")
