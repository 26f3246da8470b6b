"""The delivery ledger as workers use it: claim rows, mark them handed to the platform, record
the outcome, and recover what a dead worker held.

pending → claimed (a worker has it) → sending (the platform has it) → sent / failed / skipped,
or back to pending to retry. A dead worker's claimed rows go back to pending (they were never
handed over); its sending rows become uncertain (they may have arrived) and are never retried.
On PostgreSQL several workers claim with FOR UPDATE SKIP LOCKED; SQLite runs one worker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.broadcast_models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    LedgerState,
)
from storage.models import ChannelState, utcnow
from storage.repository import insert_for

# The hot path (claim, hand over, record) also runs on a bare connection: no ORM session
# per batch at a thousand messages a second.
Executor = AsyncSession | AsyncConnection
HEARTBEAT_PREFIX = "worker:"
# A worker that has not beaten for this long is dead: what it held is recovered.
DEAD_AFTER = timedelta(seconds=10)


@dataclass(frozen=True)
class Claimed:
    """A ledger row a worker holds (plain values: no ORM object per message)."""

    id: int
    broadcast_id: int
    contact_id: str
    channel: str
    language: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What became of one row after the platform answered."""

    id: int
    state: LedgerState
    platform_message_id: str | None = None
    error: str | None = None
    retry_at: datetime | None = None  # with state PENDING


async def beat(session: AsyncSession, worker: str) -> None:
    """This worker is alive (written every second or so by the worker loop)."""
    now = utcnow()
    await session.execute(
        insert_for(session, ChannelState)
        .values(key=HEARTBEAT_PREFIX + worker, value=now.isoformat(), updated_at=now)
        .on_conflict_do_update(
            index_elements=["key"], set_={"value": now.isoformat(), "updated_at": now}
        )
    )


async def retire(session: AsyncSession, worker: str) -> None:
    """A clean stop: hand back what was claimed and not sent, and forget the heartbeat."""
    await session.execute(
        update(BroadcastDelivery)
        .where(BroadcastDelivery.worker == worker, BroadcastDelivery.state == LedgerState.CLAIMED)
        .values(state=LedgerState.PENDING, worker=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    await forget(session, worker)


async def forget(session: AsyncSession, worker: str) -> None:
    """A worker known to be dead (its parent saw it die): its heartbeat goes, so the next
    `recover` takes its rows back at once."""
    await session.execute(
        delete(ChannelState).where(ChannelState.key == HEARTBEAT_PREFIX + worker)
    )


async def live_workers(session: AsyncSession) -> set[str]:
    query = select(ChannelState.key).where(
        ChannelState.key.startswith(HEARTBEAT_PREFIX),
        ChannelState.updated_at >= utcnow() - DEAD_AFTER,
    )
    return {key.removeprefix(HEARTBEAT_PREFIX) for key in (await session.scalars(query)).all()}


async def recover(session: AsyncSession) -> tuple[int, int]:
    """Rows held by workers that are gone: claimed → pending, sending → uncertain.
    Returns (handed back, uncertain)."""
    alive = await live_workers(session)
    held = BroadcastDelivery.worker.not_in(alive or {""})
    back = await session.execute(
        update(BroadcastDelivery)
        .where(held, BroadcastDelivery.state == LedgerState.CLAIMED)
        .values(state=LedgerState.PENDING, worker=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    lost = await session.execute(
        update(BroadcastDelivery)
        .where(held, BroadcastDelivery.state == LedgerState.SENDING)
        .values(
            state=LedgerState.UNCERTAIN,
            error="the worker stopped while the platform had this message; not resent",
        )
        .execution_options(synchronize_session=False)
    )
    return int(back.rowcount), int(lost.rowcount)  # type: ignore[attr-defined]


async def sending_broadcasts(session: Executor) -> list[int]:
    """The broadcasts being sent, oldest first (workers look every second)."""
    query = select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING)
    return list((await session.scalars(query.order_by(Broadcast.id))).all())


async def claim(
    session: Executor,
    channel: str,
    worker: str,
    limit: int,
    broadcast_ids: Sequence[int] | None = None,
) -> list[Claimed]:
    """Up to `limit` pending rows of broadcasts being sent, oldest broadcast first, in one
    statement per broadcast; on PostgreSQL rows another worker is claiming right now are
    skipped, not waited for. One broadcast at a time, by equality, so the (broadcast_id,
    state, id) index finds the next pending rows directly however many are already sent.
    `broadcast_ids` may be a second old: a broadcast paused since is checked here."""
    if broadcast_ids is None:
        broadcast_ids = await sending_broadcasts(session)
    bind = session.get_bind() if isinstance(session, AsyncSession) else session
    now = utcnow()
    claimed: list[Claimed] = []
    for broadcast_id in broadcast_ids:
        pending = (
            select(BroadcastDelivery.id)
            .where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.state == LedgerState.PENDING,
                BroadcastDelivery.channel == channel,
                (BroadcastDelivery.next_attempt_at.is_(None))
                | (BroadcastDelivery.next_attempt_at <= now),
            )
            .order_by(BroadcastDelivery.state, BroadcastDelivery.id)
            .limit(limit - len(claimed))
        )
        if bind.dialect.name == "postgresql":
            pending = pending.with_for_update(skip_locked=True)
        # Materialized: chosen once. Inlined into the UPDATE, PostgreSQL may run it again
        # per row, and with SKIP LOCKED each run picks other rows: more than `limit`.
        picked = pending.cte("picked").prefix_with("MATERIALIZED")
        still_sending = (
            select(Broadcast.id)
            .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING)
            .exists()
        )
        rows = await session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.id == picked.c.id,
                BroadcastDelivery.state == LedgerState.PENDING,
                still_sending,
            )
            .values(
                state=LedgerState.CLAIMED,
                worker=worker,
                claimed_at=now,
                attempts=BroadcastDelivery.attempts + 1,
            )
            .returning(
                BroadcastDelivery.id,
                BroadcastDelivery.broadcast_id,
                BroadcastDelivery.contact_id,
                BroadcastDelivery.channel,
                BroadcastDelivery.language,
                BroadcastDelivery.attempts,
            )
            .execution_options(synchronize_session=False)
        )
        claimed += (Claimed(*row) for row in rows.all())
        if len(claimed) >= limit:
            break
    return sorted(claimed, key=lambda row: row.id)


async def hand_over(session: Executor, ids: Sequence[int]) -> None:
    """claimed → sending, just before these go to the platform."""
    await session.execute(
        update(BroadcastDelivery)
        .where(BroadcastDelivery.id.in_(ids), BroadcastDelivery.state == LedgerState.CLAIMED)
        .values(state=LedgerState.SENDING)
        .execution_options(synchronize_session=False)
    )


_TABLE: Table = BroadcastDelivery.__table__  # type: ignore[assignment]
_RECORD = (  # Core, not ORM: a plain executemany
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(
        state=bindparam("new_state"),
        error=bindparam("new_error"),
        worker=None,
        sent_at=bindparam("new_sent_at"),
        platform_message_id=bindparam("new_platform_id"),
        next_attempt_at=bindparam("new_retry_at"),
    )
)


async def record(session: Executor, outcomes: Sequence[Outcome]) -> None:
    """Each row's outcome, in one round trip (executemany)."""
    if not outcomes:
        return
    now = utcnow()
    values = [
        {
            "row_id": o.id,
            "new_state": o.state.value,
            "new_error": o.error[:300] if o.error else None,
            "new_sent_at": now if o.state is LedgerState.SENT else None,
            "new_platform_id": o.platform_message_id,
            "new_retry_at": o.retry_at,
        }
        for o in outcomes
    ]
    await session.execute(_RECORD, values)


async def finish_done(session: AsyncSession) -> list[int]:
    """Broadcasts being sent with nothing left to send (or in flight) are done."""
    open_states = (LedgerState.PENDING, LedgerState.CLAIMED, LedgerState.SENDING)
    busy = (
        select(BroadcastDelivery.id)
        .where(
            BroadcastDelivery.broadcast_id == Broadcast.id,
            BroadcastDelivery.state.in_(open_states),
        )
        .exists()
    )
    done = (
        await session.scalars(
            select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING, ~busy)
        )
    ).all()
    if done:
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id.in_(done))
            .values(status=BroadcastStatus.DONE, finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return list(done)


async def progress(session: AsyncSession, broadcast_id: int) -> dict[tuple[str, str, str], int]:
    """(language, channel, state) → rows, for the progress page."""
    query = (
        select(
            BroadcastDelivery.language,
            BroadcastDelivery.channel,
            BroadcastDelivery.state,
            func.count(),
        )
        .where(BroadcastDelivery.broadcast_id == broadcast_id)
        .group_by(BroadcastDelivery.language, BroadcastDelivery.channel, BroadcastDelivery.state)
    )
    rows = (await session.execute(query)).all()
    return {(lang, channel, str(state)): int(n) for lang, channel, state, n in rows}


async def delivered(session: AsyncSession, broadcast_id: int) -> dict[tuple[str, str], int]:
    """(language, channel) → rows the platform reported delivered (WhatsApp only)."""
    query = (
        select(BroadcastDelivery.language, BroadcastDelivery.channel, func.count())
        .where(
            BroadcastDelivery.broadcast_id == broadcast_id,
            BroadcastDelivery.delivered_at.is_not(None),
        )
        .group_by(BroadcastDelivery.language, BroadcastDelivery.channel)
    )
    return {(lang, channel): int(n) for lang, channel, n in (await session.execute(query)).all()}


async def record_receipt(
    session: AsyncSession,
    channel: str,
    platform_message_id: str,
    delivered: bool,
    at: datetime,
    error: str | None = None,
) -> bool:
    """A platform's later word on a broadcast message: delivered (or read), or failed after
    all (WhatsApp reports some failures only then). Returns whether a row was found."""
    values: dict[str, object] = {"delivered_at": at}
    if not delivered:
        values = {"state": LedgerState.FAILED, "error": (error or "failed after sending")[:300]}
    result = await session.execute(
        update(BroadcastDelivery)
        .where(
            BroadcastDelivery.channel == channel,
            BroadcastDelivery.platform_message_id == platform_message_id,
            BroadcastDelivery.state == LedgerState.SENT,
            BroadcastDelivery.delivered_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Summary:
    """A broadcast's progress as staff see it."""

    total: int
    sent: int
    failed: int  # failed or skipped, each with its reason
    uncertain: int
    pending: int  # pending, claimed or being sent

    @property
    def percent(self) -> int:
        done = self.total - self.pending
        return 100 if self.total == 0 else int(100 * done / self.total)

    def eta_seconds(self, per_second: float) -> int | None:
        """Time left at the platform's rate; None when nothing is left or no rate is known."""
        if not self.pending or per_second <= 0:
            return None
        return int(math.ceil(self.pending / per_second))


def summarise(by_state: dict[str, int]) -> Summary:
    pending = sum(by_state.get(s, 0) for s in ("pending", "claimed", "sending"))
    failed = by_state.get("failed", 0) + by_state.get("skipped", 0)
    return Summary(
        total=sum(by_state.values()),
        sent=by_state.get("sent", 0),
        failed=failed,
        uncertain=by_state.get("uncertain", 0),
        pending=pending,
    )
