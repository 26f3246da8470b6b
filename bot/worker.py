"""`sahay worker`: answers messages that waited (Rasa was down), in order, when Rasa is back.

The delivery engine for Telegram, WhatsApp and broadcasts grows here; web chat replies are
handed over in the HTTP response, or picked up by the page when it polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

import httpx
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import SahayError
from bot.pipeline import Pipeline
from bot.settings import Settings
from storage.db import Database
from web.app import build_pipeline

logger = logging.getLogger(__name__)
# A message younger than this is being answered by the process that received it.
RETRY_AFTER = timedelta(seconds=5)


async def run_once(pipeline: Pipeline) -> int:
    """One pass: if Rasa is ready, answer every waiting message. Returns replies produced."""
    try:
        if not await pipeline.rasa.model_loaded():
            return 0
    except SahayError:
        return 0
    return len(await pipeline.process_waiting(min_age=RETRY_AFTER))


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    database = Database(settings.database_url)
    async with httpx.AsyncClient() as http:
        pipeline = build_pipeline(settings, database, http)
        logger.info("Worker started")
        while not stop.is_set():
            try:
                produced = await run_once(pipeline)
                if produced:
                    logger.info("Answered waiting messages: %d replies", produced)
            except SQLAlchemyError as exc:
                logger.error("Database unavailable (%s); retrying", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.worker_poll_seconds)
    await database.dispose()
    logger.info("Worker stopped")
