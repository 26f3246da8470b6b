"""`sahay worker`: answers messages that waited (Rasa was down), in order, when Rasa is back;
sends queued Telegram and WhatsApp messages (bot/delivery.py); polls Telegram when no webhook
is set, or registers the webhook when one is. Web chat replies are handed over in the HTTP
response, or picked up by the page when it polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot
from telegram.error import TelegramError

from bot import broadcasting, gateway, metrics
from bot.channels import telegram
from bot.delivery import DeliveryEngine
from bot.errors import SahayError
from bot.pipeline import Pipeline
from bot.settings import Settings
from storage import privacy
from storage.db import Database
from storage.tracker import TrackerStore
from web.app import build_gateway, build_pipeline

logger = logging.getLogger(__name__)
# A message younger than this is being answered by the process that received it.
RETRY_AFTER = timedelta(seconds=5)


def worker_name() -> str:
    """A worker's id in the ledger: unique per process start, readable in the database."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


async def run_once(
    pipeline: Pipeline, engine: DeliveryEngine | None = None, concurrency: int = 1
) -> int:
    """One pass: if Rasa is ready, answer every waiting message; send what is queued.
    Returns replies produced."""
    produced = 0
    try:
        if await pipeline.rasa.model_loaded():
            waiting = await pipeline.process_waiting(min_age=RETRY_AFTER, concurrency=concurrency)
            produced = len(waiting)
    except SahayError:
        pass
    if engine is not None:
        await engine.run_once()
    return produced


@dataclass
class Forgetting:
    """Erasures people confirmed, at every pass; the retention purge, once an hour."""

    database: Database
    tracker: TrackerStore
    retention: timedelta
    closed_retention: timedelta
    purge_every: float = 3600.0
    _next_purge: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> Forgetting:
        return cls(
            database,
            TrackerStore(settings.tracker_store_url),
            timedelta(days=settings.retention_days),
            timedelta(days=settings.closed_request_retention_days),
        )

    async def run_once(self) -> None:
        erased = await privacy.run_erasures(self.database, self.tracker)
        if erased:
            logger.info("Erased %d contacts who asked for it", erased)
        if time.monotonic() >= self._next_purge:
            purged = await privacy.purge(
                self.database, self.tracker, self.retention, self.closed_retention
            )
            self._next_purge = time.monotonic() + self.purge_every
            if any(purged.values()):
                logger.info("Retention purge: %s", dict(purged))


async def run_worker(
    settings: Settings,
    stop: asyncio.Event | None = None,
    worker_id: str | None = None,
    predecessor: str | None = None,
) -> None:
    """Until `stop` (or SIGTERM): replies, delivery and broadcasts. `predecessor`: the id of a
    worker known to be dead (the last life of this one), whose rows are recovered at once."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    database = Database(settings.database_url, settings.box())
    async with httpx.AsyncClient() as http:
        pipeline = build_pipeline(settings, database, http)
        bot = gateway.telegram_bot(settings)
        gate = build_gateway(settings, pipeline, http, bot)
        polling: asyncio.Task[None] | None = None
        if bot is not None:
            # Before any send: the connection pools (getMe may fail; sends are retried).
            with contextlib.suppress(TelegramError):
                await bot.initialize()
            if settings.telegram_webhook_url or settings.telegram_poll:
                polling = asyncio.create_task(_telegram(settings, bot, gate, stop))
        logger.info("Worker started (channels: %s)", ", ".join(gate.engine.channels) or "none")
        broadcasting = _broadcasts(settings, gate, stop, worker_id, predecessor)
        forgetting = Forgetting.from_settings(settings, database)
        while not stop.is_set():
            produced = 0
            try:
                produced = await run_once(pipeline, gate.engine, settings.answer_concurrency)
                if produced:
                    logger.info("Answered waiting messages: %d replies", produced)
            except (SQLAlchemyError, OSError) as exc:
                logger.error("Database unavailable (%s); retrying", type(exc).__name__)
                metrics.ERRORS.labels("database").inc()
            except RedisError as exc:  # the shared pacer: replies wait for Redis to be back
                logger.error("Redis unavailable (%s); retrying", type(exc).__name__)
                metrics.ERRORS.labels("redis").inc()
            try:
                await forgetting.run_once()
            except (SQLAlchemyError, OSError) as exc:
                logger.error("Erasure or purge failed (%s); retrying", type(exc).__name__)
                metrics.ERRORS.labels("erasure").inc()
            if produced:  # a backlog (Rasa was down): the next pass at once, not after a poll
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.worker_poll_seconds)
        if polling is not None:
            await polling
        await broadcasting
        await gate.close()
        if bot is not None:  # the replies and broadcasts still needed it after setWebhook
            with contextlib.suppress(TelegramError):
                await bot.shutdown()
        await forgetting.tracker.dispose()
    await database.dispose()
    logger.info("Worker stopped")


def _broadcasts(
    settings: Settings,
    gate: gateway.Gateway,
    stop: asyncio.Event,
    worker_id: str | None,
    predecessor: str | None,
) -> asyncio.Task[None]:
    """Broadcast lanes for every configured channel, beside the reply loop."""
    import redis.asyncio as redis

    shared = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    engine = broadcasting.build_engine(
        settings,
        gate.pipeline.database,
        gate.engine.box,
        gate.engine.senders,
        shared,
        worker_id or worker_name(),
    )
    gate.engine.pacers = engine.pacers  # replies count against the same limits

    async def run() -> None:
        try:
            if engine.senders:
                await engine.run(stop, predecessor)
        finally:
            if shared is not None:
                await shared.aclose()

    return asyncio.create_task(run())


async def _telegram(
    settings: Settings, bot: Bot, gate: gateway.Gateway, stop: asyncio.Event
) -> None:
    """Webhook mode: register it (retrying until Telegram answers). Polling mode: poll.
    The bot stays up after either: replies and broadcasts go out through it."""
    if not settings.telegram_webhook_url:
        await telegram.poll(
            bot, gate.pipeline, gate.schedule, stop, settings.telegram_poll_timeout_seconds
        )
        return
    while not stop.is_set():
        try:
            await telegram.set_webhook(bot, settings)
            return
        except TelegramError as exc:
            logger.warning("setWebhook failed (%s); retrying", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 10)
