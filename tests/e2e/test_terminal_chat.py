"""`sahay chat`: the same bot in a terminal, options numbered, a typed number picks one."""

from __future__ import annotations

import os
import subprocess

import pytest

from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def test_terminal_chat_numbers_the_options_and_a_number_picks_one(stack: Stack) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": stack.settings.database_url,
        "RASA_URL": stack.settings.rasa_url,
        "RASA_TOKEN": stack.settings.rasa_token,
        "USER": "e2e-terminal",
    }
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "sahay"), "chat"],
        input="hello\n1\nbye\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    out = result.stdout
    assert "sahay> Hello, I am Sahay" in out
    assert "1. Menu\nReply with a number to choose." in out
    assert "sahay> I can help you with" in out  # "1" picked the Menu option
    assert "sahay> Take care" in out
