"""Risk-communication broadcasts: who subscribed to what, the broadcast and its per-language
variants with their reviews, and the delivery ledger (one row per broadcast and contact)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, _enum, utcnow

ALL_TOPICS = "all"  # a subscription to every topic (what "subscribe" in the chat gives)


class Subscription(Base):
    __tablename__ = "subscriptions"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    active: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class BroadcastStatus(enum.StrEnum):
    DRAFT = "draft"  # being written; variants reviewed one by one
    APPROVED = "approved"  # a second person approved it: it may be sent or scheduled
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(32))
    status: Mapped[BroadcastStatus] = mapped_column(
        _enum(BroadcastStatus), default=BroadcastStatus.DRAFT
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    approved_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None]
    # Who it goes to: {"languages": [...], "locations": [...], "channels": [...],
    # "seen_within_days": N}; empty lists mean everyone.
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A contact whose language has no variant gets this language's, or (None) is left out.
    fallback_language: Mapped[str | None] = mapped_column(String(8))
    # The approved WhatsApp template for people outside the 24-hour window:
    # {"name": ..., "language": ..., "parameters": [...]}; without one they are skipped.
    whatsapp_template: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BroadcastVariant(Base):
    """The broadcast in one language: its text, optionally an image or an audio recording."""

    __tablename__ = "broadcast_variants"
    __table_args__ = (UniqueConstraint("broadcast_id", "language", name="uq_variant_language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    media_kind: Mapped[str | None] = mapped_column(String(16))  # image or audio
    media_url: Mapped[str | None] = mapped_column(String(500))
    machine_drafted: Mapped[bool] = mapped_column(default=False, server_default=false())
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    reviewed_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LedgerState(enum.StrEnum):
    PENDING = "pending"  # to be sent
    CLAIMED = "claimed"  # a worker took it, not yet handed to the platform (a crash: pending)
    SENDING = "sending"  # handed to the platform (a crash: uncertain)
    SENT = "sent"
    FAILED = "failed"  # will not be sent; `error` says why
    SKIPPED = "skipped"  # not sent on purpose (unsubscribed, outside the window, no variant)
    UNCERTAIN = "uncertain"  # the worker died while the platform had it: never retried


class BroadcastDelivery(Base):
    """The ledger: one row per (broadcast, contact), so nobody is ever sent one twice."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "contact_id", name="uq_delivery_once"),
        Index("ix_broadcast_deliveries_work", "broadcast_id", "state", "id"),
        # Rows in hand (claimed, sending) are few: recovery finds them without a scan.
        Index("ix_broadcast_deliveries_held", "state", "worker"),
        # WhatsApp's status webhooks name the message: its receipt finds the row.
        Index("ix_broadcast_deliveries_platform_id", "channel", "platform_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))  # the variant it gets
    state: Mapped[LedgerState] = mapped_column(_enum(LedgerState), default=LedgerState.PENDING)
    worker: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(String(300))
    # WhatsApp says when it reached the phone (Telegram does not report delivery).
    delivered_at: Mapped[datetime | None]


class MediaFile(Base):
    """A recording or image staff uploaded for a broadcast. The platforms fetch it from
    /media/<token> (an unguessable name); it is public information, not anyone's data."""

    __tablename__ = "media_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # audio, image
    mime: Mapped[str] = mapped_column(String(64))  # read from the bytes, not the browser
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
