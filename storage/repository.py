"""Queries the conversation pipeline needs. Every function takes the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcast_models import BroadcastDelivery, LedgerState
from storage.models import (
    DELIVERY_RANK,
    ChannelState,
    Contact,
    DeliveryStatus,
    HelpRequest,
    InboundRecord,
    InboundStatus,
    OutboundRecord,
    OutboundStatus,
    Priority,
    RequestStatus,
    as_utc,
    utcnow,
)

# A claim older than this belongs to a process that died mid-way (or lost its database
# connection mid-turn: a PostgreSQL restart); the message is taken again. Well above a turn's
# longest (RASA_TIMEOUT_SECONDS, 30 s) and a send's. bench-load saw replies held 5 minutes
# after a PostgreSQL restart when this was 5 minutes.
STALE_CLAIM = timedelta(minutes=2)


def insert_for(session: AsyncSession, model: type[Any]) -> Any:
    """An INSERT that knows ON CONFLICT, in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def touch_contact(
    session: AsyncSession, contact_id: str, channel: str, sealed_address: str | None = None
) -> None:
    """Find or create a contact who just wrote; safe when two processes see a new contact at
    once. `sealed_address` (encrypted) is kept the first time. Writing again makes a contact
    who had blocked Sahay reachable again."""
    now = utcnow()
    seen = {"last_seen_at": now, "last_inbound_at": now, "reachable": True}
    statement = insert_for(session, Contact).values(
        id=contact_id, channel=channel, created_at=now, address=sealed_address, **seen
    )
    keep_address = func.coalesce(Contact.address, statement.excluded.address)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Contact.id], set_={**seen, "address": keep_address}
        )
    )


async def store_inbound(
    session: AsyncSession,
    *,
    channel: str,
    platform_message_id: str,
    contact_id: str,
    text: str,
    media_kind: str | None = None,
    media_meta: dict[str, Any] | None = None,
) -> tuple[int, bool]:
    """Store a message under its idempotency key; returns (its id, created)."""
    inserted = await session.execute(
        insert_for(session, InboundRecord)
        .values(
            channel=channel,
            platform_message_id=platform_message_id,
            contact_id=contact_id,
            text=text,
            media_kind=media_kind,
            media_meta=media_meta,
            status=InboundStatus.PENDING,
            attempts=0,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["channel", "platform_message_id"])
        .returning(InboundRecord.id)
    )
    new_id = inserted.scalar_one_or_none()
    if new_id is not None:
        return new_id, True
    existing = await session.scalar(
        select(InboundRecord.id).where(
            InboundRecord.channel == channel,
            InboundRecord.platform_message_id == platform_message_id,
        )
    )
    assert existing is not None  # noqa: S101 - the insert conflicted with it
    return existing, False


async def claim_inbound(session: AsyncSession, inbound_id: int) -> bool:
    """Take a pending (or abandoned) message for processing. Only one caller ever wins."""
    now = utcnow()
    result = await session.execute(
        update(InboundRecord)
        .where(InboundRecord.id == inbound_id, _claimable(now))
        .values(
            status=InboundStatus.PROCESSING,
            claimed_at=now,
            attempts=InboundRecord.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _claimable(now: datetime) -> Any:
    return or_(
        InboundRecord.status == InboundStatus.PENDING,
        (InboundRecord.status == InboundStatus.PROCESSING)
        & (InboundRecord.claimed_at < now - STALE_CLAIM),
    )


async def earlier_in_progress(session: AsyncSession, record: InboundRecord) -> bool:
    """Whether another process is answering an earlier message of the same person (then
    this one waits for it: replies keep their order)."""
    query = select(InboundRecord.id).where(
        InboundRecord.contact_id == record.contact_id,
        InboundRecord.id < record.id,
        InboundRecord.status == InboundStatus.PROCESSING,
        InboundRecord.claimed_at >= utcnow() - STALE_CLAIM,
    )
    return (await session.scalar(query.limit(1))) is not None


async def finish_inbound(session: AsyncSession, inbound_id: int, status: InboundStatus) -> None:
    values: dict[str, Any] = {"status": status}
    if status is InboundStatus.DONE:
        values["processed_at"] = utcnow()
    await session.execute(
        update(InboundRecord)
        .where(InboundRecord.id == inbound_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def claimable_inbound(
    session: AsyncSession,
    *,
    contact_id: str | None = None,
    min_age: timedelta | None = None,
    limit: int = 100,
) -> Sequence[InboundRecord]:
    """Messages waiting for an answer, oldest first (per contact when one is given).
    `min_age` leaves alone messages received more recently: the process that stored them
    is answering them right now."""
    now = utcnow()
    query = select(InboundRecord).where(_claimable(now))
    if contact_id is not None:
        query = query.where(InboundRecord.contact_id == contact_id)
    if min_age is not None:
        query = query.where(InboundRecord.received_at < now - min_age)
    return (await session.scalars(query.order_by(InboundRecord.id).limit(limit))).all()


async def add_outbound(
    session: AsyncSession,
    *,
    contact_id: str,
    channel: str,
    in_reply_to: int | None,
    message_key: str,
    language: str,
    text: str,
    buttons: list[dict[str, Any]],
    priority: Priority = Priority.REPLY,
    numbered: bool = False,
    template: dict[str, Any] | None = None,
    media: dict[str, Any] | None = None,
) -> OutboundRecord:
    record = OutboundRecord(
        numbered=numbered,
        template=template,
        media=media,
        contact_id=contact_id,
        channel=channel,
        in_reply_to=in_reply_to,
        message_key=message_key,
        language=language,
        text=text,
        buttons=buttons,
        priority=priority,
        status=OutboundStatus.QUEUED,
    )
    session.add(record)
    await session.flush()
    return record


async def replies_to(session: AsyncSession, inbound_id: int) -> Sequence[OutboundRecord]:
    query = select(OutboundRecord).where(OutboundRecord.in_reply_to == inbound_id)
    return (await session.scalars(query.order_by(OutboundRecord.id))).all()


async def queued_for(
    session: AsyncSession, contact_id: str, channel: str
) -> Sequence[OutboundRecord]:
    query = select(OutboundRecord).where(
        OutboundRecord.contact_id == contact_id,
        OutboundRecord.channel == channel,
        OutboundRecord.status == OutboundStatus.QUEUED,
    )
    return (await session.scalars(query.order_by(OutboundRecord.id))).all()


async def mark_sent(session: AsyncSession, outbound_ids: Sequence[int]) -> None:
    if not outbound_ids:
        return
    await session.execute(
        update(OutboundRecord)
        .where(OutboundRecord.id.in_(outbound_ids), OutboundRecord.status == OutboundStatus.QUEUED)
        .values(status=OutboundStatus.SENT, sent_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def mark_greeted(session: AsyncSession, contact_id: str) -> bool:
    """Record that the contact was greeted; True if they had been greeted before.
    An unknown contact (Rasa reached directly, not through the gateway) is not recorded."""
    contact = await session.get(Contact, contact_id, with_for_update=True)
    if contact is None:
        return False
    returning = contact.greeted_at is not None
    contact.greeted_at = utcnow()
    return returning


async def update_contact(session: AsyncSession, contact_id: str, **values: Any) -> None:
    await session.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def set_location(session: AsyncSession, contact_id: str, location: str) -> None:
    await update_contact(session, contact_id, location=location[:64])


async def set_language(session: AsyncSession, contact_id: str, language: str) -> None:
    await update_contact(session, contact_id, language=language)


async def last_outbound(session: AsyncSession, contact_id: str) -> OutboundRecord | None:
    query = select(OutboundRecord).where(OutboundRecord.contact_id == contact_id)
    return await session.scalar(query.order_by(OutboundRecord.id.desc()).limit(1))


# Delivery (bot/delivery.py): queued → sending → sent / failed / uncertain.


async def deliverable(
    session: AsyncSession,
    channels: Sequence[str],
    limit: int = 100,
    contact_id: str | None = None,
) -> list[OutboundRecord]:
    """The next message of each contact that may be sent now, replies before broadcasts.
    A contact whose earlier message is being sent, or waits to be retried, waits behind it:
    one person's messages arrive in order."""
    now = utcnow()
    active = (OutboundStatus.QUEUED, OutboundStatus.SENDING)
    query = select(OutboundRecord).where(
        OutboundRecord.channel.in_(channels), OutboundRecord.status.in_(active)
    )
    if contact_id is not None:
        query = query.where(OutboundRecord.contact_id == contact_id)
    rows = (await session.scalars(query.order_by(OutboundRecord.id).limit(limit * 10))).all()
    first: dict[str, OutboundRecord] = {}
    for row in rows:
        first.setdefault(row.contact_id, row)
    ready = [
        row
        for row in first.values()
        if row.status is OutboundStatus.QUEUED
        and (row.next_attempt_at is None or as_utc(row.next_attempt_at) <= now)
    ]
    ready.sort(key=lambda row: (row.priority, row.id))
    return ready[:limit]


async def claim_outbound(session: AsyncSession, outbound_id: int) -> bool:
    """queued → sending. Only one process ever wins a message."""
    result = await session.execute(
        update(OutboundRecord)
        .where(OutboundRecord.id == outbound_id, OutboundRecord.status == OutboundStatus.QUEUED)
        .values(
            status=OutboundStatus.SENDING,
            claimed_at=utcnow(),
            attempts=OutboundRecord.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish_outbound(
    session: AsyncSession,
    outbound_id: int,
    status: OutboundStatus,
    *,
    platform_message_id: str | None = None,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "error": error[:300] if error else None}
    if status is OutboundStatus.SENT:
        values |= {"sent_at": utcnow(), "platform_message_id": platform_message_id}
    if status is OutboundStatus.QUEUED:
        values["next_attempt_at"] = next_attempt_at
    await session.execute(
        update(OutboundRecord)
        .where(OutboundRecord.id == outbound_id, OutboundRecord.status == OutboundStatus.SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def mark_unreachable(session: AsyncSession, contact_id: str, reason: str) -> int:
    """The person blocked Sahay: stop every send to them. Returns messages given up."""
    await update_contact(session, contact_id, reachable=False)
    result = await session.execute(
        update(OutboundRecord)
        .where(
            OutboundRecord.contact_id == contact_id,
            OutboundRecord.status == OutboundStatus.QUEUED,
        )
        .values(status=OutboundStatus.FAILED, error=reason[:300])
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def abandon_stale_sends(session: AsyncSession) -> int:
    """Messages a process died sending: they may have arrived, so they are never retried
    automatically (that could send them twice). Returns how many."""
    result = await session.execute(
        update(OutboundRecord)
        .where(
            OutboundRecord.status == OutboundStatus.SENDING,
            OutboundRecord.claimed_at < utcnow() - STALE_CLAIM,
        )
        .values(
            status=OutboundStatus.UNCERTAIN,
            error="the sending process stopped while the platform had this message",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def record_delivery_status(
    session: AsyncSession,
    channel: str,
    platform_message_id: str,
    status: DeliveryStatus,
    at: datetime,
    error: str | None = None,
) -> bool:
    """A platform's report on a sent message. A status only moves forward: a late one never
    overwrites a later one. Returns whether it was recorded."""
    earlier = [s for s, rank in DELIVERY_RANK.items() if rank < DELIVERY_RANK[status]]
    values: dict[str, Any] = {"delivery_status": status, "delivery_status_at": at}
    if error:
        values["error"] = error[:300]
    result = await session.execute(
        update(OutboundRecord)
        .where(
            OutboundRecord.channel == channel,
            OutboundRecord.platform_message_id == platform_message_id,
            or_(
                OutboundRecord.delivery_status.is_(None),
                OutboundRecord.delivery_status.in_(earlier),
            ),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def get_state(session: AsyncSession, key: str) -> str | None:
    found = await session.get(ChannelState, key)
    return found.value if found else None


async def set_state(session: AsyncSession, key: str, value: str) -> None:
    now = utcnow()
    await session.execute(
        insert_for(session, ChannelState)
        .values(key=key, value=value, updated_at=now)
        .on_conflict_do_update(
            index_elements=[ChannelState.key], set_={"value": value, "updated_at": now}
        )
    )


async def queue_depths(session: AsyncSession) -> dict[str, int]:
    """Work waiting, per queue, for /metrics: messages to answer, replies to send, broadcast
    messages to send, and new requests no caseworker has taken yet."""
    counted = {
        "inbound": select(func.count()).where(
            InboundRecord.status.in_((InboundStatus.PENDING, InboundStatus.PROCESSING))
        ),
        "outbound": select(func.count()).where(
            OutboundRecord.status.in_((OutboundStatus.QUEUED, OutboundStatus.SENDING))
        ),
        "broadcast": select(func.count()).where(
            BroadcastDelivery.state.in_(
                (LedgerState.PENDING, LedgerState.CLAIMED, LedgerState.SENDING)
            )
        ),
        "requests_new": select(func.count()).where(HelpRequest.status == RequestStatus.NEW),
    }
    return {name: int(await session.scalar(query) or 0) for name, query in counted.items()}
