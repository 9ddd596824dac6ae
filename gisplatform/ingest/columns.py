"""Which source column feeds which layer field, and geometries built from columns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gisplatform.i18n import Text, message, reason
from gisplatform.ingest.dms import parse_coordinate
from gisplatform.ingest.errors import IngestError, RowProblem
from gisplatform.registry import LayerSpec

_APOSTROPHES = re.compile(r"[’ʼ‘`´]")
_SPACES = re.compile(r"\s+")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "геометрія")
LON_NAMES = ("lon", "lng", "long", "longitude", "довгота", "x")
LAT_NAMES = ("lat", "latitude", "широта", "y")
_LAT_OF = {
    "lon": "lat",
    "lng": "lat",
    "long": "lat",
    "longitude": "latitude",
    "довгота": "широта",
    "x": "y",
}


def normalise(name: str) -> str:
    """A column name folded for comparison: case, apostrophes and whitespace."""
    return _SPACES.sub(" ", _APOSTROPHES.sub("'", name)).strip().casefold()


def shapefile_names(spec: LayerSpec) -> dict[str, str]:
    """Field name → the 10-character DBF name used by our Shapefile exports."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for number, f in enumerate(spec.fields):
        short = f.name[:10]
        if short in used:
            short = f"{f.name[:6]}_{number:03d}"
        used.add(short)
        names[f.name] = short
    return names


@dataclass(frozen=True)
class ColumnPlan:
    """Field name → source column, constants given with --set, and unused columns."""

    fields: dict[str, str]
    constants: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()


def plan_columns(
    spec: LayerSpec,
    columns: list[str],
    file_label: str,
    explicit: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
) -> ColumnPlan:
    """Map columns: ``--map`` first, then exact names, then aliases (folded), then DBF names."""
    explicit, constants = explicit or {}, constants or {}
    field_names = [f.name for f in spec.fields]
    for name in constants:
        if name not in field_names:
            raise IngestError(
                message("no_such_field", option=f"--set {name}=…", layer=spec.name, field=name)
            )
    mapping: dict[str, str] = {}
    for source, target in explicit.items():
        if source not in columns:
            raise IngestError(
                message(
                    "no_such_column",
                    option=f"--map {source}={target}",
                    file=file_label,
                    column=source,
                    columns=", ".join(columns),
                )
            )
        if target not in field_names:
            raise IngestError(
                message(
                    "no_such_field",
                    option=f"--map {source}={target}",
                    layer=spec.name,
                    field=target,
                )
            )
        mapping[target] = source
    taken = set(mapping.values())
    dbf = shapefile_names(spec)
    matchers = (
        lambda f, c: c == f.name,
        lambda f, c: normalise(c) in {normalise(a) for a in (f.name, *f.aliases)},
        lambda f, c: c == dbf[f.name],
    )
    for matches in matchers:
        for f in spec.fields:
            if f.name in mapping or f.name in constants:
                continue
            for column in columns:
                if column not in taken and matches(f, column):
                    mapping[f.name] = column
                    taken.add(column)
                    break
    missing = [
        f.name
        for f in spec.fields
        if f.required and f.default is None and f.name not in mapping and f.name not in constants
    ]
    if missing:
        raise IngestError(
            message(
                "file_does_not_fit",
                file=file_label,
                layer=spec.name,
                fields=", ".join(missing),
                columns=", ".join(columns) or "—",
            )
        )
    ignored = tuple(c for c in columns if c not in taken)
    return ColumnPlan(mapping, dict(constants), ignored)


@dataclass(frozen=True)
class GeometryColumns:
    """Columns that carry the geometry when the file has none of its own."""

    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    lonlat: bool = False  # True when the columns are lon/lat (WGS 84 unless told otherwise)

    @property
    def names(self) -> tuple[str, ...]:
        """The column names used."""
        return tuple(c for c in (self.x, self.y, self.wkt) if c)


def detect_geometry_columns(
    columns: list[str],
    x: str | None = None,
    y: str | None = None,
    wkt: str | None = None,
    dms: tuple[str, str] | None = None,
) -> GeometryColumns | None:
    """The geometry columns asked for, else the usual names, else ``None``."""
    for name in (x, y, wkt, *(dms or ())):
        if name is not None and name not in columns:
            raise IngestError(message("no_column", column=name, columns=", ".join(columns)))
    if dms:
        return GeometryColumns(x=dms[1], y=dms[0], lonlat=True)
    if wkt:
        return GeometryColumns(wkt=wkt)
    if x or y:
        if not (x and y):
            raise IngestError(message("give_both_xy"))
        lonlat = normalise(x) in LON_NAMES[:-1] and normalise(y) in LAT_NAMES[:-1]
        return GeometryColumns(x=x, y=y, lonlat=lonlat)
    folded = {normalise(c): c for c in columns}
    for name in WKT_NAMES:
        if name in folded:
            return GeometryColumns(wkt=folded[name])
    for lon_name in LON_NAMES:
        lat_name = _LAT_OF[lon_name]
        if lon_name in folded and lat_name in folded:
            return GeometryColumns(folded[lon_name], folded[lat_name], lonlat=lon_name != "x")
    return None


def build_geometry(
    frame: pd.DataFrame, source: GeometryColumns
) -> tuple[NDArray[np.object_], list[RowProblem]]:
    """Geometries (``None`` where unreadable) and one problem per unreadable row."""
    problems: list[RowProblem] = []
    if source.wkt:
        texts = frame[source.wkt].to_numpy(dtype=object)
        cleaned = np.array(
            [re.sub(r"^\s*SRID=\d+;", "", t) if isinstance(t, str) else None for t in texts],
            dtype=object,
        )
        geoms: NDArray[np.object_] = shapely.from_wkt(cleaned, on_invalid="ignore")
        for i in np.flatnonzero(shapely.is_missing(geoms) & pd.notna(cleaned)):
            problems.append(
                RowProblem(int(i) + 1, source.wkt, message("not_wkt"), str(texts[i])[:80])
            )
        return geoms, problems
    assert source.x is not None and source.y is not None
    xs, x_axes = _coordinates(frame[source.x], source.x, problems)
    ys, y_axes = _coordinates(frame[source.y], source.y, problems)
    # DMS letters tell the axis: E values in the latitude column mean the columns are crossed.
    crossed = (x_axes == "lat") & (y_axes == "lon")
    xs[crossed], ys[crossed] = ys[crossed], xs[crossed].copy()
    ok = np.isfinite(xs) & np.isfinite(ys)
    geoms = np.full(len(frame), None, dtype=object)
    geoms[ok] = shapely.points(xs[ok], ys[ok])
    return geoms, problems


def _coordinates(
    series: pd.Series, column: str, problems: list[RowProblem]
) -> tuple[NDArray[np.float64], NDArray[np.object_]]:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = np.full(len(uniques) + 1, np.nan)
    axes = np.full(len(uniques) + 1, None, dtype=object)
    bad: dict[int, str | Text] = {}
    for k, raw in enumerate(uniques):
        if isinstance(raw, int | float | np.integer | np.floating) and not isinstance(raw, bool):
            values[k] = float(raw)
            continue
        try:
            values[k], axes[k] = parse_coordinate(str(raw))
        except ValueError as exc:
            bad[k] = reason(exc)
    for row in np.flatnonzero(np.isin(codes, list(bad))):
        problems.append(
            RowProblem(int(row) + 1, column, bad[int(codes[row])], str(uniques[codes[row]]))
        )
    for row in np.flatnonzero(codes < 0):
        problems.append(RowProblem(int(row) + 1, column, message("coordinate_missing")))
    return values[codes], axes[codes]
