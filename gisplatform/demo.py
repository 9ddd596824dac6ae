"""Load the Romny demo data set (``data/romny/*.geojson``) into the store."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from gisplatform.errors import GisPlatformError
from gisplatform.registry import FieldSpec, FieldType, LayerRegistry, LayerSpec
from gisplatform.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

DEMO_DIR = PROJECT_ROOT / "data" / "romny"
REPORTS_DIR = PROJECT_ROOT / "reports"
DEMO_ACTOR = "gisplatform demo"


@dataclass(frozen=True)
class LayerLoad:
    """What happened to one layer."""

    layer: str
    rows: int
    loaded: bool


def demo_file(directory: Path, spec: LayerSpec) -> Path:
    """The demo file of a layer."""
    return directory / f"{spec.name}.geojson"


def _python_value(field: FieldSpec, value: Any) -> Any:
    if isinstance(value, list | tuple | np.ndarray):
        return [str(item) for item in value]
    if value is None or pd.isna(value):
        return None
    if field.type is FieldType.DATE:
        return date.fromisoformat(str(value)[:10])
    if field.type is FieldType.INTEGER:
        return int(value)
    if field.type is FieldType.BOOLEAN:
        return bool(value)
    if field.type is FieldType.STRING_LIST:
        return [str(item) for item in json.loads(value)] if isinstance(value, str) else None
    return value


def _rows(spec: LayerSpec, frame: gpd.GeoDataFrame) -> Iterator[list[Any]]:
    geometries = shapely.set_srid(frame.geometry.values, 4326)
    wkb = shapely.to_wkb(geometries, hex=True, include_srid=True)
    columns = [frame[f.name].tolist() if f.name in frame else None for f in spec.fields]
    demo_flags = frame["is_demo"].tolist() if "is_demo" in frame else [True] * len(frame)
    for index in range(len(frame)):
        values = [
            _python_value(field, column[index]) if column is not None else None
            for field, column in zip(spec.fields, columns, strict=True)
        ]
        yield [*values, wkb[index], bool(demo_flags[index])]


_MULTI = {
    "Point": shapely.MultiPoint,
    "LineString": shapely.MultiLineString,
    "Polygon": shapely.MultiPolygon,
}


def _to_multi(geometry: shapely.Geometry) -> shapely.Geometry:
    maker = _MULTI.get(geometry.geom_type)
    return maker([geometry]) if maker else geometry


def _read(path: Path, spec: LayerSpec) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path, engine="pyogrio")
    missing = [f.name for f in spec.fields if f.required and f.name not in frame.columns]
    if missing:
        raise GisPlatformError(f"{path}: required fields missing: {', '.join(missing)}")
    if spec.geometry.is_multi:
        frame = frame.set_geometry([_to_multi(g) for g in frame.geometry], crs=frame.crs)
    return frame


def load_demo(
    url: str,
    registry: LayerRegistry,
    schema: str,
    directory: Path = DEMO_DIR,
    reset: bool = False,
    progress: Callable[[str], None] | None = None,
    reports_dir: Path = REPORTS_DIR,
) -> list[LayerLoad]:
    """Load every layer's demo file in one transaction, then the demo residents' reports.

    A layer that already holds rows is left alone unless ``reset`` is true, in
    which case its rows are deleted (and kept in the change history) first; the same
    goes for the demo reports (see :mod:`gisplatform.reports.demo`).
    """
    results: list[LayerLoad] = []
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT set_config('gisplatform.actor', %s, true)", [DEMO_ACTOR])
        for spec in registry:
            path = demo_file(directory, spec)
            if not path.exists():
                raise GisPlatformError(f"demo data file missing: {path}")
            table = sql.Identifier(schema, spec.name)
            existing = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
            if existing and existing[0] and not reset:
                results.append(LayerLoad(spec.name, int(existing[0]), loaded=False))
                continue
            if progress:
                progress(spec.name)
            conn.execute(sql.SQL("DELETE FROM {}").format(table))
            frame = _read(path, spec)
            columns = [*(f.name for f in spec.fields), "geom", "is_demo"]
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
                table, sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with conn.cursor().copy(copy_sql) as copy:
                for row in _rows(spec, frame):
                    copy.write_row(row)
            results.append(LayerLoad(spec.name, len(frame), loaded=True))
            log.info("demo layer loaded", extra={"layer": spec.name, "rows": len(frame)})
        _load_reports(conn, registry, schema, reports_dir, reset)
    return results


def _load_reports(
    conn: psycopg.Connection[Any],
    registry: LayerRegistry,
    schema: str,
    kinds_dir: Path,
    reset: bool,
) -> None:
    """The demo reports, where migrate has made the reports schema."""
    from gisplatform.reports.demo import load_demo_reports
    from gisplatform.reports.kinds import load_report_kinds

    found = conn.execute("SELECT to_regclass('reports.requests') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return
    kinds = load_report_kinds(kinds_dir, registry, only_known=True)
    made = load_demo_reports(conn, kinds, schema, reset=reset)
    log.info("demo reports loaded", extra={"rows": made})


def layer_counts(url: str, registry: LayerRegistry, schema: str) -> dict[str, int]:
    """Row count of every layer table."""
    counts: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        for spec in registry:
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, spec.name))
            ).fetchone()
            counts[spec.name] = int(row[0]) if row else 0
    return counts
