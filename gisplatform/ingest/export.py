"""Exporting a layer to GeoPackage, GeoJSON, Shapefile, FlatGeobuf or CSV.

Filters are ``FIELD=VALUE`` pairs checked against the layer spec (never raw
SQL); values are parsed like imported ones, so enum labels work too. Files
written here import back unchanged.

An export holds every field. When the layer or any of its fields is not public, the
files are created readable by their owner only (mode 0600), never world-readable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import shapely
from psycopg import sql

from gisplatform.i18n import message, reason
from gisplatform.ingest.columns import shapefile_names
from gisplatform.ingest.crs import WGS84, is_wgs84_lonlat, parse_crs
from gisplatform.ingest.errors import IngestError
from gisplatform.ingest.values import parse_value
from gisplatform.registry import Access, FieldType, LayerSpec

DRIVERS = {
    "gpkg": "GPKG",
    "geojson": "GeoJSON",
    "json": "GeoJSON",
    "shp": "ESRI Shapefile",
    "shapefile": "ESRI Shapefile",
    "fgb": "FlatGeobuf",
    "flatgeobuf": "FlatGeobuf",
    "csv": "CSV",
}
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def driver_for(out: Path, fmt: str | None) -> str:
    """The GDAL driver name for ``--format`` or, failing that, the file extension."""
    key = (fmt or out.suffix.lstrip(".")).lower()
    if key not in DRIVERS:
        raise IngestError(message("unknown_export_format", value=repr(key)))
    return DRIVERS[key]


def parse_filters(spec: LayerSpec, pairs: list[str]) -> dict[str, list[object]]:
    """``FIELD=VALUE`` pairs as field → accepted values (same field twice = either value)."""
    filters: dict[str, list[object]] = {}
    names = [f.name for f in spec.fields]
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise IngestError(message("where_format", value=repr(pair), fields=", ".join(names)))
        f = spec.field(name)
        if f.type is FieldType.STRING_LIST:
            raise IngestError(message("where_list", value=repr(pair)))
        try:
            value = parse_value(f, raw)
        except ValueError as exc:
            raise IngestError(
                message("option_value", option=f"--where {pair!r}", message=reason(exc))
            ) from exc
        filters.setdefault(name, []).append(value)
    return filters


def read_layer(
    url: str, spec: LayerSpec, schema: str, filters: dict[str, list[object]]
) -> gpd.GeoDataFrame:
    """The layer's rows (fields and geometry, in fid order) as a GeoDataFrame in lon/lat."""
    names = [f.name for f in spec.fields]
    conditions: list[sql.Composable] = [
        sql.SQL("{} = ANY(%s)").format(sql.Identifier(name)) for name in filters
    ] or [sql.SQL("true")]
    template = sql.SQL("SELECT {cols}, ST_AsBinary(geom) FROM {table} WHERE {cond} ORDER BY fid")
    query = template.format(
        cols=sql.SQL(", ").join(sql.Identifier(n) for n in names),
        table=sql.Identifier(schema, spec.name),
        cond=sql.SQL(" AND ").join(conditions),
    )
    with psycopg.connect(url) as conn:
        rows = conn.execute(query, [list(v) for v in filters.values()]).fetchall()
    columns: list[tuple[Any, ...]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in range(len(names) + 1)]
    )
    data = {name: _column(spec, name, list(col)) for name, col in zip(names, columns, strict=False)}
    geometry = shapely.from_wkb(np.array(columns[-1], dtype=object))
    return gpd.GeoDataFrame(data, geometry=geometry, crs=WGS84)


def _column(spec: LayerSpec, name: str, values: list[Any]) -> pd.Series:
    kind = spec.field(name).type
    if kind is FieldType.INTEGER:
        return pd.Series(values, dtype="Int64")
    if kind is FieldType.NUMBER:
        return pd.Series(values, dtype="Float64")
    if kind is FieldType.BOOLEAN:
        return pd.Series(values, dtype="boolean")
    if kind in (FieldType.DATE, FieldType.DATETIME):
        return pd.Series([_iso(v) for v in values], dtype=object)
    if kind is FieldType.STRING_LIST:
        return pd.Series(
            [None if v is None else json.dumps(v, ensure_ascii=False) for v in values], dtype=object
        )
    return pd.Series(values, dtype=object)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def export_layer(
    url: str,
    spec: LayerSpec,
    out: Path,
    *,
    schema: str = "gis",
    fmt: str | None = None,
    where: list[str] | None = None,
    crs: str | None = None,
) -> int:
    """Write the layer (filtered by ``where``) to ``out``; returns the number of features."""
    driver = driver_for(out, fmt)
    frame = read_layer(url, spec, schema, parse_filters(spec, where or []))
    if crs is not None:
        frame = frame.to_crs(parse_crs(crs))
    _remove_existing(out, driver)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _owner_only(not is_public(spec)):
        if driver == "CSV":
            _write_csv(frame, out)
        else:
            if driver == "ESRI Shapefile":
                frame = frame.rename(columns=shapefile_names(spec))
            pyogrio.write_dataframe(
                frame,
                out,
                driver=driver,
                layer=spec.name,
                encoding="UTF-8" if driver == "ESRI Shapefile" else None,
            )
    return len(frame)


def is_public(spec: LayerSpec) -> bool:
    """True when the layer and all its fields are public (an export holds every field)."""
    return spec.access is Access.PUBLIC and all(
        spec.field_access(f) is Access.PUBLIC for f in spec.fields
    )


@contextmanager
def _owner_only(restricted: bool) -> Iterator[None]:
    """Files created inside are 0600 when ``restricted`` (the process umask otherwise)."""
    if not restricted:
        yield
        return
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _remove_existing(out: Path, driver: str) -> None:
    if driver == "ESRI Shapefile":
        for suffix in _SHAPEFILE_PARTS:
            out.with_suffix(suffix).unlink(missing_ok=True)
    else:
        out.unlink(missing_ok=True)


def _write_csv(frame: gpd.GeoDataFrame, out: Path) -> None:
    geometry = frame.geometry.to_numpy()
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if len(frame) and (shapely.get_type_id(geometry) == 0).all():
        x_name, y_name = ("lon", "lat") if is_wgs84_lonlat(frame.crs) else ("x", "y")
        table[x_name] = [repr(float(v)) for v in shapely.get_x(geometry)]
        table[y_name] = [repr(float(v)) for v in shapely.get_y(geometry)]
    else:
        table["wkt"] = shapely.to_wkt(geometry, rounding_precision=-1)
    table.to_csv(out, index=False, encoding="utf-8")
