"""Rate arithmetic and the limiters for broadcasts: how fast each platform may be sent to,
paced so that no one-second window ever holds more than its limit, and one message per
person per interval. Pure functions here; the limiter state lives in Redis when several
workers share a platform, in the process otherwise."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyrate_limiter import GCRA, Duration, Limiter, Rate, RedisStateStore, StateBucket

from bot.settings import Settings

# Rate arithmetic (pure).


@dataclass(frozen=True)
class Pace:
    """How fast to send so that no one-second window ever holds more than `limit` messages:
    a sustained rate plus a small burst, together just under the limit."""

    limit: float
    sustained: float
    burst: int

    @property
    def rate(self) -> Rate:
        # Rates are whole numbers per interval: per 10 s keeps one decimal of precision.
        return Rate(int(self.sustained * 10), Duration.SECOND * 10, burst=self.burst)


def pace(limit: float, margin: float | None = None) -> Pace:
    """Below the limit by a margin, less a burst of 2% of it. A send delayed by a busy event
    loop or a busy platform lands late and bunches with the next ones: by rate × delay, so
    the margin grows with the rate (1% at 30/s, 2% at 1000/s, ~20 ms of delay)."""
    if margin is None:
        margin = 0.01 + 0.01 * min(1.0, limit / 1000)
    burst = max(1, int(limit // 50))
    return Pace(limit, limit * (1 - margin) - burst, burst)


def lanes_and_batch(limit: float, concurrency: int) -> tuple[int, int]:
    """Enough lanes to keep the limiter busy; batches small enough that a batch waits
    about a tenth of a second for its slots. lanes × batch never exceeds `concurrency`."""
    # Two lanes at least: one lane's database round trips overlap the other's sends.
    lanes = max(1, min(8, concurrency, max(2, math.ceil(limit / 100))))
    batch = max(1, min(concurrency // lanes, math.ceil(limit * 0.1 / lanes)))
    burst = pace(limit).burst
    if burst > 1:  # a batch takes its slots in one go: it must fit in the burst
        batch = min(batch, burst)
    return lanes, batch


# One message per person per interval (Telegram 1 s, WhatsApp's pair rate 6 s).


class ChatGate(Protocol):
    async def admit(self, keys: Sequence[str], interval: float) -> list[float]:
        """For each key: 0 if a message may go now (and the slot is taken), else the
        seconds to wait."""
        ...


@dataclass
class LocalChatGate:
    _until: dict[str, float] = field(default_factory=dict)

    async def admit(self, keys: Sequence[str], interval: float) -> list[float]:
        now = time.monotonic()
        if len(self._until) > 100_000:
            self._until = {k: t for k, t in self._until.items() if t > now}
        waits = []
        for key in keys:
            free = self._until.get(key, 0.0)
            if free <= now:
                self._until[key] = now + interval
                waits.append(0.0)
            else:
                waits.append(free - now)
        return waits


@dataclass
class RedisChatGate:
    redis: Any  # redis.asyncio.Redis
    prefix: str = "sahay:chat:"

    async def admit(self, keys: Sequence[str], interval: float) -> list[float]:
        ms = max(1, int(interval * 1000))
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(self.prefix + key, 1, nx=True, px=ms)
            taken = await pipe.execute()
        waits = [0.0] * len(keys)
        busy = [i for i, ok in enumerate(taken) if not ok]
        if busy:
            async with self.redis.pipeline(transaction=False) as pipe:
                for i in busy:
                    pipe.pttl(self.prefix + keys[i])
                left = await pipe.execute()
            for i, remaining in zip(busy, left, strict=True):
                waits[i] = max(int(remaining), 1) / 1000
        return waits


@dataclass(frozen=True)
class ChannelPlan:
    limit: float
    chat_interval: float


def limiter_for(plan: ChannelPlan, redis: Any | None, key: str) -> Limiter:
    rate = pace(plan.limit).rate
    if redis is None:
        return Limiter(StateBucket([rate], algorithm=GCRA()), buffer_ms=0)
    store = RedisStateStore(redis, f"sahay:rate:{key}")
    return Limiter(StateBucket([rate], store=store, algorithm=GCRA()), buffer_ms=0)


def channel_plans(settings: Settings) -> dict[str, ChannelPlan]:
    """The platforms' limits: Telegram 30 messages/s (1000 with paid broadcasts) and one per
    second per chat; WhatsApp 80/s per number (up to 1000) and its pair rate, one message to
    the same person per 6 seconds."""
    return {
        "telegram": ChannelPlan(1000.0 if settings.telegram_paid_broadcast else 30.0, 1.0),
        "whatsapp": ChannelPlan(float(settings.whatsapp_messages_per_second), 6.0),
    }
