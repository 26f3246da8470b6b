"""The intent contract: other parts of Sahay and its evaluations use these names exactly."""

from __future__ import annotations

from typing import Final

CONVERSATION: Final = (
    "greet",
    "goodbye",
    "thank_you",
    "affirm",
    "deny",
    "bot_challenge",
    "ask_menu",
    "change_language",
    "human_handoff",
    "out_of_scope",
)
SERVICES: Final = (
    "ask_health_services",
    "ask_vaccination",
    "ask_covid_info",
    "ask_food_relief",
    "ask_legal_aid",
    "ask_documents",
    "ask_repatriation",
    "ask_family_links",
    "ask_shelter",
    "ask_employment",
    "ask_education",
    "ask_cash_assistance",
    "ask_mental_health",
    "ask_helpline",
)
ACTIONS: Final = (
    "request_help",
    "report_emergency",
    "check_request_status",
    "subscribe_alerts",
    "unsubscribe_alerts",
    "delete_my_data",
)
INTENTS: Final = CONVERSATION + SERVICES + ACTIONS
# Intents only buttons send (a payload such as /cancel_request): in the domain, never in the
# training data, never predicted from text.
BUTTON_ONLY: Final = ("cancel_request", "correct_request", "urgent_request")

# Training data folders: the eight launch languages in their own scripts, and romanized input.
SCRIPT_LANGUAGES: Final = ("en", "es", "bn", "hi", "ta", "si", "ne", "dv")
ROMANIZED: Final = ("bn_latn", "hi_latn", "ne_latn", "ta_latn", "si_latn")
DATA_SETS: Final = SCRIPT_LANGUAGES + ROMANIZED
MIN_TRAIN = {**dict.fromkeys(SCRIPT_LANGUAGES, 25), **dict.fromkeys(ROMANIZED, 10)}
