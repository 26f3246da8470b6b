"""Property tests for the request form's validators: whatever a person types, an answer is
either accepted in a clean, bounded form or refused with a hint and asked again; nothing
raises (a crash would drop the person out of the form)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rasa_sdk.executor import CollectingDispatcher

from dialogues.actions import requests as actions
from storage.requests import AGE_GROUPS, GENDERS, nationalities
from tests.dialogues.conftest import keys
from tests.dialogues.test_request_actions import tracker

FORM = actions.ValidateRequestForm()
# Anything a phone keyboard can send: every script, emoji, control characters, huge pastes.
TYPED = st.text(max_size=2000) | st.sampled_from(["", " ", "/", "/ask_menu", "skipped", "٣"])
PROPERTY = settings(max_examples=150, deadline=None)


def validate(slot: str, value: Any) -> tuple[Any, list[str]]:
    dispatcher = CollectingDispatcher()
    method = getattr(FORM, f"validate_{slot}")
    result = method(value, dispatcher, tracker(str(value)), {})
    return result[slot], keys(dispatcher)


@PROPERTY
@given(TYPED)
def test_a_phone_answer_is_digits_or_asked_again(value: str) -> None:
    phone, said = validate("request_phone", value)
    if phone is None:
        assert said == ["request.invalid_phone"]
    else:
        assert re.fullmatch(r"\+?[0-9]{6,15}", phone), phone
        assert said == []


@PROPERTY
@given(
    st.from_regex(r"\+?[0-9]{6,15}", fullmatch=True),
    st.lists(st.sampled_from([" ", "-", ".", "(", ")"]), max_size=4),
)
def test_a_real_number_written_with_spaces_or_dashes_is_accepted_as_its_digits(
    number: str, separators: list[str]
) -> None:
    written = number
    for n, separator in enumerate(separators):  # "+960 777-1234" as people write it
        at = min(len(written), 2 + 3 * n)
        written = written[:at] + separator + written[at:]
    phone, said = validate("request_phone", written)
    assert (phone, said) == (number, [])


@PROPERTY
@given(st.from_regex(r"[0-9]{6,15}", fullmatch=True), st.sampled_from(["০", "०", "௦", "٠"]))
def test_a_number_in_bengali_devanagari_tamil_or_arabic_digits_is_kept_as_0_to_9(
    number: str, zero: str
) -> None:
    local = "".join(chr(ord(zero) + int(d)) for d in number)
    assert validate("request_phone", local) == (number, [])


@PROPERTY
@given(TYPED)
def test_a_household_size_is_a_number_from_1_to_50_or_asked_again(value: str) -> None:
    size, said = validate("request_household_size", value)
    if size is None:
        assert said == ["request.invalid_household_size"]
    else:
        assert size == "skipped" or 1 <= int(size) <= 50
        assert said == []


@PROPERTY
@given(TYPED)
def test_a_description_is_kept_to_500_characters_and_never_a_command(value: str) -> None:
    text, said = validate("request_description", value)
    if text is None:
        assert said == ["request.invalid_description"]
    else:
        assert 3 <= len(text) <= actions.MAX_DESCRIPTION
        assert not text.startswith("/")
        assert value.strip().startswith(text)


@PROPERTY
@given(TYPED)
def test_a_location_is_at_most_64_characters_or_asked_again(value: str) -> None:
    place, said = validate("request_location", value)
    if place is None:
        assert said == ["request.ask_location"]
    else:
        assert 2 <= len(place) <= 64
        assert not place.startswith("/")


@PROPERTY
@given(TYPED | st.sampled_from(["female", "male", "chat", "phone", "18_59", "BD", "VE", "other"]))
def test_choices_accept_only_their_buttons(value: str) -> None:
    for slot, allowed in (
        ("request_gender", GENDERS),
        ("request_age_group", AGE_GROUPS),
        ("request_nationality", nationalities("maldives")),
        ("request_contact_method", actions.CONTACT_METHODS),
    ):
        chosen, said = validate(slot, value)
        if chosen is None:
            assert said == ["request.invalid_choice"]
        else:
            assert chosen in (*allowed, "skipped")
