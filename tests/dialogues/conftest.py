"""Custom actions run with a Tracker and a CollectingDispatcher over a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa_sdk.executor import CollectingDispatcher

from dialogues.actions import runtime
from storage import repository as repo
from storage.db import Database

SENDER = "c_form_person"


@pytest.fixture
async def db(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setattr(runtime, "database", lambda: database)
    async with database.session() as session:
        for contact in (SENDER, "c_someone_else"):
            await repo.touch_contact(session, contact, "telegram")
    return database


def keys(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["custom"]["key"] for m in dispatcher.messages]
