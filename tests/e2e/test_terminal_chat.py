"""`sahay chat`: the same bot in a terminal, options numbered, a typed number picks one."""

from __future__ import annotations

import os
import subprocess

import pytest

from bot.i18n import Renderer, load_catalogues
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
        input="hello\n2\nmenu\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    out = result.stdout
    assert "sahay> Hello, I am Sahay" in out
    # The language picker's options are numbered; "2" picks the second one, Español.
    assert "1. English\n2. Español\n" in out
    assert "Reply with a number to choose." in out
    renderer = Renderer(load_catalogues())
    assert "sahay> " + renderer.text("language_set", "es") in out
    # From then on every reply is in Spanish.
    assert "sahay> " + renderer.text("menu", "es").splitlines()[0] in out
