"""Walking access to public services (ЦНАП, schools, health sites) per settlement."""

from __future__ import annotations

from typing import Any, Literal

import psycopg
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from gisplatform.analyses.common import (
    DEFAULT_SCHEMAS,
    AnalysisInput,
    Metres,
    Schemas,
    Speed,
    enum_codes,
    minutes,
    query,
)
from gisplatform.analyses.reach import nearest_facility_distances, start_points

FILE = "services.sql"
Service = Literal["cnap", "school", "health"]
#: The layer and enum field that select the facilities of each service.
SERVICE_FIELDS: dict[Service, tuple[str, str]] = {
    "cnap": ("admin_service_centres", "centre_type"),
    "school": ("education", "facility_type"),
    "health": ("health", "facility_type"),
}


class ServiceAccessInput(AnalysisInput):
    """Inputs of ``service_access``; type values are codes or Ukrainian/English labels."""

    cnap_types: list[str] = Field(default=["cnap", "viddalene_robochie_mistse"], min_length=1)
    school_types: list[str] = Field(default=["pochatkova", "gimnaziia", "litsei"], min_length=1)
    health_types: list[str] = Field(
        default=["likarnia", "ambulatoriia", "fap", "tsentr_pmd"], min_length=1
    )
    speed_kmh: Speed = 4.5
    near_minutes: float = Field(default=15, gt=0, le=600)
    far_minutes: float = Field(default=30, gt=0, le=600)
    max_snap_m: Metres = Field(default=500, description="farthest a point may be from a street")

    @field_validator("cnap_types", "school_types", "health_types")
    @classmethod
    def _known(cls, value: list[str], info: ValidationInfo) -> list[str]:
        service: Service = {"cnap_types": "cnap", "school_types": "school"}.get(  # type: ignore[assignment]
            info.field_name or "", "health"
        )
        layer, field = SERVICE_FIELDS[service]
        return enum_codes(layer, field, value, info) or []

    def types(self, service: Service) -> list[str]:
        """The facility types of ``service``."""
        return {"cnap": self.cnap_types, "school": self.school_types}.get(
            service, self.health_types
        )


class SettlementAccess(BaseModel):
    """Access to one service in one settlement (population-weighted)."""

    settlement_katottg: str
    name: str
    population: int | None
    unreachable_population: int | None
    mean_minutes: float | None
    median_minutes: float | None
    max_minutes: float | None
    share_within_near: float | None
    share_within_far: float | None
    buildings: int
    unreachable_buildings: int
    buildings_within_near: int
    buildings_within_far: int


class ServiceSummary(BaseModel):
    """Access to one service across the hromada."""

    service: Service
    facilities: int = Field(description="facilities that reached the street network")
    settlements: list[SettlementAccess]


class ServiceAccessResult(BaseModel):
    """Access to every service."""

    speed_kmh: float
    near_minutes: float
    far_minutes: float
    services: list[ServiceSummary]


def service_access(
    conn: psycopg.Connection[Any],
    params: ServiceAccessInput,
    schemas: Schemas = DEFAULT_SCHEMAS,
) -> ServiceAccessResult:
    """Walking time from every building to the nearest facility of each service."""
    metres_per_minute = params.speed_kmh * 1000 / 60
    values = {
        "near_m": params.near_minutes * metres_per_minute,
        "far_m": params.far_minutes * metres_per_minute,
    }
    services: list[ServiceSummary] = []
    with conn.transaction():
        for service in SERVICE_FIELDS:
            start_points(conn, schemas)
            conn.execute(query(FILE, service, schemas), {"types": params.types(service)})
            conn.execute(query(FILE, "buildings", schemas))
            used = nearest_facility_distances(conn, schemas, params.max_snap_m)
            rows = conn.execute(query(FILE, "summary", schemas), values).fetchall()
            services.append(
                ServiceSummary(
                    service=service,
                    facilities=used,
                    settlements=[_settlement(row, params.speed_kmh) for row in rows],
                )
            )
    return ServiceAccessResult(
        speed_kmh=params.speed_kmh,
        near_minutes=params.near_minutes,
        far_minutes=params.far_minutes,
        services=services,
    )


def _settlement(row: tuple[Any, ...], speed_kmh: float) -> SettlementAccess:
    area, name, population, unreachable, mean_m, median_m, max_m, near, far, *counts = row
    buildings, unreachable_buildings, near_buildings, far_buildings = counts

    def _minutes(metres: float | None) -> float | None:
        value = minutes(metres, speed_kmh)
        return None if value is None else round(value, 2)

    return SettlementAccess(
        settlement_katottg=area,
        name=name,
        population=population,
        unreachable_population=unreachable,
        mean_minutes=_minutes(mean_m),
        median_minutes=_minutes(median_m),
        max_minutes=_minutes(max_m),
        share_within_near=round(near / population, 4) if population else 0.0,
        share_within_far=round(far / population, 4) if population else 0.0,
        buildings=buildings,
        unreachable_buildings=unreachable_buildings,
        buildings_within_near=near_buildings,
        buildings_within_far=far_buildings,
    )
