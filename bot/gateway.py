"""What `sahay web` and `sahay worker` share for the messaging channels: the pipeline, the
delivery engine with a sender per configured channel, and "answer, then deliver"."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
        found[whatsapp.CHANNEL] = whatsapp.WhatsAppSender(http, settings)
    return found


@dataclass
class Gateway:
    pipeline: Pipeline
    engine: DeliveryEngine

    async def answer(self, contact_id: str) -> None:
        """Answer a person's waiting messages, then send the replies. Runs after the webhook
        returned; anything left undone here (a crash, Rasa down) the worker picks up."""
        try:
            await self.pipeline.process_waiting(contact_id)
            await self.engine.deliver_to(contact_id)
        except (SahayError, SQLAlchemyError, OSError) as exc:
            logger.warning("Answering deferred to the worker: %s", type(exc).__name__)
