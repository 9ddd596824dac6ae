"""Street-lighting gaps: dark street parts, dark length per street, faults per cabinet."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import psycopg
from pydantic import BaseModel, Field

from gisplatform.analyses.common import (
    DEFAULT_SCHEMAS,
    AnalysisInput,
    Metres,
    Schemas,
    query,
    run_script,
)

FILE = "lighting.sql"
#: Farthest a street light can be said to light (metres); larger radii only cost time.
MAX_LIGHT_REACH_M = 150


class LightingGapsInput(AnalysisInput):
    """Inputs of ``lighting_gaps``."""

    distance_m: Annotated[float, Field(gt=0, le=MAX_LIGHT_REACH_M)] = Field(
        default=50, description="a working light lights this far, metres"
    )
    min_dark_m: Metres = Field(default=1, description="report parts with at least this dark length")
    include_cabinets: bool = Field(
        default=True, description="add faults per cabinet (restricted: the caller decides)"
    )


class DarkSegment(BaseModel):
    """A street part with a stretch farther than ``distance_m`` from every working light."""

    street_fid: int
    street_id: str
    name: str
    settlement_katottg: str | None
    part: int
    length_m: float
    dark_m: float
    dark: dict[str, Any] | None = Field(description="GeoJSON MultiLineString, lon/lat")


class StreetDarkness(BaseModel):
    """Dark length of one named street in one settlement."""

    name: str
    settlement_katottg: str | None
    length_m: float
    dark_m: float
    dark_share: float


class CabinetFaults(BaseModel):
    """Faulty lights of one control cabinet. Restricted: lighting cabinets are energy assets."""

    access: Literal["restricted"] = "restricted"
    cabinet_id: str
    cabinet_status: str | None
    control: str | None
    lights: int
    faulty: int
    faulty_by_status: dict[str, int]


class LightingGapsResult(BaseModel):
    """Dark street parts and summaries; ``restricted`` names the parts only named roles see."""

    distance_m: float
    total_length_m: float
    dark_length_m: float
    segments: list[DarkSegment]
    streets: list[StreetDarkness]
    cabinets: list[CabinetFaults] | None
    restricted: list[str] = Field(description="result fields drawn from restricted layers")


def lighting_gaps(
    conn: psycopg.Connection[Any],
    params: LightingGapsInput,
    schemas: Schemas = DEFAULT_SCHEMAS,
) -> LightingGapsResult:
    """Street parts with no working (status ``ok``) light within ``distance_m``."""
    values = {"distance_m": params.distance_m}
    with conn.transaction():
        run_script(conn, FILE, "lights", schemas)
        rows = conn.execute(query(FILE, "segments", schemas), values).fetchall()
        cabinets = _cabinets(conn, schemas) if params.include_cabinets else None
    segments = [
        DarkSegment(
            street_fid=fid,
            street_id=street_id,
            name=name,
            settlement_katottg=settlement,
            part=part,
            length_m=round(length, 2),
            dark_m=round(dark_m, 2),
            dark=dark,
        )
        for fid, street_id, name, settlement, part, length, dark_m, dark in rows
    ]
    streets: dict[tuple[str, str | None], list[float]] = {}
    for seg in segments:
        totals = streets.setdefault((seg.name, seg.settlement_katottg), [0.0, 0.0])
        totals[0] += seg.length_m
        totals[1] += seg.dark_m
    return LightingGapsResult(
        distance_m=params.distance_m,
        total_length_m=round(sum(s.length_m for s in segments), 1),
        dark_length_m=round(sum(s.dark_m for s in segments), 1),
        segments=[s for s in segments if s.dark_m >= params.min_dark_m and s.dark_m > 0],
        streets=sorted(
            (
                StreetDarkness(
                    name=name,
                    settlement_katottg=settlement,
                    length_m=round(length, 1),
                    dark_m=round(dark, 1),
                    dark_share=round(dark / length, 4) if length else 0.0,
                )
                for (name, settlement), (length, dark) in streets.items()
            ),
            key=lambda s: (-s.dark_m, s.name),
        ),
        cabinets=cabinets,
        restricted=["cabinets"] if cabinets is not None else [],
    )


def _cabinets(conn: psycopg.Connection[Any], schemas: Schemas) -> list[CabinetFaults]:
    by_status: dict[str, dict[str, int]] = {}
    for cabinet, status, count in conn.execute(query(FILE, "cabinet_statuses", schemas)):
        by_status.setdefault(cabinet, {})[status] = count
    return [
        CabinetFaults(
            cabinet_id=cabinet,
            cabinet_status=status,
            control=control,
            lights=lights,
            faulty=faulty,
            faulty_by_status=by_status.get(cabinet, {}),
        )
        for cabinet, status, control, lights, faulty in conn.execute(
            query(FILE, "cabinets", schemas)
        )
    ]
