"""The figures programme managers report: counts of requests, people and conversations in a
period, disaggregated, and how fast requests were answered and resolved. Counts only: no
function here returns anything that names or points at a person.

Small cells are suppressed (`suppress`): a count under 5 is shown as "<5", and when a row
would then leave exactly one hidden cell that its total gives away, the next smallest is
hidden too. Anonymised requests (storage/privacy.py) are counted like any other.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcast_models import Broadcast, BroadcastDelivery, LedgerState, Subscription
from storage.models import (
    Contact,
    HelpRequest,
    InboundRecord,
    OutboundRecord,
    RequestEvent,
    as_utc,
)

SMALL_CELL = 5
# What a request is disaggregated by, as the report's tables show it.
DIMENSIONS = (
    "category",
    "status",
    "urgency",
    "location",
    "language",
    "gender",
    "age_group",
    "nationality",
)
NOT_GIVEN = "not given"  # gender, age group, nationality or location the person did not give
# A caseworker's first answer to a request: taking it, replying, or moving it on.
RESPONSES = ("assigned", "reply", "status")
RESOLVED = ("resolved", "closed")


def _resolution() -> tuple[Any, ...]:
    """What makes an event a resolution: a caseworker moved the request to resolved or closed."""
    return (
        RequestEvent.kind == "status",
        RequestEvent.actor_id.is_not(None),
        RequestEvent.data["to"].as_string().in_(RESOLVED),
    )


# Reply keys that mean Sahay did not understand (fallback) or could not help (out of scope).
FALLBACK = "fallback"
UNHANDLED = (FALLBACK, "out_of_scope")
# A broadcast's recipient who unsubscribes from its topic within this time "unsubscribed after".
UNSUBSCRIBE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Period:
    """A span of time, and optionally one location: every figure counts only what falls in
    it (requests by their location; contacts, messages and deliveries by the contact's)."""

    start: datetime  # inclusive
    end: datetime  # exclusive
    location: str | None = None

    def weeks(self) -> list[date]:
        """The Mondays of the weeks the period touches, first to last."""
        monday = week_of(self.start)
        last = week_of(self.end - timedelta(microseconds=1))
        return [monday + timedelta(weeks=n) for n in range((last - monday).days // 7 + 1)]


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week a moment falls in."""
    day = as_utc(moment).date()
    return day - timedelta(days=day.weekday())


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
    query = select(column, func.count()).where(
        HelpRequest.created_at >= period.start, HelpRequest.created_at < period.end
    )
    rows = await session.execute(_at(query, HelpRequest.location, period).group_by(column))
    counted: dict[str, int] = {}
    for value, n in rows.all():
        key = _label(value)
        counted[key] = counted.get(key, 0) + int(n)
    return counted


def _label(value: Any) -> str:
    return str(getattr(value, "value", value) or NOT_GIVEN)


Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")


def _at(query: Q, column: Any, period: Period) -> Q:
    """The query narrowed to the period's location, if it names one."""
    return query.where(column == period.location) if period.location else query


async def crosstab(
    session: AsyncSession, rows: str, columns: str, period: Period
) -> dict[str, dict[str, int]]:
    """Requests opened in the period, counted by two dimensions: {row value: {column value: n}}."""
    for dimension in (rows, columns):
        if dimension not in DIMENSIONS:
            raise ValueError(f"no such dimension: {dimension}")
    first, second = getattr(HelpRequest, rows), getattr(HelpRequest, columns)
    query = select(first, second, func.count()).where(
        HelpRequest.created_at >= period.start, HelpRequest.created_at < period.end
    )
    result = await session.execute(
        _at(query, HelpRequest.location, period).group_by(first, second)
    )
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for one, other, n in result.all():
        cell = table[_label(one)]
        cell[_label(other)] = cell.get(_label(other), 0) + int(n)
    return dict(table)


def suppress_table(
    table: Mapping[str, Mapping[str, int]], threshold: int = SMALL_CELL
) -> dict[str, dict[str, int | None]]:
    """A two-way table with small cells hidden, and then, row by row and column by column,
    as many more as it takes that no row or column has exactly one hidden cell (its total,
    shown in the one-way tables, would give it away)."""
    columns = sorted({c for row in table.values() for c in row})
    shown: dict[str, dict[str, int | None]] = {
        r: {c: (None if 0 < row.get(c, 0) < threshold else row.get(c, 0)) for c in columns}
        for r, row in table.items()
    }

    def lines() -> list[list[tuple[str, str]]]:
        by_row = [[(r, c) for c in columns] for r in shown]
        by_column = [[(r, c) for r in shown] for c in columns]
        return by_row + by_column

    changed = True
    while changed:
        changed = False
        for line in lines():
            hidden = [cell for cell in line if shown[cell[0]][cell[1]] is None]
            if len(hidden) != 1:
                continue
            others = sorted((value, cell) for cell in line if (value := shown[cell[0]][cell[1]]))
            if others:
                r, c = others[0][1]
                shown[r][c] = None
                changed = True
    return shown


async def people(session: AsyncSession, period: Period) -> dict[str, int]:
    """New contacts in the period, and contacts who wrote in it (conversations)."""
    new = await session.scalar(
        _at(
            select(func.count()).where(
                Contact.created_at >= period.start, Contact.created_at < period.end
            ),
            Contact.location,
            period,
        )
    )
    wrote = await session.scalar(
        _at(
            select(func.count(func.distinct(InboundRecord.contact_id)))
            .join(Contact, Contact.id == InboundRecord.contact_id)
            .where(
                InboundRecord.received_at >= period.start, InboundRecord.received_at < period.end
            ),
            Contact.location,
            period,
        )
    )
    return {"new_contacts": int(new or 0), "conversations": int(wrote or 0)}


async def answer_times(session: AsyncSession, period: Period) -> dict[str, Any]:
    """Median hours from opening to a caseworker's first response, and to resolution, of the
    requests opened in the period (those not yet answered or resolved are counted apart)."""
    query = select(HelpRequest.id, HelpRequest.created_at).where(
        HelpRequest.created_at >= period.start, HelpRequest.created_at < period.end
    )
    query = _at(query, HelpRequest.location, period)
    opened = dict((await session.execute(query)).all())
    ids = query.with_only_columns(HelpRequest.id).scalar_subquery()

    async def first(*where: Any) -> dict[int, datetime]:
        """Each request's earliest event by a caseworker that matches `where`."""
        rows = await session.execute(
            select(RequestEvent.request_id, func.min(RequestEvent.at))
            .where(RequestEvent.request_id.in_(ids), RequestEvent.actor_id.is_not(None), *where)
            .group_by(RequestEvent.request_id)
        )
        return {request_id: at for request_id, at in rows.all()}

    first_response = await first(RequestEvent.kind.in_(RESPONSES))
    resolved = await first(*_resolution())

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


async def weekly_requests(
    session: AsyncSession, dimension: str, period: Period
) -> dict[str, dict[date, dict[str, int]]]:
    """Requests opened, and requests resolved (first resolved or closed by a caseworker), per
    week of the period, by one dimension: {"opened"|"resolved": {week: {value: n}}}."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"no such dimension: {dimension}")
    column = getattr(HelpRequest, dimension)
    flow: dict[str, dict[date, dict[str, int]]] = {
        "opened": {week: {} for week in period.weeks()},
        "resolved": {week: {} for week in period.weeks()},
    }
    opened = await session.execute(
        _at(
            select(HelpRequest.created_at, column).where(
                HelpRequest.created_at >= period.start, HelpRequest.created_at < period.end
            ),
            HelpRequest.location,
            period,
        )
    )
    for at, value in opened.all():
        cell = flow["opened"][week_of(at)]
        cell[_label(value)] = cell.get(_label(value), 0) + 1
    # The first resolution of each request; counted in the period it happened in.
    first = (
        select(RequestEvent.request_id, func.min(RequestEvent.at).label("at"))
        .where(*_resolution())
        .group_by(RequestEvent.request_id)
        .subquery()
    )
    resolved = await session.execute(
        _at(
            select(first.c.at, column)
            .join(HelpRequest, HelpRequest.id == first.c.request_id)
            .where(first.c.at >= period.start, first.c.at < period.end),
            HelpRequest.location,
            period,
        )
    )
    for at, value in resolved.all():
        cell = flow["resolved"][week_of(at)]
        cell[_label(value)] = cell.get(_label(value), 0) + 1
    return flow


async def broadcast_reach(session: AsyncSession, period: Period) -> list[dict[str, Any]]:
    """Each broadcast started in the period: how many people it was for, sent to (the
    platform took it), delivered (WhatsApp confirms delivery; Telegram does not report it),
    failed, skipped on purpose, and unsubscribed from its topic within 7 days after."""
    broadcasts = (
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.started_at >= period.start, Broadcast.started_at < period.end)
            .order_by(Broadcast.started_at)
        )
    ).all()
    ids = [b.id for b in broadcasts]
    if not ids:
        return []

    def of_place(query: Q) -> Q:
        """Only the recipients in the period's location, if it names one."""
        if not period.location:
            return query
        joined = query.join(Contact, Contact.id == BroadcastDelivery.contact_id)
        return joined.where(Contact.location == period.location)

    ledger = of_place(
        select(
            BroadcastDelivery.broadcast_id,
            BroadcastDelivery.state,
            func.count(),
            func.count(BroadcastDelivery.delivered_at),
        )
        .where(BroadcastDelivery.broadcast_id.in_(ids))
        .group_by(BroadcastDelivery.broadcast_id, BroadcastDelivery.state)
    )
    states: dict[int, Counter[str]] = defaultdict(Counter)
    delivered: Counter[int] = Counter()
    for broadcast_id, state, n, confirmed in (await session.execute(ledger)).all():
        states[broadcast_id][str(getattr(state, "value", state))] += int(n)
        delivered[broadcast_id] += int(confirmed)
    left = await session.execute(
        of_place(
            select(
                BroadcastDelivery.broadcast_id, BroadcastDelivery.sent_at, Subscription.changed_at
            )
            .join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
            .join(
                Subscription,
                (Subscription.contact_id == BroadcastDelivery.contact_id)
                & (Subscription.topic == Broadcast.topic),
            )
            .where(
                BroadcastDelivery.broadcast_id.in_(ids),
                BroadcastDelivery.state == LedgerState.SENT,
                Subscription.active.is_(False),
            )
        )
    )
    unsubscribed: Counter[int] = Counter(
        broadcast_id
        for broadcast_id, sent_at, changed_at in left.all()
        if sent_at and as_utc(sent_at) <= as_utc(changed_at) < as_utc(sent_at) + UNSUBSCRIBE_WINDOW
    )
    reach = []
    for broadcast in broadcasts:
        counted = states[broadcast.id]
        reach.append(
            {
                "id": broadcast.id,
                "title": broadcast.title,
                "topic": broadcast.topic,
                "started_at": broadcast.started_at,
                "recipients": sum(counted.values()),
                "sent": counted[LedgerState.SENT],
                "delivered": delivered[broadcast.id],
                "failed": counted[LedgerState.FAILED] + counted[LedgerState.UNCERTAIN],
                "skipped": counted[LedgerState.SKIPPED],
                "unsubscribed_after": unsubscribed[broadcast.id],
            }
        )
    return reach


def _utc_day(session: AsyncSession, column: Any) -> Any:
    """The UTC calendar day of a stored moment, worked out by the database."""
    if session.get_bind().dialect.name == "sqlite":  # naive UTC text
        return func.date(column)
    return func.date(func.timezone("UTC", column))


async def fallback_rate(
    session: AsyncSession, period: Period
) -> dict[str, dict[date, tuple[int, int]]]:
    """Per language (of the reply) and week: (messages Sahay did not understand and answered
    with its fallback, messages answered). Counted by the database, a day at a time."""
    per_message = _at(
        select(
            InboundRecord.received_at.label("at"),
            func.min(OutboundRecord.language).label("language"),
            func.max(case((OutboundRecord.message_key == FALLBACK, 1), else_=0)).label("missed"),
        )
        .join(OutboundRecord, OutboundRecord.in_reply_to == InboundRecord.id)
        .join(Contact, Contact.id == InboundRecord.contact_id)
        .where(InboundRecord.received_at >= period.start, InboundRecord.received_at < period.end)
        .group_by(InboundRecord.id, InboundRecord.received_at),
        Contact.location,
        period,
    ).subquery()
    day = _utc_day(session, per_message.c.at)
    rows = await session.execute(
        select(day, per_message.c.language, func.sum(per_message.c.missed), func.count()).group_by(
            day, per_message.c.language
        )
    )
    rates: dict[str, dict[date, tuple[int, int]]] = defaultdict(dict)
    for on, language, missed, answered in rows.all():
        monday = date.fromisoformat(str(on)[:10])
        week = monday - timedelta(days=monday.weekday())
        before = rates[language].get(week, (0, 0))
        rates[language][week] = (before[0] + int(missed), before[1] + int(answered))
    return dict(rates)


# Words that carry no topic, in the ways people write to Sahay (English, Spanish, and South
# Asian languages in Latin letters). Anything with a digit, an @ or a slash is dropped too.
FILLER = frozenset(
    """
    the and for you your are was can not but with this that have has what how where when
    who why any get got please plz pls thanks thank hello hii sir madam bro dear okay yes
    que por para con los las una del como donde hola gracias favor necesito
    hai hain nahi nai nahin kya kaise kahan mera meri mujhe hum aap koi kuch bhi aur
    ami amar ache nei koi kothay kivabe apni apnar
    """.split()  # noqa: SIM905 (words read better as words)
)
_WORD = re.compile(r"[^\s.,!?;:()\[\]{}\"'“”‘’«»…*+=<>|~^`-]+")


def _topic_words(text: str) -> set[str]:
    words = set()
    for word in _WORD.findall(text.casefold()):
        if len(word) < 3 or word in FILLER or any(ch.isdigit() or ch in "@/\\#_" for ch in word):
            continue
        words.add(word)
    return words


async def unhandled_topics(
    session: AsyncSession, period: Period, limit: int = 15, threshold: int = SMALL_CELL
) -> list[tuple[str, int]]:
    """The words people used most in the messages Sahay could not handle (its fallback, or
    out of scope), each with how many different people used it. Anonymised: single words,
    never a message; no numbers, addresses or handles; only words that at least `threshold`
    different people used, so that no word points at one person."""
    rows = await session.execute(
        _at(
            select(InboundRecord.contact_id, InboundRecord.text)
            .join(OutboundRecord, OutboundRecord.in_reply_to == InboundRecord.id)
            .join(Contact, Contact.id == InboundRecord.contact_id)
            .where(
                InboundRecord.received_at >= period.start,
                InboundRecord.received_at < period.end,
                OutboundRecord.message_key.in_(UNHANDLED),
                InboundRecord.text.is_not(None),
            ),
            Contact.location,
            period,
        )
    )
    people: dict[str, set[str]] = defaultdict(set)
    for contact, text in rows.all():
        for word in _topic_words(text or ""):
            people[word].add(contact)
    counted = [(word, len(who)) for word, who in people.items() if len(who) >= threshold]
    return sorted(counted, key=lambda item: (-item[1], item[0]))[:limit]
