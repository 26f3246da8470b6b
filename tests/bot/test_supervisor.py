"""The processes `make run` starts get their arguments in a form their parsers cannot misread."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.settings import Settings
from bot.supervisor import services, write_rasa_config


def test_a_rasa_token_that_begins_with_a_dash_stays_one_argument(tmp_path: Path) -> None:
    # secrets.token_urlsafe may begin with "-"; "--auth-token -abc" made rasa refuse to start.
    settings = Settings(var_dir=tmp_path)
    [rasa] = [
        s for s in services(settings, tmp_path / "model.tar.gz", "-Xy_9") if s.name == "rasa"
    ]
    assert "--auth-token=-Xy_9" in rasa.argv
    assert "-Xy_9" not in rasa.argv


def test_on_postgresql_and_redis_rasa_keeps_conversations_in_postgresql_and_locks_in_redis(
    tmp_path: Path,
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        database_url="postgresql+asyncpg://sahay:s3cret@db.internal:5433/sahay",
        redis_url="redis://:hush@cache.internal:6380/2",
    )
    endpoints, _ = write_rasa_config(settings, tmp_path)
    config = yaml.safe_load(endpoints.read_text())
    assert config["tracker_store"] == {
        "type": "SQL", "dialect": "postgresql", "url": "db.internal", "port": 5433,
        "db": "sahay_tracker", "login_db": "sahay", "username": "sahay", "password": "s3cret",
    }  # fmt: skip
    assert config["lock_store"] == {
        "type": "redis", "url": "cache.internal", "port": 6380, "db": 2, "key_prefix": "sahay",
        "password": "hush",
    }  # fmt: skip
    assert endpoints.stat().st_mode & 0o077 == 0  # it holds a password: owner only
    # The gateway erases and purges in the same database Rasa writes.
    assert settings.tracker_store_url == (
        "postgresql+asyncpg://sahay:s3cret@db.internal:5433/sahay_tracker"
    )


def test_by_default_rasa_keeps_conversations_where_the_gateway_erases_them(
    tmp_path: Path,
) -> None:
    settings = Settings(var_dir=tmp_path)
    endpoints, _ = write_rasa_config(settings, tmp_path / "rasa")
    config = yaml.safe_load(endpoints.read_text())
    assert config["tracker_store"]["dialect"] == "sqlite"
    assert settings.tracker_store_url.endswith(config["tracker_store"]["db"])
    assert "lock_store" not in config


def test_rasas_error_lines_that_quote_the_persons_message_are_dropped(tmp_path: Path) -> None:
    # rasa/core/channels/rest.py logs {"text": <the message>} when a turn fails.
    settings = Settings(var_dir=tmp_path)
    [rasa] = [s for s in services(settings, tmp_path / "m.tar.gz", "t") if s.name == "rasa"]
    config_file = Path(rasa.argv[rasa.argv.index("--logging-config-file") + 1])
    config = yaml.safe_load(config_file.read_text())
    assert config["disable_existing_loggers"] is False
    assert config["loggers"]["rasa.core.channels.rest"]["level"] == "CRITICAL"
