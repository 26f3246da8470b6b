"""The service directory: organisation facts (numbers, places, hours) per deployment, loaded
from YAML into the database, queried by category and the person's location. A location is a
city or island; an area is what holds several of them (an atoll, a province). A person may
name either."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ServiceLocation, ServicePoint

NATIONAL = "national"
EARTH_KM = 6371.0
# A shared location farther than this from every directory location matches none of them.
NEAR_KM = 60.0


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    area: str = Field(default="", max_length=64)
    synonyms: list[str] = Field(default_factory=list)
    # Its centre (latitude, longitude), to match a location a person shares.
    at: tuple[float, float] | None = None


class Area(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
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
    areas: list[Area] = Field(default_factory=list)
    locations: list[Location] = Field(default_factory=list)
    services: list[Entry]

    def check(self) -> None:
        areas = {area.name for area in self.areas}
        for loc in self.locations:
            if loc.area and loc.area not in areas:
                raise ValueError(f"{loc.name}: unknown area {loc.area!r}")
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
    for model in (ServicePoint, ServiceLocation):
        await session.execute(delete(model).where(model.deployment == directory.deployment))
    session.add_all(
        ServiceLocation(
            deployment=directory.deployment,
            name=loc.name,
            area=loc.area,
            latitude=loc.at[0] if loc.at else None,
            longitude=loc.at[1] if loc.at else None,
        )
        for loc in directory.locations
    )
    area_of = {loc.name: loc.area for loc in directory.locations}
    session.add_all(
        ServicePoint(
            deployment=directory.deployment,
            sample=directory.sample,
            area=area_of.get(e.location, ""),
            **e.model_dump(),
        )
        for e in directory.services
    )
    await session.flush()
    return len(directory.services)


async def places(
    session: AsyncSession, deployment: str, category: str, location: str | None
) -> Sequence[ServicePoint]:
    """Entries for a category, nearest first: at the person's location (or in the area they
    named), then elsewhere in their area, then national ones, then the rest."""
    in_deployment = ServicePoint.deployment == deployment
    rows = (
        await session.scalars(
            select(ServicePoint).where(in_deployment, ServicePoint.category == category)
        )
    ).all()
    area = None
    if location:
        area = await session.scalar(
            select(ServiceLocation.area).where(
                ServiceLocation.deployment == deployment, ServiceLocation.name == location
            )
        )
    return sorted(rows, key=lambda point: (_distance(point, location, area), point.key))


def _distance(point: ServicePoint, location: str | None, area: str | None) -> int:
    if location and location in (point.location, point.area):
        return 0
    if area and point.area == area:
        return 1
    return 2 if point.location == NATIONAL else 3


async def nearest_location(
    session: AsyncSession,
    deployment: str,
    latitude: float,
    longitude: float,
    within_km: float = NEAR_KM,
) -> str | None:
    """The directory location nearest a shared point, if one lies within `within_km`."""
    rows = (
        await session.execute(
            select(ServiceLocation.name, ServiceLocation.latitude, ServiceLocation.longitude)
            .where(ServiceLocation.deployment == deployment)
            .where(ServiceLocation.latitude.is_not(None), ServiceLocation.longitude.is_not(None))
        )
    ).all()
    best = min(
        (
            (_km(latitude, longitude, lat, lon), name)
            for name, lat, lon in rows
            if lat is not None and lon is not None
        ),
        default=None,
    )
    return best[1] if best and best[0] <= within_km else None


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(a))


async def is_empty(session: AsyncSession, deployment: str) -> bool:
    query = select(ServicePoint.id).where(ServicePoint.deployment == deployment).limit(1)
    return (await session.scalar(query)) is None
