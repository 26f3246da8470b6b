"""Erasure and retention: what Sahay forgets, and when.

- `erase_contact`: a person asked to be forgotten (they typed "delete my data" and confirmed,
  or an admin did it for a caller on the phone). Their contact, every message in and out,
  their subscriptions and alert deliveries, their conversation in Rasa's tracker store and
  their open requests are deleted; their closed requests are anonymised. The audit log keeps
  that staff viewed someone, and when, but no longer whom.
- `purge`: run by the worker. Message text and Rasa's turns older than the retention period
  are deleted (the messages are kept as rows without text, for counting); requests closed
  longer than their retention period are anonymised.

An anonymised request keeps only what is counted (category, status, language, location,
household size, gender, age group, nationality, dates, who worked on it) and the kinds and
times of its events; its description, phone number, contact, notes, replies and reasons are gone.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import delete, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcast_models import BroadcastDelivery, Subscription
from storage.db import Database
from storage.models import (
    AuditEvent,
    Contact,
    HelpRequest,
    InboundRecord,
    InboundStatus,
    OutboundRecord,
    OutboundStatus,
    RequestEvent,
    RequestStatus,
    utcnow,
)
from storage.requests import OPEN
from storage.tracker import TrackerStore

# What an anonymised request's events keep, per kind (staff ids and statuses, never words).
KEPT_EVENT_DATA = {
    "status": {"from", "to"},
    "assigned": {"to", "from"},
    "reply": {"source", "machine", "edited"},
}
CLOSED = (RequestStatus.RESOLVED, RequestStatus.CLOSED, RequestStatus.REJECTED)
# A confirmed erasure waits this long at most for its "deleted" message to leave.
CONFIRMATION_GRACE = timedelta(seconds=30)


async def anonymise_request(session: AsyncSession, request: HelpRequest) -> None:
    request.description = None
    request.phone = None
    request.contact_id = None
    request.rejection_reason = None
    request.idempotency_key = f"anonymised:{request.id}"
    request.anonymised_at = utcnow()
    events = await session.scalars(
        select(RequestEvent).where(RequestEvent.request_id == request.id)
    )
    for event in events:
        kept = KEPT_EVENT_DATA.get(event.kind, set())
        event.data = {key: value for key, value in event.data.items() if key in kept}


async def erase_contact(
    database: Database, tracker: TrackerStore, contact_id: str
) -> Counter[str]:
    """Forget one person; what was deleted or anonymised, counted. The tracker store goes
    first: if it cannot be reached this raises, the contact stays marked, and it is tried
    again."""
    erased: Counter[str] = Counter()
    erased["tracker_events"] = await tracker.erase(contact_id)
    async with database.session() as session:
        for request in await session.scalars(
            select(HelpRequest).where(HelpRequest.contact_id == contact_id)
        ):
            erased[await forget_request(session, request)] += 1
        for model, key in (
            (InboundRecord, "messages_in"),
            (OutboundRecord, "messages_out"),
            (Subscription, "subscriptions"),
            (BroadcastDelivery, "alert_deliveries"),
        ):
            done = await session.execute(delete(model).where(model.contact_id == contact_id))
            erased[key] = int(done.rowcount or 0)  # type: ignore[attr-defined]
        await session.execute(delete(Contact).where(Contact.id == contact_id))
        # The audit keeps that staff looked at someone, and when; no longer whom.
        await session.execute(
            update(AuditEvent)
            .where(AuditEvent.target_type == "contact", AuditEvent.target_id == contact_id)
            .values(target_id=f"erased-{secrets.token_hex(8)}")
        )
    return erased


async def forget_request(session: AsyncSession, request: HelpRequest) -> str:
    """An erased person's request: deleted if open (its events go with it), else anonymised.
    Which of the two, as erasure counts it."""
    if request.status in OPEN:
        await session.delete(request)
        return "requests_deleted"
    await anonymise_request(session, request)
    return "requests_anonymised"


async def request_erasure(session: AsyncSession, contact_id: str) -> None:
    """The person confirmed: they are erased as soon as the confirmation has left."""
    await session.execute(
        update(Contact).where(Contact.id == contact_id).values(erase_requested_at=utcnow())
    )


async def due_erasures(session: AsyncSession, now: datetime | None = None) -> list[str]:
    """Contacts who asked to be erased and whose last messages have left (or waited long
    enough: a platform that is down does not keep anyone's data)."""
    now = now or utcnow()
    in_flight = (
        select(OutboundRecord.id)
        .where(
            OutboundRecord.contact_id == Contact.id,
            OutboundRecord.status.in_((OutboundStatus.QUEUED, OutboundStatus.SENDING)),
        )
        .exists()
    )
    query = select(Contact.id).where(
        Contact.erase_requested_at.is_not(None),
        (Contact.erase_requested_at < now - CONFIRMATION_GRACE) | ~in_flight,
    )
    return list((await session.scalars(query)).all())


async def run_erasures(database: Database, tracker: TrackerStore) -> int:
    async with database.session() as session:
        due = await due_erasures(session)
    for contact_id in due:
        await erase_contact(database, tracker, contact_id)
    return len(due)


async def purge(
    database: Database,
    tracker: TrackerStore,
    retention: timedelta,
    closed_retention: timedelta,
    now: datetime | None = None,
) -> Counter[str]:
    now = now or utcnow()
    cutoff = now - retention
    purged: Counter[str] = Counter()
    async with database.session() as session:
        done = await session.execute(
            update(InboundRecord)
            .where(
                InboundRecord.received_at < cutoff,
                InboundRecord.status.in_((InboundStatus.DONE, InboundStatus.FAILED)),
                (InboundRecord.text.is_not(None)) | (InboundRecord.media_meta.is_not(None)),
            )
            .values(text=None, media_meta=null())  # SQL NULL, not JSON null
        )
        purged["messages_in"] = int(done.rowcount or 0)  # type: ignore[attr-defined]
        done = await session.execute(
            update(OutboundRecord)
            .where(
                OutboundRecord.created_at < cutoff,
                OutboundRecord.status.not_in((OutboundStatus.QUEUED, OutboundStatus.SENDING)),
                OutboundRecord.text.is_not(None),
            )
            .values(text=None, buttons=[])
        )
        purged["messages_out"] = int(done.rowcount or 0)  # type: ignore[attr-defined]
    purged["tracker_events"] = await tracker.purge(cutoff)
    async with database.session() as session:
        closed = await session.scalars(
            select(HelpRequest).where(
                HelpRequest.status.in_(CLOSED),
                HelpRequest.anonymised_at.is_(None),
                HelpRequest.updated_at < now - closed_retention,
            )
        )
        for request in closed:
            await anonymise_request(session, request)
            purged["requests_anonymised"] += 1
    return purged
