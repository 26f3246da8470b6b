"""`sahay nlu parse`, the evaluation interface: one JSON object per input line, through the
same language detection and Rasa model as live messages."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

LINES = [
    "amar salary pai nai 3 mash",  # romanized Bengali, code-mixed
    "ޑޮކްޓަރަކަށް ދައްކަން ބޭނުން",  # Dhivehi
    "necesito comida para mis hijos",
    "",  # an empty line still gets its line of output
    "🙏🙏",
]


def test_every_line_gets_intent_confidence_and_language(stack: Stack) -> None:
    env = {
        **os.environ,
        "RASA_URL": stack.settings.rasa_url,
        "RASA_TOKEN": stack.settings.rasa_token,
    }
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "sahay"), "nlu", "parse"],
        input="\n".join(LINES) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == LINES
    assert {"text", "intent", "confidence", "language"} <= set(rows[0])
    assert (rows[0]["intent"], rows[0]["language"]) == ("ask_legal_aid", "bn")
    assert (rows[1]["intent"], rows[1]["language"]) == ("ask_health_services", "dv")
    assert (rows[2]["intent"], rows[2]["language"]) == ("ask_food_relief", "es")
    assert rows[3]["intent"] is None
    assert rows[4]["language"] is None
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)
