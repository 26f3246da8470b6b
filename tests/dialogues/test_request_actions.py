"""The request form's custom actions, called as the action server calls them: a Tracker in, a
CollectingDispatcher's messages and the events out, over a real database."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.settings import Settings
from dialogues.actions import requests as actions
from storage import requests
from storage.crypto import AddressBox
from storage.db import Database
from storage.models import HelpRequest, Urgency
from tests.dialogues.conftest import SENDER, keys

FILLED = {
    "request_category": "food_relief",
    "request_description": "salary nai 2 month, no food",
    "request_location": "Male",
    "request_household_size": "4",
    "request_gender": "skipped",
    "request_age_group": "18_59",
    "request_nationality": "NP",
    "request_contact_method": "chat",
    "request_phone": None,
    "request_consent": True,
}
FORM_STARTED = {"event": "active_loop", "name": "request_form", "timestamp": 1764600000.25}


def tracker(
    text: str = "",
    slots: dict[str, Any] | None = None,
    intent: str = "",
    entities: list[dict[str, Any]] | None = None,
    sender: str = SENDER,
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "metadata": {"language": "bn", "channel": "telegram"},
    }
    return Tracker(
        sender,
        slots or {},
        message,
        [FORM_STARTED],
        False,
        None,
        {"name": "request_form"},
        "action_listen",
    )


@pytest.mark.parametrize(
    ("text", "intent", "entities", "expected"),
    [
        ("food_relief", "", [], "food_relief"),  # a button
        ("amar thakar jayga nai", "ask_shelter", [], "shelter"),  # understood from free text
        (
            "need lawyer",
            "out_of_scope",
            [{"entity": "service_category", "value": "legal_aid"}],
            "legal_aid",
        ),
        ("hmm ok", "affirm", [], None),
    ],
)
def test_the_category_comes_from_a_button_or_from_free_text(
    text: str, intent: str, entities: list[dict[str, Any]], expected: str | None
) -> None:
    dispatcher = CollectingDispatcher()
    result = actions.ValidateRequestForm().validate_request_category(
        text, dispatcher, tracker(text, intent=intent, entities=entities), {}
    )
    assert result == {"request_category": expected}
    assert keys(dispatcher) == ([] if expected else ["request.invalid_category"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("skipped", "skipped"), ("we are 5 people", "5"), ("lots", None), ("900", None)],
)
def test_household_size_is_a_number_or_skipped(value: str, expected: str | None) -> None:
    dispatcher = CollectingDispatcher()
    result = actions.ValidateRequestForm().validate_request_household_size(
        value, dispatcher, tracker(value), {}
    )
    assert result == {"request_household_size": expected}
    assert keys(dispatcher) == ([] if expected else ["request.invalid_household_size"])


def test_a_phone_number_is_digits_and_asked_only_for_a_call() -> None:
    form = actions.ValidateRequestForm()
    dispatcher = CollectingDispatcher()
    assert form.validate_request_phone("+960 777-1234", dispatcher, tracker(), {}) == {
        "request_phone": "+9607771234"
    }
    assert form.validate_request_phone("call me", dispatcher, tracker(), {}) == {
        "request_phone": None
    }
    assert keys(dispatcher) == ["request.invalid_phone"]


async def test_the_phone_question_appears_only_for_a_phone_call() -> None:
    form = actions.ValidateRequestForm()
    slots = list(actions.SLOTS)
    chat = await form.required_slots(
        slots, CollectingDispatcher(), tracker(slots={"request_contact_method": "chat"}), {}
    )
    call = await form.required_slots(
        slots, CollectingDispatcher(), tracker(slots={"request_contact_method": "phone"}), {}
    )
    assert "request_phone" not in chat
    assert call == slots


async def test_the_summary_shows_the_answers_and_offers_changes(db: Database) -> None:
    dispatcher = CollectingDispatcher()
    slots = FILLED | {"request_household_size": "skipped", "request_consent": None}
    await actions.ActionAskRequestConsent().run(dispatcher, tracker(slots=slots), {})
    [message] = dispatcher.messages
    custom = message["custom"]
    assert custom["key"] == "request.ask_consent"
    assert custom["vars"]["category"] == {"key": "category.food_relief"}
    assert custom["vars"]["household"] == {"key": "request.not_given"}
    payloads = [b["payload"] for b in custom["buttons"]]
    assert payloads[:2] == ["/affirm", "/deny"]
    assert '/correct_request{"request_field":"request_location"}' in payloads
    assert payloads[-1] == "/cancel_request"


async def test_changing_an_answer_clears_it_and_the_consent() -> None:
    changed = tracker(entities=[{"entity": "request_field", "value": "request_location"}])
    events = await actions.ActionCorrectRequest().run(CollectingDispatcher(), changed, {})
    assert {(e["name"], e["value"]) for e in events} == {
        ("request_consent", None),
        ("request_location", None),
    }


async def test_consent_opens_one_request_however_often_the_submit_is_retried(
    db: Database,
) -> None:
    first, again = CollectingDispatcher(), CollectingDispatcher()
    await actions.ActionSubmitRequest().run(first, tracker(slots=FILLED), {})
    await actions.ActionSubmitRequest().run(again, tracker(slots=FILLED), {})
    async with db.session() as session:
        [stored] = (await session.scalars(select(HelpRequest))).all()
    reference = first.messages[0]["custom"]["vars"]["reference"]
    assert keys(first) == ["request.submitted"]
    assert again.messages[0]["custom"]["vars"]["reference"] == reference == stored.reference
    assert (stored.category, stored.location, stored.household_size) == ("food_relief", "Male", 4)
    assert (stored.gender, stored.age_group, stored.language, stored.channel) == (
        None,
        "18_59",
        "bn",
        "telegram",
    )
    assert stored.nationality == "NP"
    # The description is stored encrypted.
    assert stored.description
    assert "salary" not in stored.description
    settings = Settings()
    box = AddressBox.from_settings(settings.encryption_keys, settings.secret_key)
    assert box.open(stored.description) == FILLED["request_description"]


async def test_declining_stores_nothing_and_still_gives_the_places(db: Database) -> None:
    dispatcher = CollectingDispatcher()
    events = await actions.ActionSubmitRequest().run(
        dispatcher, tracker(slots=FILLED | {"request_consent": False}), {}
    )
    assert dispatcher.messages[0]["custom"]["key"] == "request.declined"
    assert dispatcher.messages[0]["custom"]["directory"] == "food_relief"
    async with db.session() as session:
        assert (await session.scalars(select(HelpRequest))).all() == []
    assert {e["name"] for e in events} >= {"request_category", "request_consent"}


async def test_status_answers_only_about_the_persons_own_requests(db: Database) -> None:
    mine, theirs = CollectingDispatcher(), CollectingDispatcher()
    await actions.ActionSubmitRequest().run(mine, tracker(slots=FILLED), {})
    await actions.ActionSubmitRequest().run(
        theirs, tracker(slots=FILLED, sender="c_someone_else"), {}
    )
    my_code = mine.messages[0]["custom"]["vars"]["reference"]
    their_code = theirs.messages[0]["custom"]["vars"]["reference"]

    async def status(code: str | None, sender: str = SENDER) -> dict[str, Any]:
        dispatcher = CollectingDispatcher()
        entities = [{"entity": "reference_code", "value": code}] if code else []
        await actions.ActionCheckRequestStatus().run(
            dispatcher, tracker(entities=entities, sender=sender), {}
        )
        custom: dict[str, Any] = dispatcher.messages[0]["custom"]
        return custom

    latest = await status(None)
    assert latest["key"] == "status.found"
    assert latest["vars"] == {
        "reference": my_code,
        "category": {"key": "category.food_relief"},
        "status": {"key": "status.new"},
    }
    assert (await status(my_code.lower().replace("-", " ")))["key"] == "status.found"
    assert (await status(their_code))["key"] == "status.not_found"
    assert (await status(None, sender="c_nobody"))["key"] == "status.none"


async def test_cancel_ends_the_form_and_forgets_the_answers() -> None:
    dispatcher = CollectingDispatcher()
    events = await actions.ActionCancelRequest().run(dispatcher, tracker(slots=FILLED), {})
    assert keys(dispatcher) == ["request.cancelled"]
    assert events[0] == {"event": "active_loop", "name": None, "timestamp": None}
    assert all(e.get("value") is None for e in events[1:])


async def test_an_urgent_request_skips_the_optional_questions_and_is_flagged(
    db: Database,
) -> None:
    events = await actions.ActionStartUrgentRequest().run(CollectingDispatcher(), tracker(), {})
    slots = {e["name"]: e["value"] for e in events}
    assert slots == {
        "request_urgent": True,
        "request_household_size": "skipped",
        "request_gender": "skipped",
        "request_age_group": "skipped",
        "request_nationality": "skipped",
    }
    await actions.ActionSubmitRequest().run(
        CollectingDispatcher(), tracker(slots=FILLED | slots), {}
    )
    async with db.session() as session:
        [stored] = (await session.scalars(select(HelpRequest))).all()
    assert (stored.urgency, stored.safeguarding, stored.household_size) == (
        Urgency.URGENT,
        True,
        None,
    )
    assert stored.nationality is None


async def test_a_request_opened_after_safeguarding_words_is_urgent(db: Database) -> None:
    async with db.session() as session:
        await requests.raise_alarm(session, SENDER)
    await actions.ActionSubmitRequest().run(CollectingDispatcher(), tracker(slots=FILLED), {})
    async with db.session() as session:
        [stored] = (await session.scalars(select(HelpRequest))).all()
    assert (stored.urgency, stored.safeguarding) == (Urgency.URGENT, True)


async def test_the_nationality_question_offers_the_deployments_countries() -> None:
    dispatcher = CollectingDispatcher()
    await actions.ActionAskRequestNationality().run(dispatcher, tracker(), {})
    [asked] = dispatcher.messages
    assert asked["custom"]["key"] == "request.ask_nationality"
    offered = [b["payload"] for b in asked["custom"]["buttons"]]
    assert offered == ["BD", "IN", "LK", "NP", "MV", "other", "skipped", "/cancel_request"]
    assert [b["key"] for b in asked["custom"]["buttons"]][:2] == ["country.BD", "country.IN"]
