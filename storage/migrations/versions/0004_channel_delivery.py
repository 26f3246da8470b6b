"""channels: contact address and reachability, media metadata, outbound delivery state and
platform ids, location coordinates, channel state (Telegram polling offset)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reachable", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_meta", sa.JSON(), nullable=True))
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("media", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("platform_message_id", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("numbered", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_status_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("error", sa.String(length=300), nullable=True))
        batch_op.create_index(
            "ix_outbound_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_unique_constraint(
            "uq_outbound_platform_id", ["channel", "platform_message_id"]
        )
    with op.batch_alter_table("service_locations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    op.create_table(
        "channel_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_channel_state")),
    )


def downgrade() -> None:
    op.drop_table("channel_state")
    with op.batch_alter_table("service_locations", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_outbound_platform_id", type_="unique")
        batch_op.drop_index("ix_outbound_status_next_attempt")
        for column in (
            "error",
            "delivery_status_at",
            "delivery_status",
            "numbered",
            "platform_message_id",
            "claimed_at",
            "next_attempt_at",
            "attempts",
            "media",
            "template",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_column("media_meta")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("reachable")
        batch_op.drop_column("last_inbound_at")
        batch_op.drop_column("address")
