"""Rate arithmetic and the pacers for broadcasts and replies: how fast each platform may be
sent to, so that no one-second window ever holds more than its limit, and one message per
person per interval. The pacer's schedule lives in Redis when several workers share a
platform, in the process otherwise.

Why not a token bucket that admits a message once a token is there (pyrate-limiter's GCRA):
a sender that wakes a millisecond late loses that millisecond, every time, and at 30/s or
in batches at 1000/s those losses added up to 5-15% of the limit. A pacer that hands out
*reservations* (Go's `rate.Limiter.Reserve`) keeps the schedule: the next slot follows the
last one reserved, whenever the caller woke, so lateness delays a message but loses no
slot.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.settings import Settings

# Rate arithmetic (pure).

# How far under the limit to pace: a message sent late by a busy event loop, network or
# platform arrives next to the messages after it, by up to rate × delay. 3.5% tolerates a
# 35 ms spread in delays at any rate (2.5% still met a few 429s on this 2-core machine).
MARGIN = 0.035


@dataclass(frozen=True)
class Pace:
    """Slots spaced `interval` seconds apart: `sustained` messages a second, under `limit`."""

    limit: float
    sustained: float

    @property
    def interval(self) -> float:
        return 1.0 / self.sustained


def pace(limit: float, margin: float = MARGIN) -> Pace:
    return Pace(limit, limit * (1 - margin))


def together(limit: float) -> int:
    """Messages sent at one slot (their first's): 1 per 200/s of the limit, 0.5% early."""
    return max(1, int(limit // 200))


def lanes_and_batch(limit: float, concurrency: int) -> tuple[int, int]:
    """Enough lanes to keep the pacer's schedule full; batches small enough that a batch
    is sent within about a tenth of a second. lanes × batch never exceeds `concurrency`."""
    # Two lanes at least: one lane's database round trips overlap the other's sends.
    lanes = max(1, min(4, concurrency, max(2, math.ceil(limit / 250))))
    batch = max(1, min(concurrency // lanes, math.ceil(limit * 0.1 / lanes)))
    return lanes, batch


# The schedule of slots, shared by every sender on a platform.


class Pacer(Protocol):
    @property
    def interval(self) -> float: ...

    async def reserve(self, count: int) -> float:
        """Reserve the next `count` slots; the seconds until the first (0: now). The rest
        follow `interval` apart."""
        ...


async def take(pacer: Pacer, count: int = 1) -> list[float]:
    """Reserve `count` slots; their times on the monotonic clock."""
    wait = await pacer.reserve(count)
    first = time.monotonic() + wait
    return [first + i * pacer.interval for i in range(count)]


async def until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


# A sender that wakes later than this after its slot (its process was off the CPU) takes a
# new slot rather than go out on top of the messages of the slots after it: together they
# would arrive as a burst the platform counts against its limit.
LATE = 0.010


async def on_time(pacer: Pacer, slot: float) -> None:
    """Wait for `slot`; if woken too late for it, for a fresh one instead."""
    await until(slot)
    while time.monotonic() - slot > LATE:
        slot = (await take(pacer))[0]
        await until(slot)


@dataclass
class LocalPacer:
    """The schedule in this process (one worker, SQLite mode, tests)."""

    interval: float
    _next: float = 0.0

    async def reserve(self, count: int) -> float:
        now = time.monotonic()
        first = max(self._next, now)
        self._next = first + count * self.interval
        return first - now


# The next free slot in microseconds on Redis's clock, the one clock every worker shares.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local first = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local after = first + tonumber(ARGV[1]) * tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', 60000)
return first - now
"""


@dataclass
class RedisPacer:
    """The schedule in Redis, shared by every worker: one script call per reservation."""

    redis: Any  # redis.asyncio.Redis
    key: str
    interval: float
    _script: Any = field(default=None, init=False, repr=False)

    async def reserve(self, count: int) -> float:
        if self._script is None:
            self._script = self.redis.register_script(_RESERVE)
        step = max(1, round(self.interval * 1_000_000))
        return int(await self._script(keys=[self.key], args=[count, step])) / 1_000_000


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


def pacer_for(plan: ChannelPlan, redis: Any | None, key: str) -> Pacer:
    interval = pace(plan.limit).interval
    if redis is None:
        return LocalPacer(interval)
    return RedisPacer(redis, f"sahay:pace:{key}", interval)


def channel_plans(settings: Settings) -> dict[str, ChannelPlan]:
    """The platforms' limits: Telegram 30 messages/s (1000 with paid broadcasts) and one per
    second per chat; WhatsApp 80/s per number (up to 1000) and its pair rate, one message to
    the same person per 6 seconds."""
    return {
        "telegram": ChannelPlan(1000.0 if settings.telegram_paid_broadcast else 30.0, 1.0),
        "whatsapp": ChannelPlan(float(settings.whatsapp_messages_per_second), 6.0),
    }
