"""service directory and contact location

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:14:45.283767
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deployment", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.String(length=120), nullable=False),
        sa.Column("sample", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_points")),
        sa.UniqueConstraint("deployment", "key", name="uq_service_points_key"),
    )
    with op.batch_alter_table("service_points", schema=None) as batch_op:
        batch_op.create_index("ix_service_points_lookup", ["deployment", "category"], unique=False)

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("location")

    with op.batch_alter_table("service_points", schema=None) as batch_op:
        batch_op.drop_index("ix_service_points_lookup")

    op.drop_table("service_points")
