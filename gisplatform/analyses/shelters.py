"""Nearest shelters from a point, by walking distance on the street network."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from gisplatform.analyses.common import (
    DEFAULT_SCHEMAS,
    AnalysisInput,
    LonLat,
    Metres,
    PointInput,
    Schemas,
    Speed,
    check_inside_hromada,
    enum_codes,
    input_error,
    minutes,
    query,
    run_script,
)
from gisplatform.analyses.network import VIRTUAL_BASE, ensure_graph
from gisplatform.analyses.reach import link_points, start_points
from gisplatform.i18n import message
from gisplatform.reports.marks import mark_text, marked_fids_query

FILE = "shelters.sql"
SHELTERS = "shelters"
#: enum fields of shelters the filters select on
ENUM_FILTERS = ("readiness", "accessible", "access_mode")
#: shelter fields each route returns (those the run may read)
ROUTE_ATTRIBUTES = (
    "shelter_code",
    "name",
    "readiness",
    "accessible",
    "access_mode",
    "capacity_persons",
)


class ShelterFilters(AnalysisInput):
    """Which shelters count; enum values are codes or Ukrainian/English labels."""

    readiness: list[str] | None = Field(default=["ready"], description="readiness values")
    accessible: list[str] | None = Field(default=None, description="step-free access values")
    access_mode: list[str] | None = Field(default=None, description="access modes, e.g. 24_7")
    min_capacity: int = Field(default=0, ge=0, description="minimum capacity, persons")

    @field_validator("readiness", "accessible", "access_mode")
    @classmethod
    def _known(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        assert info.field_name is not None
        return enum_codes("shelters", info.field_name, value, info)

    def sql_params(self) -> dict[str, Any]:
        """The filters as bound parameters."""
        return {
            "readiness": self.readiness,
            "accessible": self.accessible,
            "access_mode": self.access_mode,
            "min_capacity": self.min_capacity,
        }

    def sql_filters(self, schemas: Schemas) -> sql.Composed:
        """``AND …`` conditions on the shelter fields the run may read (alias ``s``).

        A filter on a field the run may not read is an input error when the caller set it,
        and dropped when it is only the default.
        """
        parts: list[sql.Composable] = []
        for name in ENUM_FILTERS:
            if schemas.visible(SHELTERS, name):
                column = sql.Identifier("s", name)
                param = sql.Placeholder(name)
                parts.append(
                    sql.SQL("AND ({p}::text[] IS NULL OR {c} = ANY ({p}::text[]))").format(
                        p=param, c=column
                    )
                )
            elif getattr(self, name) is not None and name in self.model_fields_set:
                raise input_error(name, message("not_for_this_audience"), getattr(self, name))
        if schemas.visible(SHELTERS, "capacity_persons"):
            parts.append(sql.SQL("AND s.capacity_persons >= %(min_capacity)s"))
        elif self.min_capacity:
            raise input_error("min_capacity", message("not_for_this_audience"), self.min_capacity)
        return sql.SQL(" ").join(parts)


class NearestShelterInput(ShelterFilters):
    """Inputs of ``nearest_shelter``."""

    origin: PointInput
    limit: int = Field(default=3, ge=1, le=50, description="how many shelters to return")
    speed_kmh: Speed = 4.5
    search_radius_m: Metres = Field(default=5000, gt=0, description="walking search radius")
    max_snap_m: Metres = Field(default=500, description="farthest the origin may be from a street")


class ReportMark(BaseModel):
    """A moderated residents' report that the shelter is not usable (locked, missing …)."""

    kind: str
    question: str
    answer: str
    answer_title: dict[str, str] = Field(description="the answer in uk and en")
    at: datetime = Field(description="when it was reported")
    request: int = Field(description="the report's id (Open311 service_request_id)")


class ShelterRoute(BaseModel):
    """One reachable shelter with the walk to it."""

    fid: int
    shelter_code: str | None
    name: str | None
    readiness: str | None
    accessible: str | None
    access_mode: str | None
    capacity_persons: int | None
    walk_m: float
    walk_minutes: float
    straight_m: float
    route: dict[str, Any] = Field(description="GeoJSON LineString, lon/lat")
    report_mark: ReportMark | None = Field(
        default=None, description="an open residents' report marks it: ranked after the others"
    )
    warning: dict[str, str] | None = Field(
        default=None, description="the report's warning in uk and en, when marked"
    )


class NearestShelterResult(BaseModel):
    """Shelters nearest to the origin by walking distance, nearest first."""

    origin: LonLat
    snapped: bool = Field(
        description="false when the origin is farther than max_snap_m from streets"
    )
    snap_m: float | None
    graph_revision: int
    shelters: list[ShelterRoute] = Field(
        description="the nearest shelters without an open report, then the reported ones "
        "that were as near (each with its warning)"
    )


def nearest_shelter(
    conn: psycopg.Connection[Any],
    params: NearestShelterInput,
    schemas: Schemas = DEFAULT_SCHEMAS,
) -> NearestShelterResult:
    """The ``limit`` nearest shelters by walking distance (``pgr_dijkstra`` one-to-many).

    Candidates are the filtered shelters within ``search_radius_m`` in a straight line
    (a walk is never shorter); the search runs on the edges inside that circle, so only
    shelters within ``search_radius_m`` of walking are returned.

    A shelter an open residents' report marks (:mod:`gisplatform.reports.marks`) is ranked
    after the others: the ``limit`` nearest unmarked shelters come first, then the marked
    ones no farther than the last of them, each with its mark and warning.
    """
    check_inside_hromada(conn, "origin", params.origin, schemas)
    graph = ensure_graph(conn, schemas)
    point = {"lon": params.origin.lon, "lat": params.origin.lat}
    common = {**point, "radius": params.search_radius_m, "base": VIRTUAL_BASE}
    with conn.transaction():
        start_points(conn, schemas)
        conn.execute(query(FILE, "origin", schemas), point)
        conn.execute(
            query(FILE, "candidates", schemas, filters=params.sql_filters(schemas)),
            {**common, **params.sql_params(), "max_candidates": 200},
        )
        link_points(conn, params.max_snap_m, schemas)
        snap = conn.execute(query(FILE, "origin_snap", schemas)).fetchone()
        row = conn.execute(query(FILE, "targets", schemas), common).fetchone()
        targets: list[int] = list(row[0]) if row else []
        routes: list[ShelterRoute] = []
        if snap is not None and targets:
            marks = shelter_marks(conn)
            run_script(conn, FILE, "subgraph", schemas, common)
            rows = conn.execute(
                query(FILE, "routes", schemas, attributes=route_attributes(schemas)),
                {**common, "targets": targets, "limit": params.limit + len(marks)},
            ).fetchall()
            routes = rank_marked([_route(r, params.speed_kmh, marks) for r in rows], params.limit)
    return NearestShelterResult(
        origin=params.origin,
        snapped=snap is not None,
        snap_m=float(snap[0]) if snap else None,
        graph_revision=graph.revision,
        shelters=routes,
    )


def route_attributes(schemas: Schemas) -> sql.Composed:
    """The route's shelter columns: those the run may read, NULL for the others."""
    return sql.SQL(", ").join(
        sql.Identifier("s", name) if schemas.visible(SHELTERS, name) else sql.SQL("NULL")
        for name in ROUTE_ATTRIBUTES
    )


def shelter_marks(conn: psycopg.Connection[Any]) -> dict[int, ReportMark]:
    """The shelters an open residents' report marks, by fid."""
    rows = conn.execute(marked_fids_query(), [SHELTERS]).fetchall()
    return {int(fid): ReportMark.model_validate(mark) for fid, mark in rows if fid.isdigit()}


def rank_marked(routes: list[ShelterRoute], limit: int) -> list[ShelterRoute]:
    """The ``limit`` nearest unmarked routes, then the marked ones as near (by walk)."""
    clear = [r for r in routes if r.report_mark is None][:limit]
    farthest = clear[-1].walk_m if len(clear) == limit else float("inf")
    marked = [r for r in routes if r.report_mark is not None and r.walk_m <= farthest]
    return clear + marked[:limit]


def mark_warning(mark: ReportMark) -> dict[str, str]:
    """ "є повідомлення: зачинено, 01.12.2026 21:40" in uk and en."""
    text = mark_text(mark.answer_title, mark.at)
    return {"uk": text.uk, "en": text.en}


def _route(
    row: tuple[Any, ...], speed_kmh: float, marks: dict[int, ReportMark] | None = None
) -> ShelterRoute:
    fid, code, name, readiness, accessible, mode, capacity, walk_m, straight_m, route = row
    mark = (marks or {}).get(int(fid))
    return ShelterRoute(
        fid=fid,
        shelter_code=code,
        name=name,
        readiness=readiness,
        accessible=accessible,
        access_mode=mode,
        capacity_persons=capacity,
        walk_m=round(walk_m, 1),
        walk_minutes=round(minutes(walk_m, speed_kmh) or 0.0, 2),
        straight_m=round(straight_m, 1),
        route=route,
        report_mark=mark,
        warning=mark_warning(mark) if mark is not None else None,
    )
