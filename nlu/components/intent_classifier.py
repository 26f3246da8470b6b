"""`SahayIntentClassifier`: LinearIntentModel as a Rasa 3.6 graph component.

pipeline:
  - name: nlu.components.intent_classifier.SahayIntentClassifier
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.linear import LinearIntentModel

logger = logging.getLogger(__name__)
MODEL_FILE = "linear_intent_model.pkl"
RANKING_LENGTH = 10


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SahayIntentClassifier(IntentClassifier, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"c": 0.5, "scale": 5.0, "max_char_ngram": 5, "min_coverage": 0.5}

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when this code changes, not only when the data or config do."""
        digest = hashlib.sha256()
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: LinearIntentModel | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SahayIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        model = LinearIntentModel(
            c=self.config["c"],
            scale=self.config["scale"],
            max_char_ngram=self.config["max_char_ngram"],
            min_coverage=self.config["min_coverage"],
        )
        self.model = model.fit([e.get(TEXT) for e in examples], [e.get(INTENT) for e in examples])
        with self._model_storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_bytes(pickle.dumps(self.model))
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SahayIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                # Our own file, written by train() into the model archive we built.
                model = pickle.loads((directory / MODEL_FILE).read_bytes())  # noqa: S301
        except (ValueError, FileNotFoundError):
            logger.warning("No trained intent model in %s; every message falls back", resource)
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        labels = self.model.labels
        for message, row in zip(messages, self.model.probabilities(texts), strict=True):
            ranking = sorted(
                (
                    {INTENT_NAME_KEY: label, "confidence": float(p)}
                    for label, p in zip(labels, row, strict=True)
                ),
                key=lambda r: -r["confidence"],
            )
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[:RANKING_LENGTH], add_to_output=True)
        return messages
