"""The intent contract and the training data behind it, in every language and script."""

from __future__ import annotations

from collections import defaultdict

import pytest
import yaml

from bot.messages import MESSAGES
from bot.settings import PROJECT_ROOT
from nlu.intents import BUTTON_ONLY, DATA_SETS, INTENTS, SERVICES
from nlu.training_data import HELDOUT, NLU_DATA, check, normal, read_data_set, read_examples

DIALOGUES = PROJECT_ROOT / "dialogues"


@pytest.mark.parametrize("name", DATA_SETS)
def test_every_intent_has_enough_distinct_examples_and_a_clean_held_out_split(name: str) -> None:
    assert check(name) == []


def test_no_text_means_two_intents_in_any_two_languages() -> None:
    """One model learns from every data set: the same words may not teach two intents."""
    owners: dict[str, set[str]] = defaultdict(set)
    for name in DATA_SETS:
        for intent, texts in read_data_set(name).items():
            for text in texts:
                owners[normal(text)].add(intent)
    assert {t: sorted(i) for t, i in owners.items() if len(i) > 1} == {}


def test_entity_examples_are_plain_text_and_never_held_out() -> None:
    held_out = {
        normal(t)
        for name in DATA_SETS
        for ts in read_examples(HELDOUT / f"{name}.yml").values()
        for t in ts
    }
    annotated = read_examples(NLU_DATA / "lookups" / "entity_examples.yml")
    assert "register me for food help we are 5 people" in annotated["request_help"]
    assert not {normal(t) for ts in annotated.values() for t in ts} & held_out


def test_the_domain_knows_exactly_the_contract_intents() -> None:
    domain = yaml.safe_load((DIALOGUES / "domain.yml").read_text())
    assert set(domain["intents"]) - {"nlu_fallback"} == set(INTENTS) | set(BUTTON_ONLY)


def test_every_intent_has_a_rule_that_answers_it() -> None:
    rules = yaml.safe_load((DIALOGUES / "rules.yml").read_text())["rules"]
    answered = {step["intent"] for rule in rules for step in rule["steps"] if "intent" in step}
    assert set(INTENTS) <= answered


@pytest.mark.parametrize("intent", SERVICES)
def test_every_service_question_has_an_answer_text(intent: str) -> None:
    assert f"answer.{intent}" in MESSAGES
