"""inbound media kind; service locations and areas (atoll, province)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_kind", sa.String(length=16), nullable=True))
    with op.batch_alter_table("service_points", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("area", sa.String(length=64), server_default="", nullable=False)
        )
    op.create_table(
        "service_locations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deployment", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_locations")),
        sa.UniqueConstraint("deployment", "name", name="uq_service_locations_name"),
    )


def downgrade() -> None:
    op.drop_table("service_locations")
    with op.batch_alter_table("service_points", schema=None) as batch_op:
        batch_op.drop_column("area")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_column("media_kind")
