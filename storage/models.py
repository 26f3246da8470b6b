"""SQLAlchemy 2 models: contacts and the messages they exchange with Sahay."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.crypto import SealedText

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; Sahay stores them in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class InboundStatus(enum.StrEnum):
    PENDING = "pending"  # stored, not yet answered (new, or Rasa was down)
    PROCESSING = "processing"  # claimed by one process
    DONE = "done"
    FAILED = "failed"  # gave up after too many attempts


class OutboundStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting to be sent (new, or waiting to retry after `next_attempt_at`)
    SENDING = "sending"  # handed to the platform by one process
    SENT = "sent"  # the platform accepted it
    FAILED = "failed"  # will not be sent; `error` says why
    # The process died while the platform had it: it may or may not have arrived. Shown to
    # staff, never retried automatically (a retry could send it twice).
    UNCERTAIN = "uncertain"


class DeliveryStatus(enum.StrEnum):
    """What the platform later reports about a sent message (WhatsApp status webhooks)."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# A status only moves forward: a late "delivered" never overwrites "read".
DELIVERY_RANK = {
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.FAILED: 4,
}


class Priority(enum.IntEnum):
    REPLY = 0
    BROADCAST = 1


def _enum(enum_cls: type[enum.StrEnum]) -> Enum:
    """Store an enum as its value in a VARCHAR, the same on SQLite and PostgreSQL."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Contact(Base):
    """A person, known only by a pseudonymous id (a keyed hash of channel and platform id)."""

    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    greeted_at: Mapped[datetime | None]
    # Where the person said they are (a directory location name), to show places near them.
    location: Mapped[str | None] = mapped_column(String(64))
    # The platform address replies go to (Telegram chat id, WhatsApp number), encrypted with
    # Fernet (storage/crypto.py); web chat needs none.
    address: Mapped[str | None] = mapped_column(Text)
    # When they last wrote: WhatsApp allows free text only within 24 hours of it.
    last_inbound_at: Mapped[datetime | None]
    # When the person last wrote a clear safeguarding word (bot/safeguarding.py): a request
    # they open soon after is urgent and flagged.
    safeguarding_at: Mapped[datetime | None]
    # False once the platform said the person blocked Sahay (403): nothing more is sent.
    reachable: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The person confirmed "delete my data": erased once the confirmation has left
    # (storage/privacy.py).
    erase_requested_at: Mapped[datetime | None]


class InboundRecord(Base):
    """A message received from a contact, stored before anything else happens to it."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "platform_message_id", name="uq_inbound_platform_id"),
        Index("ix_inbound_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_message_id: Mapped[str] = mapped_column(String(128))
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    # Encrypted; None once the retention period has passed (storage/privacy.py).
    text: Mapped[str | None] = mapped_column(SealedText)
    # The kind of non-text content (voice, sticker, photo, ...), never the content itself.
    media_kind: Mapped[str | None] = mapped_column(String(16))
    # What the platform said about the media (mime type, size, duration), never the file.
    media_meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[InboundStatus] = mapped_column(
        _enum(InboundStatus), default=InboundStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]


class OutboundRecord(Base):
    """A message for a contact: rendered text in the contact's language, queued for delivery."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_contact_status", "contact_id", "status"),
        Index("ix_outbound_status_next_attempt", "status", "next_attempt_at"),
        UniqueConstraint("channel", "platform_message_id", name="uq_outbound_platform_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    in_reply_to: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL"), index=True
    )
    priority: Mapped[int] = mapped_column(default=Priority.REPLY)
    message_key: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    # Encrypted; None once the retention period has passed (storage/privacy.py).
    text: Mapped[str | None] = mapped_column(SealedText)
    buttons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # An approved WhatsApp template ({"name", "language", "parameters"}): the only kind of
    # message WhatsApp lets through outside the 24-hour window.
    template: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Media to send with the text as caption ({"kind": audio|image|document, "url" or "id"}).
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[OutboundStatus] = mapped_column(
        _enum(OutboundStatus), default=OutboundStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # The platform's id for the sent message (a WhatsApp wamid, a Telegram message id).
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    # The options were sent as a numbered list (the channel could not show them as buttons):
    # a typed number then picks one.
    numbered: Mapped[bool] = mapped_column(default=False, server_default=false())
    delivery_status: Mapped[DeliveryStatus | None] = mapped_column(_enum(DeliveryStatus))
    delivery_status_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(300))


class ServicePoint(Base):
    """One entry of the service directory: a place or number where a service is given.
    Loaded from YAML by `sahay directory load`; admins own this data, not the code."""

    __tablename__ = "service_points"
    __table_args__ = (
        UniqueConstraint("deployment", "key", name="uq_service_points_key"),
        Index("ix_service_points_lookup", "deployment", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(64))  # a directory location, or "national"
    area: Mapped[str] = mapped_column(String(64), default="", server_default="")  # its atoll...
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    hours: Mapped[str] = mapped_column(String(120), default="")
    sample: Mapped[bool] = mapped_column(default=False)


class ServiceLocation(Base):
    """A place people name (a city or island) and the area (atoll, province) it lies in."""

    __tablename__ = "service_locations"
    __table_args__ = (UniqueConstraint("deployment", "name", name="uq_service_locations_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(64), default="")
    # Its centre, to match a location a person shares on Telegram or WhatsApp.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class ChannelState(Base):
    """Small durable facts a channel keeps between restarts (Telegram's polling offset)."""

    __tablename__ = "channel_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RequestStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    REFERRED = "referred"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"  # with a reason


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class HelpRequest(Base):
    """A referral or relief request: opened by the bot (with consent) or by a caseworker for a
    helpline caller, worked on by caseworkers. `reference` is what the person reads out on the
    phone. Free text and phone numbers are stored encrypted (storage/crypto.py)."""

    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("reference", name="uq_requests_reference"),
        # A retried submit action (same conversation, same form) never creates two requests.
        UniqueConstraint("idempotency_key", name="uq_requests_idempotency_key"),
        Index("ix_requests_queue", "status", "urgency", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))  # telegram, whatsapp, webchat, phone
    language: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)  # encrypted
    location: Mapped[str | None] = mapped_column(String(64))
    household_size: Mapped[int | None]
    gender: Mapped[str | None] = mapped_column(String(16))  # optional, for reporting only
    age_group: Mapped[str | None] = mapped_column(String(16))
    nationality: Mapped[str | None] = mapped_column(String(16))  # optional, for reporting only
    contact_method: Mapped[str] = mapped_column(String(16), default="chat")  # chat or phone
    phone: Mapped[str | None] = mapped_column(Text)  # encrypted; only for a phone call back
    consent_share: Mapped[bool] = mapped_column(default=False)
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency), default=Urgency.NORMAL)
    safeguarding: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus), default=RequestStatus.NEW)
    rejection_reason: Mapped[str | None] = mapped_column(String(300))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set when its words and its link to the person were removed (storage/privacy.py).
    anonymised_at: Mapped[datetime | None]


class RequestEvent(Base):
    """The timeline of a request: every status change, assignment, note and message."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # created, status, assigned, note, ...
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StaffRole(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    CASEWORKER = "caseworker"


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("email", name="uq_staff_users_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))  # Argon2id
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The language the person writes in: replies are drafted from it into the contact's.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so
    this table cannot be used to sign in. Idle and absolute timeouts are checked on use."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token), hex
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginFailure(Base):
    """A failed sign-in, counted for throttling (web/throttle.py). `key` is a keyed hash of the
    account's email or of the client's address: neither is stored. Rows older than the window
    are deleted as new ones come."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who looked at or changed what, and when. Admins read it; nobody edits it."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))  # view, status, export, create, ...
    target_type: Mapped[str] = mapped_column(String(32))  # request, contact, requests
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
