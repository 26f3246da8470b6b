"""action_answer_service: answers a service question, remembering where the person is.

The text is the gateway's to render (message key `answer.<intent>`); this action records the
location the person named, so that the gateway can list places near them.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogues.actions import runtime
from storage import repository as repo

MENU_BUTTON = {"key": "button.menu", "payload": "/ask_menu"}


def answer_payload(intent: str) -> dict[str, Any]:
    """The custom payload for a service intent: its answer key and directory category."""
    return {
        "key": f"answer.{intent}",
        "directory": intent.removeprefix("ask_"),
        "buttons": [MENU_BUTTON],
    }


class ActionAnswerService(Action):
    def name(self) -> str:
        return "action_answer_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        location = next(tracker.get_latest_entity_values("location"), None)
        if location:
            async with runtime.database().session() as session:
                await repo.set_location(session, tracker.sender_id, str(location))
        dispatcher.utter_message(json_message=answer_payload(intent))
        return []
