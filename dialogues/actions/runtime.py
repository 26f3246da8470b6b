"""What actions share in the action-server process. rasa-sdk builds actions itself, without
arguments, so the database is made once, lazily, from the same settings as the gateway."""

from __future__ import annotations

from functools import cache

from bot.settings import Settings
from storage.db import Database


@cache
def database() -> Database:
    settings = Settings()
    return Database(settings.database_url, settings.box())
