"""The figures programme managers report: counts of requests, people and conversations in a
period, disaggregated, and how fast requests were answered and resolved. Counts only: no
function here returns anything that names or points at a person.

Small cells are suppressed (`suppress`): a count under 5 is shown as "<5", and when a row
would then leave exactly one hidden cell that its total gives away, the next smallest is
hidden too. Anonymised requests (storage/privacy.py) are counted like any other.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, HelpRequest, InboundRecord, RequestEvent, as_utc

SMALL_CELL = 5
# What a request is disaggregated by, as the report's tables show it.
DIMENSIONS = ("category", "status", "urgency", "location", "language", "gender", "age_group")
NOT_GIVEN = "not given"  # gender, age group or location the person did not give
# A caseworker's first answer to a request: taking it, replying, or moving it on.
RESPONSES = ("assigned", "reply", "status")
RESOLVED = ("resolved", "closed")


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive
    end: datetime  # exclusive


def suppress(counts: Mapping[str, int], threshold: int = SMALL_CELL) -> dict[str, int | None]:
    """Counts with every cell under `threshold` (but above 0) hidden as None; if that hides
    exactly one cell, the smallest other non-zero cell is hidden too, so that the total
    cannot give the hidden one away."""
    shown: dict[str, int | None] = dict(counts)
    hidden = [k for k, n in counts.items() if 0 < n < threshold]
    for key in hidden:
        shown[key] = None
    if len(hidden) == 1:
        others = sorted((n, k) for k, n in counts.items() if n >= threshold)
        if others:
            shown[others[0][1]] = None
    return shown


async def requests_by(session: AsyncSession, dimension: str, period: Period) -> dict[str, int]:
    """Requests opened in the period, counted by one dimension (unsuppressed)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"no such dimension: {dimension}")
    column = getattr(HelpRequest, dimension)
    rows = await session.execute(
        select(column, func.count())
        .where(HelpRequest.created_at >= period.start, HelpRequest.created_at < period.end)
        .group_by(column)
    )
    counted: dict[str, int] = {}
    for value, n in rows.all():
        key = getattr(value, "value", value) or NOT_GIVEN
        counted[str(key)] = counted.get(str(key), 0) + int(n)
    return counted


async def people(session: AsyncSession, period: Period) -> dict[str, int]:
    """New contacts in the period, and contacts who wrote in it (conversations)."""
    new = await session.scalar(
        select(func.count()).where(
            Contact.created_at >= period.start, Contact.created_at < period.end
        )
    )
    wrote = await session.scalar(
        select(func.count(func.distinct(InboundRecord.contact_id))).where(
            InboundRecord.received_at >= period.start, InboundRecord.received_at < period.end
        )
    )
    return {"new_contacts": int(new or 0), "conversations": int(wrote or 0)}


async def answer_times(session: AsyncSession, period: Period) -> dict[str, Any]:
    """Median hours from opening to a caseworker's first response, and to resolution, of the
    requests opened in the period (those not yet answered or resolved are counted apart)."""
    opened = dict(
        (
            await session.execute(
                select(HelpRequest.id, HelpRequest.created_at).where(
                    HelpRequest.created_at >= period.start, HelpRequest.created_at < period.end
                )
            )
        ).all()
    )
    first_response: dict[int, datetime] = {}
    resolved: dict[int, datetime] = {}
    if opened:
        events = await session.execute(
            select(RequestEvent.request_id, RequestEvent.kind, RequestEvent.at, RequestEvent.data)
            .where(RequestEvent.request_id.in_(opened), RequestEvent.actor_id.is_not(None))
            .order_by(RequestEvent.at, RequestEvent.id)
        )
        for request_id, kind, at, data in events.all():
            if kind in RESPONSES:
                first_response.setdefault(request_id, at)
            if kind == "status" and (data or {}).get("to") in RESOLVED:
                resolved.setdefault(request_id, at)

    def hours(done: dict[int, datetime]) -> float | None:
        spans = [
            (as_utc(at) - as_utc(opened[rid])).total_seconds() / 3600 for rid, at in done.items()
        ]
        return round(statistics.median(spans), 2) if spans else None

    return {
        "opened": len(opened),
        "median_hours_to_first_response": hours(first_response),
        "not_yet_answered": len(opened) - len(first_response),
        "median_hours_to_resolution": hours(resolved),
        "not_yet_resolved": len(opened) - len(resolved),
    }
