"""Shelter coverage: can every resident walk to a ready shelter in time, and is there room?"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import psycopg
from pydantic import BaseModel, Field, PositiveFloat, field_validator

from gisplatform.analyses.common import (
    DEFAULT_SCHEMAS,
    Metres,
    Schemas,
    Speed,
    minutes,
    query,
    run_script,
)
from gisplatform.analyses.reach import nearest_facility_distances, start_points
from gisplatform.analyses.shelters import ShelterFilters

FILE = "coverage.sql"
AreaKind = Literal["settlement", "starosta_district"]
#: Longest walking-time band (minutes): beyond an hour nobody walks to a shelter.
MAX_BAND_MINUTES = 60


class ShelterCoverageInput(ShelterFilters):
    """Inputs of ``shelter_coverage`` (the shelter filters default to ready shelters)."""

    speed_kmh: Speed = 4.5
    bands_minutes: list[Annotated[PositiveFloat, Field(le=MAX_BAND_MINUTES)]] = Field(
        default=[5, 10, 15], min_length=1, max_length=10, description="walking-time bands"
    )
    max_snap_m: Metres = Field(default=500, description="farthest a building may be from a street")
    uncovered_buffer_m: Metres = Field(default=100, description="buffer of uncovered buildings")
    include_buildings: bool = Field(default=True, description="return one row per building")

    @field_validator("bands_minutes")
    @classmethod
    def _sorted(cls, value: list[float]) -> list[float]:
        return sorted(set(value))

    def band_metres(self) -> list[float]:
        """The bands as walking distances in metres."""
        return [band * self.speed_kmh * 1000 / 60 for band in self.bands_minutes]


class BuildingCoverage(BaseModel):
    """One building and its nearest shelter (``None`` when no shelter can be reached)."""

    fid: int
    building_id: str
    settlement_katottg: str | None
    population: int
    shelter_fid: int | None
    walk_m: float | None
    walk_minutes: float | None


class BandPopulation(BaseModel):
    """Population within a walking time (``None``: withheld, see the process description)."""

    minutes: float
    population: int | None
    buildings: int = Field(description="buildings within the walking time")


class AreaCoverage(BaseModel):
    """Coverage of one settlement or starosta district."""

    kind: AreaKind
    id: str
    name: str
    buildings: int
    population: int | None
    within: list[BandPopulation]
    uncovered_population: int | None = Field(description="beyond the last band or unreachable")
    unreachable_population: int | None = Field(description="no shelter reachable on the network")
    shelter_capacity: int = Field(description="capacity of the shelters located in the area")
    capacity_balance: int | None = Field(description="shelter capacity minus population")
    uncovered_buildings: int = Field(description="buildings beyond the last band or unreachable")
    unreachable_buildings: int = Field(description="buildings with no shelter reachable")


class ShelterLoad(BaseModel):
    """Residents for whom a shelter is the nearest (within the last band) vs its capacity."""

    fid: int
    shelter_code: str
    capacity_persons: int
    assigned_population: int | None
    spare_capacity: int | None
    assigned_buildings: int = Field(description="buildings for which it is the nearest, in time")


class ShelterCoverageResult(BaseModel):
    """The coverage of the whole hromada."""

    graph_revision: int
    speed_kmh: float
    bands_minutes: list[float]
    shelters_used: int
    population: int | None
    uncovered_population: int | None
    settlements: list[AreaCoverage]
    starosta_districts: list[AreaCoverage]
    shelter_loads: list[ShelterLoad]
    uncovered_areas: dict[str, Any] = Field(description="GeoJSON FeatureCollection, lon/lat")
    buildings: list[BuildingCoverage]


def shelter_coverage(
    conn: psycopg.Connection[Any],
    params: ShelterCoverageInput,
    schemas: Schemas = DEFAULT_SCHEMAS,
) -> ShelterCoverageResult:
    """Walking distance from every building to its nearest shelter and per-area summaries.

    One multi-source ``pgr_drivingDistance`` from all selected shelters; buildings farther
    than ``max_snap_m`` from any street, or on a part of the network with no shelter, are
    unreachable (distance ``None``) and counted as uncovered.
    """
    bands_m = params.band_metres()
    cover_m = bands_m[-1]
    values = {"bands_m": bands_m, "cover_m": cover_m, "buffer_m": params.uncovered_buffer_m}
    with conn.transaction():
        start_points(conn, schemas)
        conn.execute(
            query(FILE, "facilities", schemas, filters=params.sql_filters(schemas)),
            params.sql_params(),
        )
        conn.execute(query(FILE, "buildings", schemas))
        used = nearest_facility_distances(conn, schemas, params.max_snap_m)
        graph = conn.execute(query("network.sql", "built_state", schemas)).fetchone()
        run_script(conn, FILE, "tag_buildings", schemas)
        run_script(conn, FILE, "shelter_areas", schemas)
        totals = conn.execute(query(FILE, "area_totals", schemas), values).fetchall()
        bands = conn.execute(query(FILE, "area_bands", schemas), values).fetchall()
        loads = conn.execute(query(FILE, "shelter_loads", schemas), values).fetchall()
        uncovered = conn.execute(query(FILE, "uncovered", schemas), values).fetchone()
        rows = (
            conn.execute(query(FILE, "building_rows", schemas)).fetchall()
            if params.include_buildings
            else []
        )
    areas = _areas(totals, bands, dict(zip(bands_m, params.bands_minutes, strict=True)))
    settlements = [a for a in areas if a.kind == "settlement"]
    return ShelterCoverageResult(
        graph_revision=int(graph[0]) if graph else 0,
        speed_kmh=params.speed_kmh,
        bands_minutes=params.bands_minutes,
        shelters_used=used,
        population=sum(a.population or 0 for a in settlements),
        uncovered_population=sum(a.uncovered_population or 0 for a in settlements),
        settlements=settlements,
        starosta_districts=[a for a in areas if a.kind == "starosta_district"],
        shelter_loads=[
            ShelterLoad(
                fid=fid,
                shelter_code=code,
                capacity_persons=capacity,
                assigned_population=assigned,
                spare_capacity=capacity - assigned,
                assigned_buildings=assigned_buildings,
            )
            for fid, code, capacity, assigned, assigned_buildings in loads
        ],
        uncovered_areas=uncovered[0]
        if uncovered
        else {"type": "FeatureCollection", "features": []},
        buildings=[_building(row, params.speed_kmh) for row in rows],
    )


def _areas(
    totals: list[tuple[Any, ...]], bands: list[tuple[Any, ...]], band_minutes: dict[float, float]
) -> list[AreaCoverage]:
    within: dict[tuple[str, str], list[BandPopulation]] = {}
    for kind, area, band_m, population, count in sorted(bands, key=lambda row: row[2]):
        entry = BandPopulation(minutes=band_minutes[band_m], population=population, buildings=count)
        within.setdefault((kind, area), []).append(entry)
    return [
        AreaCoverage(
            kind=kind,
            id=area,
            name=name,
            buildings=buildings,
            population=population,
            within=within.get((kind, area), []),
            uncovered_population=uncovered,
            unreachable_population=unreachable,
            shelter_capacity=capacity,
            capacity_balance=capacity - population,
            uncovered_buildings=uncovered_buildings,
            unreachable_buildings=unreachable_buildings,
        )
        for (
            kind,
            area,
            name,
            population,
            buildings,
            unreachable,
            uncovered,
            capacity,
            unreachable_buildings,
            uncovered_buildings,
        ) in totals
    ]


def _building(row: tuple[Any, ...], speed_kmh: float) -> BuildingCoverage:
    fid, building_id, settlement, population, shelter, distance = row
    return BuildingCoverage(
        fid=fid,
        building_id=building_id,
        settlement_katottg=settlement,
        population=population,
        shelter_fid=shelter,
        walk_m=None if distance is None else round(distance, 1),
        walk_minutes=None if distance is None else round(minutes(distance, speed_kmh) or 0, 2),
    )
