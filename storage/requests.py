"""Referral and relief requests: opening one (idempotently, with a reference code a person can
read out on the phone), the status workflow and its timeline, and what a person may ask about
their own requests. Every function takes the caller's session."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HelpRequest, RequestEvent, RequestStatus, Urgency, utcnow
from storage.repository import insert_for, update_contact

# No 0/O, 1/I/L, 5/S, 8/B: a code read out over a bad line is heard right.
CODE_ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"
CODE_LENGTH = 4
PREFIXES = {"maldives": "MV", "ecuador": "EC"}
# What a request can be about, and the optional reporting answers (message keys follow them).
CATEGORIES = (
    "food_relief",
    "health_services",
    "vaccination",
    "legal_aid",
    "documents",
    "repatriation",
    "family_links",
    "shelter",
    "education",
    "employment",
    "cash_assistance",
    "mental_health",
    "other",
)
GENDERS = ("woman", "man", "other")
AGE_GROUPS = ("under_18", "18_59", "60_plus")
# Nationality, also optional and only for reports: the countries most people a deployment
# serves come from (ISO 3166 codes, message keys country.<code>), then "another country".
NATIONALITIES = {
    "maldives": ("BD", "IN", "LK", "NP", "MV"),
    "ecuador": ("VE", "CO", "PE", "HT", "CU", "EC"),
}
OTHER_COUNTRY = "other"


def nationalities(deployment: str) -> tuple[str, ...]:
    """The answers the nationality question offers in a deployment."""
    return (*NATIONALITIES.get(deployment, ()), OTHER_COUNTRY)


# Where a request may go from each status (staff move it; rejecting needs a reason).
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.NEW: frozenset(
        {RequestStatus.ASSIGNED, RequestStatus.REJECTED, RequestStatus.CLOSED}
    ),
    RequestStatus.ASSIGNED: frozenset(
        {RequestStatus.IN_PROGRESS, RequestStatus.REJECTED, RequestStatus.CLOSED}
    ),
    RequestStatus.IN_PROGRESS: frozenset(
        {RequestStatus.REFERRED, RequestStatus.RESOLVED, RequestStatus.CLOSED}
    ),
    RequestStatus.REFERRED: frozenset({RequestStatus.RESOLVED, RequestStatus.CLOSED}),
    RequestStatus.RESOLVED: frozenset({RequestStatus.CLOSED}),
    RequestStatus.CLOSED: frozenset(),
    RequestStatus.REJECTED: frozenset(),
}


class InvalidTransition(ValueError):
    """A status change the workflow does not allow."""


def new_reference(deployment: str) -> str:
    prefix = PREFIXES.get(deployment, deployment[:2].upper() or "SH")
    return prefix + "-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_reference(text: str) -> str:
    """What a person typed ("mv 7k3q", "MV7K3Q") as a stored code ("MV-7K3Q")."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(letters) <= CODE_LENGTH:
        return letters
    return f"{letters[:-CODE_LENGTH]}-{letters[-CODE_LENGTH:]}"


@dataclass(frozen=True)
class NewRequest:
    idempotency_key: str
    contact_id: str | None
    channel: str
    language: str
    category: str
    description: str | None = None  # already encrypted by the caller
    location: str | None = None
    household_size: int | None = None
    gender: str | None = None
    age_group: str | None = None
    nationality: str | None = None
    contact_method: str = "chat"
    phone: str | None = None  # already encrypted by the caller
    consent_share: bool = False
    urgency: Urgency = Urgency.NORMAL
    safeguarding: bool = False


async def open_request(
    session: AsyncSession, deployment: str, new: NewRequest, attempts: int = 8
) -> tuple[HelpRequest, bool]:
    """Store a request once per idempotency key; returns (request, created). A retried submit
    gets the request it created the first time. A reference-code collision draws again."""
    existing = await _by_key(session, new.idempotency_key)
    if existing is not None:
        return existing, False
    for _ in range(attempts):
        values: dict[str, Any] = {**new.__dict__, "reference": new_reference(deployment)}
        values |= {"status": RequestStatus.NEW, "created_at": utcnow(), "updated_at": utcnow()}
        inserted = await session.execute(
            insert_for(session, HelpRequest)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(HelpRequest.id)
        )
        request_id = inserted.scalar_one_or_none()
        if request_id is not None:
            request = await session.get(HelpRequest, request_id)
            assert request is not None  # noqa: S101 - just inserted
            session.add(RequestEvent(request_id=request_id, kind="created", data={}))
            return request, True
        existing = await _by_key(session, new.idempotency_key)
        if existing is not None:  # another process stored it a moment ago
            return existing, False
    raise RuntimeError("no free reference code after several draws")


async def _by_key(session: AsyncSession, key: str) -> HelpRequest | None:
    query = select(HelpRequest).where(HelpRequest.idempotency_key == key)
    return await session.scalar(query)


async def change_status(
    session: AsyncSession,
    request: HelpRequest,
    status: RequestStatus,
    actor_id: int | None,
    reason: str | None = None,
) -> None:
    if status not in TRANSITIONS[request.status]:
        raise InvalidTransition(f"a request that is {request.status} cannot become {status}")
    if status is RequestStatus.REJECTED and not (reason and reason.strip()):
        raise InvalidTransition("rejecting a request needs a reason")
    previous = request.status
    request.status = status
    if status is RequestStatus.REJECTED:
        request.rejection_reason = (reason or "").strip()[:300]
    session.add(
        RequestEvent(
            request_id=request.id,
            kind="status",
            actor_id=actor_id,
            data={"from": previous.value, "to": status.value},
        )
    )


OPEN = (
    RequestStatus.NEW,
    RequestStatus.ASSIGNED,
    RequestStatus.IN_PROGRESS,
    RequestStatus.REFERRED,
)


async def raise_alarm(session: AsyncSession, contact_id: str) -> int:
    """The person wrote a clear safeguarding word: remember when, and make their open
    requests urgent and flagged, each with a timeline event. Returns how many were raised."""
    await update_contact(session, contact_id, safeguarding_at=utcnow())
    query = select(HelpRequest).where(
        HelpRequest.contact_id == contact_id, HelpRequest.status.in_(OPEN)
    )
    raised = 0
    for request in (await session.scalars(query)).all():
        if request.urgency is not Urgency.URGENT or not request.safeguarding:
            request.urgency, request.safeguarding = Urgency.URGENT, True
            session.add(RequestEvent(request_id=request.id, kind="safeguarding", data={}))
            raised += 1
    return raised


async def of_contact(
    session: AsyncSession, contact_id: str, reference: str | None = None
) -> Sequence[HelpRequest]:
    """A person's own requests, newest first; with a code, only that one (and only if it is
    theirs: a code never tells anyone about someone else's request)."""
    query = select(HelpRequest).where(HelpRequest.contact_id == contact_id)
    if reference:
        query = query.where(HelpRequest.reference == normalise_reference(reference))
    return (await session.scalars(query.order_by(HelpRequest.id.desc()))).all()


async def timeline(session: AsyncSession, request_id: int) -> Sequence[RequestEvent]:
    query = select(RequestEvent).where(RequestEvent.request_id == request_id)
    return (await session.scalars(query.order_by(RequestEvent.id))).all()
