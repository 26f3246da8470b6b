"""The service directory: the shipped sample files load, and places come nearest first."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from nlu.intents import SERVICES
from nlu.lookups import DIRECTORIES, OUTPUT, locations_yaml
from storage import directory
from storage.db import Database

FILES = sorted((PROJECT_ROOT / "directory").glob("*.yml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_shipped_directories_are_valid_sample_data(path: Path) -> None:
    data = directory.read_directory(path)
    assert data.sample  # clearly marked: not real services
    categories = {e.category for e in data.services}
    assert {"helpline", "emergency"} <= categories
    assert {s.removeprefix("ask_") for s in SERVICES} <= categories | {"covid_info"}


def test_location_lookups_are_generated_from_the_directories() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == locations_yaml(DIRECTORIES), (
        "run `.venv/bin/python -m nlu.lookups`"
    )


def test_an_unknown_location_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "deployment: x\nservices:\n  - {key: a, category: helpline, name: A, location: Nowhere}\n"
    )
    with pytest.raises(ValueError, match="unknown location"):
        directory.read_directory(bad)


async def test_load_replaces_entries_and_places_come_nearest_first(database: Database) -> None:
    data = directory.read_directory(PROJECT_ROOT / "directory" / "maldives.yml")
    async with database.session() as s:
        assert await directory.is_empty(s, "maldives")
        assert await directory.load(s, data) == len(data.services)
    async with database.session() as s:  # loading again replaces, never duplicates
        await directory.load(s, data)
    async with database.session() as s:
        food = await directory.places(s, "maldives", "food_relief", "Addu")
        assert food[0].location == "Addu"
        assert len(food) == sum(1 for e in data.services if e.category == "food_relief")
        assert not await directory.is_empty(s, "maldives")
        assert await directory.is_empty(s, "ecuador")


async def test_an_atoll_or_a_neighbouring_island_finds_places_in_that_atoll(
    database: Database,
) -> None:
    data = directory.read_directory(PROJECT_ROOT / "directory" / "maldives.yml")
    async with database.session() as s:
        await directory.load(s, data)
    async with database.session() as s:
        # The person named the atoll, not the island.
        by_atoll = await directory.places(s, "maldives", "food_relief", "Seenu")
        # Villimale has no relief point of its own; Male and Hulhumale are in its atoll.
        nearby = await directory.places(s, "maldives", "food_relief", "Villimale")
    assert by_atoll[0].location == "Addu"
    assert {p.location for p in nearby[:2]} == {"Male", "Hulhumale"}
    assert {p.area for p in nearby[:2]} == {"Kaafu"}


def test_a_location_in_an_undeclared_area_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "deployment: x\nareas: [{name: North}]\nlocations: [{name: Town, area: South}]\n"
        "services: []\n"
    )
    with pytest.raises(ValueError, match="unknown area"):
        directory.read_directory(bad)
