"""The processes `make run` starts get their arguments in a form their parsers cannot misread."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from bot.supervisor import services


def test_a_rasa_token_that_begins_with_a_dash_stays_one_argument(tmp_path: Path) -> None:
    # secrets.token_urlsafe may begin with "-"; "--auth-token -abc" made rasa refuse to start.
    settings = Settings(var_dir=tmp_path)
    [rasa] = [
        s for s in services(settings, tmp_path / "model.tar.gz", "-Xy_9") if s.name == "rasa"
    ]
    assert "--auth-token=-Xy_9" in rasa.argv
    assert "-Xy_9" not in rasa.argv
