"""One feature checked against its layer: the import's own column checks, run on one row.

Editing (OGC API Features Part 4) and imports must accept and refuse exactly the same
values, so a single feature goes through the very functions an import runs over a whole
file (:mod:`gisplatform.ingest.validate`): each field's value as every row of a column is
checked (types, enums by code or Ukrainian/English label, ranges, lengths, patterns, required,
defaults: :func:`~gisplatform.ingest.validate.validate_value`), the
geometry checks (type, multi-part fitting, transformation to lon/lat with pyproj,
validity) and the cross-field rules. Every problem names its field; the natural key's
uniqueness is the database's to decide (a unique constraint, race-free).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import CRS

from gisplatform.errors import FeatureInvalid
from gisplatform.i18n import Text, message
from gisplatform.ingest.crs import AreaOfInterest
from gisplatform.ingest.errors import RowProblem
from gisplatform.ingest.validate import GEOMETRY, check_geometry, check_rules, validate_value
from gisplatform.registry import FieldSpec, LayerSpec
from gisplatform.registry.spec import SYSTEM_COLUMNS


@dataclass(frozen=True)
class FeatureCandidate:
    """What a client sent, after the request was read.

    ``properties`` are every value to check (for a merge patch: the stored ones with the
    patch applied); ``sent`` the property names the client itself gave (those it may not
    write are refused); ``geometry`` a GeoJSON geometry object or None; ``srid`` and
    ``north_first`` its CRS and axis order (``Content-Crs``).
    """

    properties: Mapping[str, Any]
    sent: frozenset[str]
    geometry: Mapping[str, Any] | None
    srid: int = 4326
    north_first: bool = False
    #: a merge patch without a geometry: the stored one stays, unchecked and unwritten
    keep_geometry: bool = False


@dataclass(frozen=True)
class ValidFeature:
    """Values ready to store: one per writable field, and the lon/lat geometry as WKB
    (empty when a merge patch keeps the stored geometry)."""

    values: dict[str, object]
    geometry_wkb: bytes


def _problem(p: RowProblem) -> tuple[str, Text]:
    why = p.message if isinstance(p.message, Text) else Text(p.message, p.message)
    return p.field, why


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _geometry(
    spec: LayerSpec,
    candidate: FeatureCandidate,
    area: AreaOfInterest | None,
    problems: list[tuple[str, Text]],
) -> bytes:
    if candidate.geometry is None:
        problems.append((GEOMETRY, message("edit_geometry_required")))
        return b""
    try:
        shape = shapely.from_geojson(_geojson_text(candidate.geometry))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        problems.append((GEOMETRY, message("edit_geometry_unreadable", reason=str(exc)[:200])))
        return b""
    crs = CRS.from_epsg(candidate.srid)
    geoms, found = check_geometry(
        np.array([shape], dtype=object), spec, crs, area, swap_xy=candidate.north_first
    )
    problems.extend(_problem(p) for p in found)
    if found:
        return b""
    wkb: bytes = shapely.to_wkb(geoms[0], include_srid=False)
    return wkb


def _geojson_text(geometry: Mapping[str, Any]) -> str:
    if not isinstance(geometry, Mapping) or not isinstance(geometry.get("type"), str):
        raise ValueError("not a GeoJSON geometry object")
    return orjson.dumps(dict(geometry)).decode()


def validate_feature(
    spec: LayerSpec,
    writable: tuple[FieldSpec, ...],
    candidate: FeatureCandidate,
    area: AreaOfInterest | None = None,
) -> ValidFeature:
    """The feature's stored values; :class:`FeatureInvalid` naming every field at fault.

    A geometry outside ``area`` (the hromada, as imports check it) is refused, with a hint
    when swapping its axes would put it inside.

    A property that is no field of the layer, a system column, or a field outside
    ``writable`` (one the caller may not write) is refused, never silently dropped.
    """
    problems: list[tuple[str, Text]] = []
    known = {f.name for f in spec.fields}
    allowed = {f.name for f in writable}
    for name in sorted(candidate.sent):
        if name not in known or name in SYSTEM_COLUMNS:
            problems.append((name, message("edit_unknown_field", layer=spec.name)))
        elif name not in allowed:
            problems.append((name, message("edit_field_not_writable")))
    columns: dict[str, np.ndarray[Any, Any]] = {}
    for field in writable:
        value, why = validate_value(field, candidate.properties.get(field.name))
        if why is not None:
            problems.append((field.name, why if isinstance(why, Text) else Text(why, why)))
        column = np.empty(1, dtype=object)  # a list value (string_list) stays one value
        column[0] = value
        columns[field.name] = column
    if not problems:
        refused, _warned = check_rules(spec, columns, 1)
        problems.extend(_problem(p) for p in refused)
    wkb = b"" if candidate.keep_geometry else _geometry(spec, candidate, area, problems)
    if problems:
        raise FeatureInvalid(problems)
    values = {name: _plain(column[0]) for name, column in columns.items()}
    return ValidFeature(values, wkb)
