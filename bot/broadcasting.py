"""Sending broadcasts at the platforms' limits, never twice, surviving a `kill -9`.

Each worker runs a few lanes per channel. A lane claims a small batch of ledger rows, drops
those that must not be sent (unsubscribed, unreachable, WhatsApp window closed without a
template), reserves the next slots from the platform's pacer (in Redis when several workers
run), marks the rest "sending", and sends each at its slot; then it records every outcome in
one round trip. At most lanes × batch rows are "sending" at once: all that a crash can leave
uncertain. Replies go first: a lane waits while replies are queued on its channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from bot import metrics
from bot.broadcast_plan import Recipient, outcome_of, plan_row
from bot.delivery import (
    DeliveryError,
    Outgoing,
    RateLimited,
    Sender,
    Transient,
    Unreachable,
)
from bot.rates import (
    ChannelPlan,
    ChatGate,
    LocalChatGate,
    Pacer,
    RedisChatGate,
    channel_plans,
    lanes_and_batch,
    on_time,
    pacer_for,
    take,
    together,
)
from bot.settings import Settings
from storage import broadcasts, ledger
from storage import repository as repo
from storage.broadcast_models import (
    ALL_TOPICS,
    Broadcast,
    BroadcastVariant,
    LedgerState,
    Subscription,
)
from storage.crypto import AddressBox, AddressUnreadable
from storage.db import Database
from storage.models import Contact, OutboundRecord, OutboundStatus, utcnow

logger = logging.getLogger(__name__)
REPLY_CHECK = 0.2  # seconds between looks for queued replies (they go first)
STOP_GRACE = 10.0  # seconds a lane may take to finish its batch when the worker stops
SENDING_CHECK = 1.0  # seconds between looks for broadcasts started (a pause is seen at once)


@dataclass
class BroadcastEngine:
    database: Database
    box: AddressBox
    senders: Mapping[str, Sender]
    plans: Mapping[str, ChannelPlan]
    pacers: Mapping[str, Pacer]
    gate: ChatGate
    worker: str
    concurrency: int = 100
    telegram_paid: bool = False
    idle_seconds: float = 0.5
    _paused_until: dict[str, float] = field(default_factory=dict)
    _replies_checked: dict[str, tuple[float, bool]] = field(default_factory=dict)
    _variants: dict[int, tuple[Broadcast, dict[str, BroadcastVariant]]] = field(
        default_factory=dict
    )
    _sending: tuple[float, list[int]] = (0.0, [])  # (looked up at, broadcasts being sent)
    sent: int = 0

    @functools.cached_property
    def _autocommit(self) -> Any:
        return self.database.engine.execution_options(isolation_level="AUTOCOMMIT")

    async def _being_sent(self) -> list[int]:
        """The broadcasts being sent (their texts loaded), looked up at most every
        SENDING_CHECK seconds."""
        checked, ids = self._sending
        if time.monotonic() - checked >= SENDING_CHECK:
            async with self.database.session() as session:
                ids = await ledger.sending_broadcasts(session)
                await self._read_variants(session, set(ids) - set(self._variants))
            self._sending = (time.monotonic(), ids)
        return ids

    async def run(self, stop: asyncio.Event, predecessor: str | None = None) -> None:
        """Lanes and housekeeping until `stop`. `predecessor`: a worker known to be dead,
        whose rows the first housekeeping pass recovers without waiting for DEAD_AFTER."""
        async with self.database.session() as session:
            if predecessor is not None:
                await ledger.forget(session, predecessor)
            await ledger.beat(session, self.worker)
        tasks = [asyncio.create_task(self._housekeeping(stop))]
        for channel in self.senders:
            lanes, _batch = lanes_and_batch(self.plans[channel].limit, self.concurrency)
            tasks += [asyncio.create_task(self._lane(channel, stop)) for _ in range(lanes)]
        try:
            await stop.wait()
            # Each lane ends after its batch (its sends answered and recorded, its connection
            # back in the pool); only one still busy after STOP_GRACE is cancelled.
            await asyncio.wait(tasks, timeout=STOP_GRACE)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                async with self.database.session() as session:
                    await ledger.retire(session, self.worker)

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with self.database.session() as session:
                await ledger.beat(session, self.worker)
                back, lost = await ledger.recover(session)
                started = await broadcasts.start_due(session)
                done = await ledger.finish_done(session)
            for broadcast_id in started:
                logger.info("Scheduled broadcast %d started", broadcast_id)
            if back or lost:
                logger.warning(
                    "Recovered a stopped worker's rows: %d again, %d uncertain", back, lost
                )
            for broadcast_id in done:
                self._variants.pop(broadcast_id, None)
                logger.info("Broadcast %d sent", broadcast_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def _lane(self, channel: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                busy = await self.send_batch(channel)
            except (OSError, SQLAlchemyError) as exc:
                logger.error("Broadcast lane error (%s); retrying", type(exc).__name__)
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_seconds)

    async def _replies_waiting(self, channel: str) -> bool:
        """Whether replies are queued on this channel (asked at most every REPLY_CHECK s)."""
        now = time.monotonic()
        checked, waiting = self._replies_checked.get(channel, (0.0, False))
        if now - checked < REPLY_CHECK:
            return waiting
        waiting = await self._ask_replies_waiting(channel)
        self._replies_checked[channel] = (now, waiting)
        return waiting

    async def _ask_replies_waiting(self, channel: str) -> bool:
        async with self.database.session() as session:
            query = select(
                exists().where(
                    OutboundRecord.channel == channel,
                    OutboundRecord.status == OutboundStatus.QUEUED,
                    (OutboundRecord.next_attempt_at.is_(None))
                    | (OutboundRecord.next_attempt_at <= utcnow()),
                )
            )
            return bool(await session.scalar(query))

    async def send_batch(self, channel: str) -> int:
        """One batch on one channel; returns the rows it handled (0: nothing to do now)."""
        if self._paused_until.get(channel, 0) > time.monotonic():
            return 0
        if await self._replies_waiting(channel):
            return 0
        _lanes, batch = lanes_and_batch(self.plans[channel].limit, self.concurrency)
        # One connection for the batch, each statement its own transaction: a claim, the
        # hand-over and the outcomes are single statements, and at a thousand messages a
        # second BEGIN and COMMIT round trips would cost as much as the statements.
        sending = await self._being_sent()
        async with self._autocommit.connect() as conn:
            rows = await ledger.claim(conn, channel, self.worker, batch, sending)
            if not rows:
                return 0
            blocked = await self._send_claimed(conn, channel, rows)
        if blocked:
            async with self.database.session() as session:
                for contact_id, reason in blocked:
                    await repo.mark_unreachable(session, contact_id, reason)
        return len(rows)

    async def _send_claimed(
        self, conn: Any, channel: str, rows: list[ledger.Claimed]
    ) -> list[tuple[str, str]]:
        """Send what may be sent, record every outcome; the contacts found unreachable."""
        topics = {self._variants[r.broadcast_id][0].topic for r in rows}
        recipients = await self._recipients(conn, rows, topics)
        now = utcnow()
        outcomes: list[ledger.Outcome] = []
        ready: list[tuple[ledger.Claimed, Outgoing]] = []
        for row in rows:
            broadcast, by_language = self._variants[row.broadcast_id]
            planned = plan_row(
                row,
                recipients.get(row.contact_id),
                by_language.get(row.language),
                broadcast,
                self.telegram_paid and channel == "telegram",
                now,
            )
            if isinstance(planned, ledger.Outcome):
                outcomes.append(planned)
            else:
                ready.append((row, planned))
        waits = await self.gate.admit(
            [f"{channel}:{row.contact_id}" for row, _ in ready], self.plans[channel].chat_interval
        )
        sendable = []
        for (row, message), wait in zip(ready, waits, strict=True):
            if wait > 0:  # this person got a message a moment ago
                retry = now + timedelta(seconds=wait)
                outcomes.append(ledger.Outcome(row.id, LedgerState.PENDING, retry_at=retry))
            else:
                sendable.append((row, message))
        blocked: list[tuple[str, str]] = []
        if sendable:
            slots = await take(self.pacers[channel], len(sendable))
            # "sending" from here: waiting for a later slot, a row after a crash is uncertain
            # (lanes × batch at most). Handing over just before the slot instead cost rate:
            # under load the round trip made the first messages miss their slots.
            await ledger.hand_over(conn, [row.id for row, _ in sendable])
            # In groups that share their first slot: fewer wake-ups, a few messages early.
            group = together(self.plans[channel].limit)
            results = await asyncio.gather(
                *(
                    self._send(channel, m, slots[i - i % group])
                    for i, (_, m) in enumerate(sendable)
                )
            )
            for (row, _message), (error, sent_id) in zip(sendable, results, strict=True):
                outcomes.append(outcome_of(row, error, sent_id))
                metrics.BROADCAST_DELIVERIES.labels(
                    channel, "sent" if error is None else outcomes[-1].state.value
                ).inc()
                if error is None:
                    self.sent += 1
                elif isinstance(error, RateLimited) and error.whole_channel:
                    self._paused_until[channel] = time.monotonic() + (error.retry_after or 1.0)
                elif isinstance(error, Unreachable):
                    blocked.append((row.contact_id, error.reason))
        await ledger.record(conn, outcomes)
        return blocked

    async def _send(
        self, channel: str, message: Outgoing, at: float
    ) -> tuple[DeliveryError | None, str]:
        await on_time(self.pacers[channel], at)
        try:
            return None, await self.senders[channel].send(message)
        except DeliveryError as exc:
            return exc, ""
        except (OSError, ValueError) as exc:  # a transport error the sender did not map
            return Transient(f"{type(exc).__name__}"), ""

    async def _recipients(
        self, session: Any, rows: Sequence[ledger.Claimed], topics: set[str]
    ) -> dict[str, Recipient]:
        ids = sorted({r.contact_id for r in rows})
        wanted = topics | {ALL_TOPICS}
        subscribed = set(
            (
                await session.scalars(
                    select(Subscription.contact_id).where(
                        Subscription.contact_id.in_(ids),
                        Subscription.active.is_(True),
                        Subscription.topic.in_(wanted),
                    )
                )
            ).all()
        )
        found: dict[str, Recipient] = {}
        columns = select(
            Contact.id, Contact.address, Contact.reachable, Contact.last_inbound_at
        ).where(Contact.id.in_(ids))
        for cid, sealed, reachable, last_inbound in (await session.execute(columns)).all():
            try:
                address = self.box.open(sealed) if sealed else None
            except AddressUnreadable:
                address = None
            found[cid] = Recipient(address, reachable, cid in subscribed, last_inbound)
        return found

    async def _read_variants(self, session: Any, missing: set[int]) -> None:
        for broadcast in (
            await session.scalars(select(Broadcast).where(Broadcast.id.in_(missing)))
        ).all():
            found = (
                await session.scalars(
                    select(BroadcastVariant).where(BroadcastVariant.broadcast_id == broadcast.id)
                )
            ).all()
            self._variants[broadcast.id] = (broadcast, {v.language: v for v in found})


def build_engine(
    settings: Settings,
    database: Database,
    box: AddressBox,
    senders: Mapping[str, Sender],
    redis: Any | None,
    worker: str,
) -> BroadcastEngine:
    plans = channel_plans(settings)
    return BroadcastEngine(
        database=database,
        box=box,
        senders=senders,
        plans=plans,
        pacers={c: pacer_for(plans[c], redis, c) for c in senders},
        gate=RedisChatGate(redis) if redis is not None else LocalChatGate(),
        worker=worker,
        concurrency=settings.broadcast_concurrency,
        telegram_paid=settings.telegram_paid_broadcast,
    )
