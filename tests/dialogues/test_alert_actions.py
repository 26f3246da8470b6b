"""Subscribing to alerts in the conversation (rasa-sdk actions with a Tracker and a
CollectingDispatcher, over SQLite and PostgreSQL)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from dialogues.actions.alerts import ActionSubscribeAlerts, ActionUnsubscribeAlerts
from storage.broadcast_models import Subscription
from storage.db import Database
from tests.dialogues.conftest import SENDER, keys


def said(intent: str) -> Tracker:
    message = {"text": "", "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return Tracker(SENDER, {}, message, [], False, None, {}, "action_listen")


async def active(database: Database) -> list[tuple[str, bool]]:
    async with database.session() as session:
        rows = (await session.scalars(select(Subscription))).all()
        return [(s.topic, s.active) for s in rows]


async def test_subscribing_and_unsubscribing_is_stored_and_confirmed(db: Database) -> None:
    dispatcher = CollectingDispatcher()
    await ActionSubscribeAlerts().run(dispatcher, said("subscribe_alerts"), {})
    assert keys(dispatcher) == ["alerts.subscribed"]
    assert await active(db) == [("all", True)]
    await ActionSubscribeAlerts().run(dispatcher, said("subscribe_alerts"), {})  # again: one row
    assert await active(db) == [("all", True)]
    dispatcher = CollectingDispatcher()
    await ActionUnsubscribeAlerts().run(dispatcher, said("unsubscribe_alerts"), {})
    assert keys(dispatcher) == ["alerts.unsubscribed"]
    assert await active(db) == [("all", False)]
