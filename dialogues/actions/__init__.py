"""Custom actions, served by rasa-sdk (`python -m rasa_sdk --actions dialogues.actions`)."""

from dialogues.actions.alerts import ActionSubscribeAlerts, ActionUnsubscribeAlerts
from dialogues.actions.greet import ActionGreet
from dialogues.actions.requests import (
    ActionAskRequestConsent,
    ActionAskRequestNationality,
    ActionCancelRequest,
    ActionCheckRequestStatus,
    ActionCorrectRequest,
    ActionStartUrgentRequest,
    ActionSubmitRequest,
    ValidateRequestForm,
)
from dialogues.actions.services import ActionAnswerService

__all__ = [
    "ActionAnswerService",
    "ActionAskRequestConsent",
    "ActionAskRequestNationality",
    "ActionCancelRequest",
    "ActionCheckRequestStatus",
    "ActionCorrectRequest",
    "ActionGreet",
    "ActionStartUrgentRequest",
    "ActionSubmitRequest",
    "ActionSubscribeAlerts",
    "ActionUnsubscribeAlerts",
    "ValidateRequestForm",
]
