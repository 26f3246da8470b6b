"""The request form: asking for help (a referral or relief request) in the chat.

`request_form` asks only what the service needs — category, a short description, location,
household size (skippable), gender, age group and nationality (skippable, for reports only),
how to be contacted (and the number, for a phone call) — then shows a summary and asks for
consent.
The person can change an answer from the summary, or cancel at any point. Declining still
gives them the places and the helpline. Every text is a message key (bot/messages.py).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.settings import Settings
from dialogues.actions import runtime
from storage import requests
from storage.models import Contact, Urgency, as_utc, utcnow
from storage.requests import AGE_GROUPS, CATEGORIES, GENDERS, nationalities

FORM = "request_form"
SKIPPED = "skipped"
CONTACT_METHODS = ("chat", "phone")
SLOTS = (
    "request_category",
    "request_description",
    "request_location",
    "request_household_size",
    "request_gender",
    "request_age_group",
    "request_nationality",
    "request_contact_method",
    "request_phone",
    "request_consent",
    "request_urgent",
)
CHANGEABLE = {
    "request_category": "button.change_category",
    "request_description": "button.change_description",
    "request_location": "button.change_location",
    "request_household_size": "button.change_household",
    "request_contact_method": "button.change_contact",
}
CANCEL = {"key": "button.cancel", "payload": "/cancel_request"}
SKIP = {"key": "button.skip", "payload": SKIPPED}
MENU = {"key": "button.menu", "payload": "/ask_menu"}
MAX_DESCRIPTION = 500
# A safeguarding word makes a request opened within this time urgent.
ALARM_LASTS = timedelta(hours=24)
_NUMBER = re.compile(r"\d{1,3}")
_PHONE = re.compile(r"\+?[0-9]{6,15}")


def _say(dispatcher: CollectingDispatcher, key: str, **payload: Any) -> None:
    dispatcher.utter_message(json_message={"key": key, **payload})


def _text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "").strip()


def _entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None


class ValidateRequestForm(FormValidationAction):
    """Checks each answer; a nonsensical one is asked again with a hint."""

    def name(self) -> str:
        return "validate_request_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The phone number is asked only when the person wants a phone call."""
        if tracker.get_slot("request_contact_method") == "phone":
            return domain_slots
        return [slot for slot in domain_slots if slot != "request_phone"]

    def validate_request_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _: DomainDict
    ) -> dict[str, Any]:
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        for candidate in (value, _entity(tracker, "service_category"), intent[4:]):
            if candidate in CATEGORIES:
                return {"request_category": candidate}
        _say(dispatcher, "request.invalid_category")
        return {"request_category": None}

    def validate_request_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text) < 3 or text.startswith("/"):
            _say(dispatcher, "request.invalid_description")
            return {"request_description": None}
        return {"request_description": text[:MAX_DESCRIPTION]}

    def validate_request_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _: DomainDict
    ) -> dict[str, Any]:
        named = _entity(tracker, "location")  # the directory's name, through synonyms
        text = str(value or "").strip()
        if named:
            return {"request_location": named[:64]}
        if 2 <= len(text) <= 64 and not text.startswith("/"):
            return {"request_location": text}
        _say(dispatcher, "request.ask_location")
        return {"request_location": None}

    def validate_request_household_size(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _: DomainDict
    ) -> dict[str, Any]:
        if value == SKIPPED:
            return {"request_household_size": SKIPPED}
        found = _NUMBER.search(str(_entity(tracker, "household_size") or value or ""))
        if found and 1 <= int(found.group()) <= 50:
            return {"request_household_size": found.group()}
        _say(dispatcher, "request.invalid_household_size")
        return {"request_household_size": None}

    def _choice(
        self, slot: str, value: Any, allowed: tuple[str, ...], dispatcher: CollectingDispatcher
    ) -> dict[str, Any]:
        if value in allowed or value == SKIPPED:
            return {slot: value}
        _say(dispatcher, "request.invalid_choice")
        return {slot: None}

    def validate_request_gender(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _: DomainDict
    ) -> dict[str, Any]:
        return self._choice("request_gender", value, GENDERS, dispatcher)

    def validate_request_age_group(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _: DomainDict
    ) -> dict[str, Any]:
        return self._choice("request_age_group", value, AGE_GROUPS, dispatcher)

    def validate_request_nationality(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _: DomainDict
    ) -> dict[str, Any]:
        allowed = nationalities(Settings().deployment)
        return self._choice("request_nationality", value, allowed, dispatcher)

    def validate_request_contact_method(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _: DomainDict
    ) -> dict[str, Any]:
        if value in CONTACT_METHODS:
            return {"request_contact_method": value}
        _say(dispatcher, "request.invalid_choice")
        return {"request_contact_method": None}

    def validate_request_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _: DomainDict
    ) -> dict[str, Any]:
        # Bengali, Devanagari, Tamil or Arabic-Indic digits as 0-9, so a caseworker can dial it.
        typed = "".join(str(unicodedata.digit(c, c)) for c in str(value or ""))
        digits = re.sub(r"[\s().-]", "", typed)
        if _PHONE.fullmatch(digits):
            return {"request_phone": digits}
        _say(dispatcher, "request.invalid_phone")
        return {"request_phone": None}


class ActionAskRequestNationality(Action):
    """Which country the person is from, with the countries this deployment's people come
    from as buttons; skippable, and only for reports."""

    def name(self) -> str:
        return "action_ask_request_nationality"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        buttons = [
            {"key": f"country.{code}", "payload": code}
            for code in nationalities(Settings().deployment)
        ]
        _say(dispatcher, "request.ask_nationality", buttons=[*buttons, SKIP, CANCEL])
        return []


class ActionAskRequestConsent(Action):
    """The summary of the answers, what happens with them, and the question."""

    def name(self) -> str:
        return "action_ask_request_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slot = tracker.get_slot
        household = slot("request_household_size")
        method = slot("request_contact_method") or "chat"
        contact = {"key": f"contact.{method}"}
        variables = {
            "category": {"key": f"category.{slot('request_category')}"},
            "description": slot("request_description") or "",
            "location": slot("request_location") or "",
            "household": household
            if household not in (None, SKIPPED)
            else {"key": "request.not_given"},
            "contact": contact,
        }
        buttons = [
            {"key": "button.agree", "payload": "/affirm"},
            {"key": "button.disagree", "payload": "/deny"},
            *(
                {"key": key, "payload": f'/correct_request{{"request_field":"{field}"}}'}
                for field, key in CHANGEABLE.items()
            ),
            CANCEL,
        ]
        _say(dispatcher, "request.ask_consent", vars=variables, buttons=buttons)
        return []


class ActionCorrectRequest(Action):
    """ "Change: where" on the summary: that answer is asked again, then the summary."""

    def name(self) -> str:
        return "action_correct_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        field = _entity(tracker, "request_field")
        events: list[EventType] = [SlotSet("request_consent", None)]
        if field in CHANGEABLE:
            events.append(SlotSet(field, None))
            if field == "request_contact_method":
                events.append(SlotSet("request_phone", None))
        return events


class ActionStartUrgentRequest(Action):
    """After an emergency: an urgent request, flagged for safeguarding, that skips the
    optional questions."""

    def name(self) -> str:
        return "action_start_urgent_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        optional = (
            "request_household_size",
            "request_gender",
            "request_age_group",
            "request_nationality",
        )
        return [SlotSet("request_urgent", True), *(SlotSet(slot, SKIPPED) for slot in optional)]


class ActionCancelRequest(Action):
    def name(self) -> str:
        return "action_cancel_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        _say(dispatcher, "request.cancelled", buttons=[MENU])
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_reset()]


def _reset() -> list[EventType]:
    return [SlotSet(slot, None) for slot in SLOTS]


def _form_started_at(tracker: Tracker) -> float:
    """When this run of the form began: with the sender, the submit's idempotency key. A
    retried submit action sees the same events, hence the same key."""
    started = [
        e.get("timestamp") or 0.0
        for e in tracker.events
        if e.get("event") == "active_loop" and e.get("name") == FORM
    ]
    return float(started[-1]) if started else 0.0


class ActionSubmitRequest(Action):
    """Consent given: the request is stored (once, however often this action is retried) and
    the person gets their reference code. Declined: nothing is stored, and they still get the
    places and the helpline."""

    def name(self) -> str:
        return "action_submit_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slot = tracker.get_slot
        category = slot("request_category") or "other"
        if slot("request_consent") is not True:
            directory = category if category != "other" else "helpline"
            _say(dispatcher, "request.declined", directory=directory, buttons=[MENU])
            return _reset()
        settings = Settings()
        box = settings.box()
        metadata = tracker.latest_message.get("metadata") or {}
        household = slot("request_household_size")
        phone = slot("request_phone")
        new = requests.NewRequest(
            idempotency_key=f"{tracker.sender_id}:{_form_started_at(tracker):.6f}",
            contact_id=tracker.sender_id,
            channel=str(metadata.get("channel") or "webchat")[:16],
            language=str(metadata.get("language") or settings.default_language)[:8],
            category=category,
            description=box.seal(slot("request_description") or ""),
            location=slot("request_location"),
            household_size=int(household) if household not in (None, SKIPPED) else None,
            gender=_given(slot("request_gender")),
            age_group=_given(slot("request_age_group")),
            nationality=_given(slot("request_nationality")),
            contact_method=slot("request_contact_method") or "chat",
            phone=box.seal(phone) if phone else None,
            consent_share=True,
        )
        async with runtime.database().session() as session:
            contact = await session.get(Contact, tracker.sender_id)
            alarm = contact is not None and _recent(contact.safeguarding_at)
            if slot("request_urgent") or alarm:
                new = dataclasses.replace(new, urgency=Urgency.URGENT, safeguarding=True)
            request, _created = await requests.open_request(session, settings.deployment, new)
        _say(
            dispatcher, "request.submitted", vars={"reference": request.reference}, buttons=[MENU]
        )
        return _reset()


def _recent(moment: datetime | None) -> bool:
    return moment is not None and utcnow() - as_utc(moment) < ALARM_LASTS


def _given(value: Any) -> str | None:
    return None if value in (None, SKIPPED) else str(value)


class ActionCheckRequestStatus(Action):
    """Where a person's own request stands: the one whose code they give, or their latest."""

    def name(self) -> str:
        return "action_check_request_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = _entity(tracker, "reference_code")
        async with runtime.database().session() as session:
            found = await requests.of_contact(session, tracker.sender_id, code)
        if not found:
            if code:
                shown = requests.normalise_reference(code)
                _say(
                    dispatcher,
                    "status.not_found",
                    vars={"reference": shown},
                    directory="helpline",
                    buttons=[MENU],
                )
            else:
                _say(dispatcher, "status.none", buttons=[MENU])
            return []
        latest = found[0]
        variables = {
            "reference": latest.reference,
            "category": {"key": f"category.{latest.category}"},
            "status": {"key": f"status.{latest.status.value}"},
        }
        _say(dispatcher, "status.found", vars=variables, buttons=[MENU])
        return []
