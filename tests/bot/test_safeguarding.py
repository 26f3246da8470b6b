"""Safeguarding words in every launch language raise the alarm; ordinary questions do not."""

from __future__ import annotations

import pytest

from bot.safeguarding import raises_alarm


@pytest.mark.parametrize(
    "text",
    [
        "my employer beat me yesterday",
        "i want to die",
        "Me pega todos los días",
        "malik marpeet karta hai",
        "মালিক মারধর করে",
        "मुझे धमकी दे रहा है",
        "साहू ले कुटपिट गर्यो",
        "முதலாளி அடிக்கிறார்",
        "මට ගහනවා",
        "އަނިޔާ ދެނީ",
        "they took passport, trafficking",
    ],
)
def test_clear_safeguarding_words_raise_the_alarm(text: str) -> None:
    assert raises_alarm(text)


@pytest.mark.parametrize(
    "text",
    [
        "salary nai 2 month",
        "where is the clinic",
        "hello",
        "আমার খাবার দরকার",
        "kaam chahiye",
        "I need a visa paper",
    ],
)
def test_ordinary_messages_do_not(text: str) -> None:
    assert not raises_alarm(text)
