"""Alerts in the conversation: "send me alerts" subscribes to every topic, "no more alerts"
ends them. The words STOP and START do the same in the gateway, without Rasa."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from dialogues.actions import runtime
from dialogues.actions.requests import MENU
from storage import subscriptions


class ActionSubscribeAlerts(Action):
    def name(self) -> str:
        return "action_subscribe_alerts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        async with runtime.database().session() as session:
            await subscriptions.subscribe(session, tracker.sender_id)
        dispatcher.utter_message(json_message={"key": "alerts.subscribed", "buttons": [MENU]})
        return []


class ActionUnsubscribeAlerts(Action):
    def name(self) -> str:
        return "action_unsubscribe_alerts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        async with runtime.database().session() as session:
            await subscriptions.unsubscribe(session, tracker.sender_id)
        dispatcher.utter_message(json_message={"key": "alerts.unsubscribed", "buttons": [MENU]})
        return []
