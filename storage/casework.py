"""What caseworkers do with requests: the queue and its filters, claiming and assigning, notes,
the audit log, and the export. Every function takes the caller's session; decisions that need
no database (is a request overdue?) are plain functions."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEvent,
    HelpRequest,
    RequestEvent,
    RequestStatus,
    StaffRole,
    StaffUser,
    Urgency,
    as_utc,
    utcnow,
)
from storage.requests import OPEN, change_status

# How long a request may wait before the queue highlights it.
TARGETS = {Urgency.URGENT: timedelta(hours=1), Urgency.NORMAL: timedelta(days=3)}
QUEUE_LIMIT = 200


class Age(enum.StrEnum):
    OVERDUE = "overdue"  # older than its target (urgent 1 hour, others 3 days)
    DAY = "1d"  # older than a day
    WEEK = "7d"


def is_overdue(request: HelpRequest, now: datetime) -> bool:
    """An open request older than its target."""
    if request.status not in OPEN:
        return False
    return now - as_utc(request.created_at) > TARGETS[request.urgency]


@dataclass(frozen=True)
class QueueFilter:
    status: RequestStatus | None = None  # None: every open status
    category: str | None = None
    urgency: Urgency | None = None
    language: str | None = None
    location: str | None = None
    assignee: int | None = None
    unassigned: bool = False
    age: Age | None = None


def _older_than(age: Age, now: datetime) -> Any:
    if age is Age.DAY:
        return HelpRequest.created_at < now - timedelta(days=1)
    if age is Age.WEEK:
        return HelpRequest.created_at < now - timedelta(days=7)
    return case(
        (
            HelpRequest.urgency == Urgency.URGENT,
            HelpRequest.created_at < now - TARGETS[Urgency.URGENT],
        ),
        else_=HelpRequest.created_at < now - TARGETS[Urgency.NORMAL],
    )


async def queue(
    session: AsyncSession, wanted: QueueFilter, now: datetime | None = None
) -> Sequence[HelpRequest]:
    """Requests that match, urgent first, then the oldest."""
    now = now or utcnow()
    query = select(HelpRequest)
    if wanted.status is None:
        query = query.where(HelpRequest.status.in_(OPEN))
    else:
        query = query.where(HelpRequest.status == wanted.status)
    for column, value in (
        (HelpRequest.category, wanted.category),
        (HelpRequest.urgency, wanted.urgency),
        (HelpRequest.language, wanted.language),
        (HelpRequest.location, wanted.location),
        (HelpRequest.assignee_id, wanted.assignee),
    ):
        if value is not None:
            query = query.where(column == value)
    if wanted.unassigned:
        query = query.where(HelpRequest.assignee_id.is_(None))
    if wanted.age is not None:
        query = query.where(_older_than(wanted.age, now))
    urgent_first = case((HelpRequest.urgency == Urgency.URGENT, 0), else_=1)
    query = query.order_by(urgent_first, HelpRequest.created_at, HelpRequest.id)
    return (await session.scalars(query.limit(QUEUE_LIMIT))).all()


async def caseworkers(session: AsyncSession) -> Sequence[StaffUser]:
    """Who a request can be assigned to."""
    query = select(StaffUser).where(
        StaffUser.active.is_(True),
        StaffUser.role.in_((StaffRole.CASEWORKER, StaffRole.ADMIN)),
    )
    return (await session.scalars(query.order_by(StaffUser.email))).all()


async def assign(
    session: AsyncSession, request: HelpRequest, assignee: StaffUser, actor: StaffUser
) -> None:
    """Give the request to `assignee` (claiming is assigning to oneself); a new request
    becomes assigned."""
    previous = request.assignee_id
    request.assignee_id = assignee.id
    session.add(
        RequestEvent(
            request_id=request.id,
            kind="assigned",
            actor_id=actor.id,
            data={"to": assignee.id, "from": previous},
        )
    )
    if request.status is RequestStatus.NEW:
        await change_status(session, request, RequestStatus.ASSIGNED, actor.id)


async def add_event(
    session: AsyncSession, request: HelpRequest, kind: str, actor_id: int | None, **data: Any
) -> RequestEvent:
    event = RequestEvent(request_id=request.id, kind=kind, actor_id=actor_id, data=data)
    session.add(event)
    request.updated_at = utcnow()
    await session.flush()
    return event


async def audit(
    session: AsyncSession,
    actor: StaffUser | None,
    action: str,
    target_type: str,
    target_id: str | int,
    **detail: Any,
) -> None:
    session.add(
        AuditEvent(
            actor_id=actor.id if actor else None,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            detail=detail,
        )
    )


async def audit_log(session: AsyncSession, limit: int = 500) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def staff_by_id(session: AsyncSession) -> dict[int, StaffUser]:
    return {u.id: u for u in (await session.scalars(select(StaffUser))).all()}


# The export: what a report needs, never a channel address, a phone number or free text.
EXPORT_COLUMNS = (
    "reference",
    "created_at",
    "updated_at",
    "status",
    "category",
    "urgency",
    "safeguarding",
    "channel",
    "language",
    "location",
    "household_size",
    "gender",
    "age_group",
    "nationality",
    "contact_method",
    "consent_share",
    "assignee",
    "rejection_reason",
)


async def export_rows(session: AsyncSession) -> list[list[str]]:
    staff = await staff_by_id(session)
    rows = []
    for request in (await session.scalars(select(HelpRequest).order_by(HelpRequest.id))).all():
        values: dict[str, Any] = {c: getattr(request, c, None) for c in EXPORT_COLUMNS}
        assignee = staff.get(request.assignee_id) if request.assignee_id else None
        values["assignee"] = assignee.email if assignee else ""
        for moment in ("created_at", "updated_at"):
            values[moment] = as_utc(request.__dict__[moment]).isoformat(timespec="seconds")
        rows.append(["" if values[c] is None else str(values[c]) for c in EXPORT_COLUMNS])
    return rows
