"""What `sahay web` and `sahay worker` share for the messaging channels: the pipeline, the
delivery engine with a sender per configured channel, and "answer, then deliver"."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import httpx
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot

from bot.channels import telegram, whatsapp
from bot.delivery import DeliveryEngine, Sender
from bot.errors import SahayError
from bot.pipeline import Pipeline
from bot.settings import Settings

logger = logging.getLogger(__name__)


def telegram_bot(settings: Settings) -> Bot | None:
    return telegram.make_bot(settings) if settings.telegram_enabled else None


def senders(settings: Settings, http: httpx.AsyncClient, bot: Bot | None) -> dict[str, Sender]:
    found: dict[str, Sender] = {}
    if bot is not None:
        found[telegram.CHANNEL] = telegram.TelegramSender(bot)
    if settings.whatsapp_enabled:
        found[whatsapp.CHANNEL] = whatsapp.WhatsAppSender(settings)
    return found


@dataclass
class Gateway:
    pipeline: Pipeline
    engine: DeliveryEngine
    _queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _queued: set[str] = field(default_factory=set)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # How many people one process answers at once after their webhooks returned
    # (ANSWER_CONCURRENCY): few enough that answering never crowds out storing (and
    # acknowledging) the webhooks still arriving, enough to keep Rasa busy.
    answerers: int = 4

    def schedule(self, contact_id: str) -> None:
        """Answer this person soon (a webhook stored their message and is returning its 200).
        Nothing here needs to survive a crash: the message is stored, the worker answers it."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._answerer()) for _ in range(self.answerers)]
        if contact_id not in self._queued:
            self._queued.add(contact_id)
            self._queue.put_nowait(contact_id)

    async def drain(self) -> None:
        """Wait until everyone scheduled so far is answered (tests, shutdown)."""
        await self._queue.join()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for sender in self.engine.senders.values():
            if isinstance(sender, whatsapp.WhatsAppSender):
                await sender.close()

    async def _answerer(self) -> None:
        while True:
            contact_id = await self._queue.get()
            self._queued.discard(contact_id)
            try:
                await self.answer(contact_id)
            finally:
                self._queue.task_done()

    async def answer(self, contact_id: str) -> None:
        """Answer a person's waiting messages, then send the replies. Runs after the webhook
        returned; anything left undone here (a crash, Rasa down) the worker picks up."""
        try:
            await self.pipeline.process_waiting(contact_id)
            await self.engine.deliver_to(contact_id)
        except (SahayError, SQLAlchemyError, OSError) as exc:
            logger.warning("Answering deferred to the worker: %s", type(exc).__name__)
