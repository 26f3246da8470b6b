"""The service directory: organisation facts (numbers, places, hours) per deployment, loaded
from YAML into the database, queried by category and the person's location."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ServicePoint

NATIONAL = "national"


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    area: str = ""
    synonyms: list[str] = Field(default_factory=list)


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=64)
    category: str = Field(max_length=32)
    name: str = Field(max_length=200)
    location: str = NATIONAL
    address: str = ""
    phone: str = ""
    hours: str = ""


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deployment: str
    sample: bool = False
    locations: list[Location] = Field(default_factory=list)
    services: list[Entry]

    def check(self) -> None:
        known = {loc.name for loc in self.locations} | {NATIONAL}
        for entry in self.services:
            if entry.location not in known:
                raise ValueError(f"{entry.key}: unknown location {entry.location!r}")
        keys = [e.key for e in self.services]
        if len(keys) != len(set(keys)):
            raise ValueError("service keys must be unique")


def read_directory(path: Path) -> Directory:
    directory = Directory.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    directory.check()
    return directory


async def load(session: AsyncSession, directory: Directory) -> int:
    """Replace the deployment's entries with the file's. Returns how many were loaded."""
    await session.execute(
        delete(ServicePoint).where(ServicePoint.deployment == directory.deployment)
    )
    session.add_all(
        ServicePoint(deployment=directory.deployment, sample=directory.sample, **e.model_dump())
        for e in directory.services
    )
    await session.flush()
    return len(directory.services)


async def places(
    session: AsyncSession, deployment: str, category: str, location: str | None
) -> Sequence[ServicePoint]:
    """Entries for a category: the person's location first, then national ones, then the rest."""
    rows = (
        await session.scalars(
            select(ServicePoint).where(
                ServicePoint.deployment == deployment, ServicePoint.category == category
            )
        )
    ).all()

    def rank(point: ServicePoint) -> tuple[int, str]:
        if location and point.location == location:
            return (0, point.key)
        return (1 if point.location == NATIONAL else 2, point.key)

    return sorted(rows, key=rank)


async def is_empty(session: AsyncSession, deployment: str) -> bool:
    query = select(ServicePoint.id).where(ServicePoint.deployment == deployment).limit(1)
    return (await session.scalar(query)) is None
