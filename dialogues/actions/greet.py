"""action_greet: greets, and says "welcome back" to someone Sahay has greeted before."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogues.actions import runtime
from storage import repository as repo


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        async with runtime.database().session() as session:
            returning = await repo.mark_greeted(session, tracker.sender_id)
        dispatcher.utter_message(response="utter_greet_returning" if returning else "utter_greet")
        return []
