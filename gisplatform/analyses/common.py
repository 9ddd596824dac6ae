"""Shared pieces of the analyses: schemas, SQL loading, input checks and input types."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any

import psycopg
from psycopg import sql
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from gisplatform.i18n import Text, TextError, invalid, message
from gisplatform.registry import LayerRegistry, load_registry
from gisplatform.settings import PROJECT_ROOT
from gisplatform.store.roles import ANALYSIS_SCHEMA


@dataclass(frozen=True)
class Schemas:
    """Where an analysis reads and writes, and what it may see.

    The defaults read the layer tables (``gis``) with every field, and let the analysis
    build the walking graph. A run for an audience reads that audience's views instead
    (``layers="api_public"``), names the fields it may see (``fields``), and finds the graph
    and the building weights prepared before the role switch (``prepared``, ``weights``).

    ``metric_srid`` is the hromada profile's metric CRS (every distance and length is
    measured in it); ``None`` takes the one of the project's own profile.
    """

    layers: str = "gis"
    history: str = "history"
    analysis: str = ANALYSIS_SCHEMA
    #: the graph is fresh and readable; never build it (the run cannot write)
    prepared: bool = False
    #: relation with ``(fid, population)`` of the buildings; default ``<layers>.buildings``
    weights: tuple[str, str] | None = None
    #: layer → field names the run may read and return; None = every field
    fields: Mapping[str, frozenset[str]] | None = None
    #: EPSG code of the metric CRS; None = the project's own hromada profile
    metric_srid: int | None = None

    @classmethod
    def for_registry(cls, registry: LayerRegistry, **schemas: Any) -> Schemas:
        """The schemas with the metric CRS of ``registry``'s hromada."""
        return cls(**schemas, metric_srid=registry.hromada.metric_crs)

    def identifiers(self) -> dict[str, sql.Composable]:
        """Placeholders for the SQL templates."""
        srid = self.metric_srid or default_registry().hromada.metric_crs
        return {
            "gis": sql.Identifier(self.layers),
            "history": sql.Identifier(self.history),
            "analysis": sql.Identifier(self.analysis),
            "metric_srid": sql.Literal(srid),
            "weights": sql.Identifier(*(self.weights or (self.layers, "buildings"))),
        }

    def visible(self, layer: str, field: str) -> bool:
        """True when the run may read ``layer.field``."""
        return self.fields is None or field in self.fields.get(layer, frozenset())


DEFAULT_SCHEMAS = Schemas()


@cache
def _template(name: str) -> dict[str, str]:
    text = resources.files("gisplatform.sql").joinpath("analyses", name).read_text("utf-8")
    queries: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("-- name: "):
            current = line.removeprefix("-- name: ").strip()
            queries[current] = ""
        elif current is not None:
            queries[current] += line + "\n"
    return queries


def query(file: str, name: str, schemas: Schemas, **parts: sql.Composable) -> sql.Composed:
    """The statement ``name`` of ``sql/analyses/<file>`` with the schema names (and
    ``parts``, e.g. a column list) filled in."""
    return sql.SQL(_template(file)[name]).format(**schemas.identifiers(), **parts)


def run_script(
    conn: psycopg.Connection[Any],
    file: str,
    name: str,
    schemas: Schemas,
    params: dict[str, Any] | None = None,
    names: Mapping[str, sql.Composable] | None = None,
) -> None:
    """Run the block ``name`` statement by statement (statements end with ``;`` at line end).

    Each statement gets the parameters it names, so blocks may mix DDL and bound values.
    ``names`` fills placeholders besides the schemas (identifiers chosen at run time).
    """
    statement = ""
    for line in _template(file)[name].splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        statement += line
        if line.rstrip().endswith(";"):
            _execute(conn, statement, schemas, params, names)
            statement = ""
    if statement.strip():
        _execute(conn, statement, schemas, params, names)


def statements(file: str, name: str, schemas: Schemas) -> list[sql.Composed]:
    """The statements of the block ``name`` (ending with ``;`` at a line end), filled in."""
    found: list[sql.Composed] = []
    statement = ""
    for line in _template(file)[name].splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        statement += line
        if line.rstrip().endswith(";"):
            found.append(
                sql.SQL(statement.strip().removesuffix(";")).format(**schemas.identifiers())
            )
            statement = ""
    if statement.strip():
        found.append(sql.SQL(statement.strip()).format(**schemas.identifiers()))
    return found


def _execute(
    conn: psycopg.Connection[Any],
    text: str,
    schemas: Schemas,
    params: dict[str, Any] | None,
    names: Mapping[str, sql.Composable] | None = None,
) -> None:
    composed = sql.SQL(text).format(**schemas.identifiers(), **(names or {}))
    conn.execute(composed, params if params and "%(" in text else None)


class AnalysisInput(BaseModel):
    """Base of the analysis inputs: frozen, unknown inputs rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class LonLat(AnalysisInput):
    """A point in lon/lat (CRS84)."""

    lon: float = Field(ge=-180, le=180, description="longitude, degrees east")
    lat: float = Field(ge=-90, le=90, description="latitude, degrees north")


def _point_from_geojson(value: Any) -> Any:
    """``{"lon", "lat"}`` from a GeoJSON Point geometry; any other object is left as it is.

    An object with a ``type`` member is taken as a GeoJSON geometry and must be a valid
    Point (two or three finite numbers, lon/lat in range); ValueError otherwise.
    """
    if not isinstance(value, dict) or "type" not in value:
        return value
    if value.get("type") != "Point":
        raise invalid("geojson_point_expected", kind=repr(str(value.get("type"))[:40]))
    if set(value) - {"type", "coordinates", "bbox"}:
        raise invalid("geojson_point_members")
    coordinates = value.get("coordinates")
    if (
        not isinstance(coordinates, list)
        or len(coordinates) not in (2, 3)
        or not all(
            isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c)
            for c in coordinates
        )
    ):
        raise invalid("geojson_point_coordinates")
    return {"lon": coordinates[0], "lat": coordinates[1]}


def _point_schema() -> dict[str, Any]:
    lonlat = LonLat.model_json_schema()
    lonlat.pop("title", None)
    lonlat["additionalProperties"] = False
    geojson = {
        "type": "object",
        "format": "geojson-geometry",
        "description": "GeoJSON Point geometry, lon/lat (CRS84)",
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": ["Point"]},
            "coordinates": {
                "type": "array",
                "minItems": 2,
                "maxItems": 3,
                "items": {"type": "number"},
            },
        },
    }
    return {"oneOf": [lonlat, geojson]}


#: A point input: ``{"lon": …, "lat": …}`` or a GeoJSON Point (``format: geojson-geometry``).
PointInput = Annotated[
    LonLat,
    BeforeValidator(_point_from_geojson),
    WithJsonSchema(_point_schema(), mode="validation"),
]


def input_error(name: str, why: Text, value: Any) -> PydanticValidationError:
    """A pydantic validation error about input ``name`` (raised after the model was built)."""
    context = {"message": why.en, "error": TextError(why)}
    detail = InitErrorDetails(
        type=PydanticCustomError("value_error", "{message}", context),
        loc=(name,),
        input=value,
    )
    return PydanticValidationError.from_exception_data("analysis input", [detail])


def check_inside_hromada(
    conn: psycopg.Connection[Any], name: str, point: LonLat, schemas: Schemas
) -> None:
    """Raise a validation error naming ``name`` unless ``point`` lies in the hromada."""
    row = conn.execute(
        query("common.sql", "inside_hromada", schemas), {"lon": point.lon, "lat": point.lat}
    ).fetchone()
    if not row or not row[0]:
        raise input_error(name, message("point_outside_hromada"), point.model_dump())


@cache
def default_registry() -> LayerRegistry:
    """The project's own layer registry (used when the caller passes none)."""
    return load_registry(PROJECT_ROOT / "layers")


def _registry(info: ValidationInfo) -> LayerRegistry:
    context = info.context if isinstance(info.context, dict) else {}
    registry = context.get("registry")
    return registry if isinstance(registry, LayerRegistry) else default_registry()


def enum_codes(
    layer: str, field: str, values: list[str] | None, info: ValidationInfo
) -> list[str] | None:
    """Codes of ``values`` (codes or uk/en labels) of an enum field; ValueError on unknown."""
    if values is None:
        return None
    spec = _registry(info).get(layer).field(field)
    codes: list[str] = []
    for value in values:
        entry = spec.enum_value(value)
        if entry is None:
            allowed = ", ".join(v.value for v in spec.values)
            raise invalid("unknown_enum_input", field=field, value=repr(value), allowed=allowed)
        codes.append(entry.value)
    return sorted(set(codes))


def _positive_speed(value: float) -> float:
    if value <= 0:
        raise invalid("speed_positive")
    return value


#: Walking speed in km/h (4.5 default; about 3 for reduced mobility).
Speed = Annotated[
    float, Field(le=20, description="walking speed, km/h"), AfterValidator(_positive_speed)
]
#: The longest distance any analysis input may name: the scale of one hromada.
MAX_DISTANCE_M = 5_000
#: A distance in metres, never negative, at most :data:`MAX_DISTANCE_M`.
Metres = Annotated[float, Field(ge=0, le=MAX_DISTANCE_M, description="metres")]


def minutes(metres: float | None, speed_kmh: float) -> float | None:
    """Walking time in minutes for ``metres`` at ``speed_kmh``."""
    return None if metres is None else metres / (speed_kmh * 1000 / 60)
