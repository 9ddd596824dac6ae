"""Validation of a whole source table against a layer spec, row by row.

Attribute columns are parsed once per distinct value (plain strings vectorised);
geometry checks run on shapely arrays. Every rejection is a :class:`RowProblem`
naming row and field.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from gisplatform.i18n import Text, message, reason
from gisplatform.ingest.crs import AreaOfInterest, swapped_inside, to_wgs84
from gisplatform.ingest.errors import RowProblem
from gisplatform.ingest.values import parse_value
from gisplatform.registry import FieldSpec, FieldType, LayerSpec
from gisplatform.registry.spec import Severity

GEOMETRY = "geometry"
# shapely type ids 0..7: Point, LineString, LinearRing, Polygon, Multi*, GeometryCollection
_FAMILY_OF_TYPE = np.array(
    ["point", "line", "line", "polygon", "point", "line", "polygon", "mixed"]
)
#: Field types whose values need no parsing when they already have this Python type.
_NATIVE: dict[FieldType, type] = {FieldType.DATE: date, FieldType.BOOLEAN: bool}
_MULTI_MAKERS = {
    "point": shapely.multipoints,
    "line": shapely.multilinestrings,
    "polygon": shapely.multipolygons,
}


def validate_column(
    f: FieldSpec, raw: NDArray[np.object_] | None, constant: object = None, n: int = 0
) -> tuple[NDArray[np.object_], list[RowProblem]]:
    """Parse one column (or a constant for all ``n`` rows); problems per bad row."""
    problems: list[RowProblem] = []
    if raw is None:
        raw = np.full(n, constant, dtype=object)
    if f.type is FieldType.STRING_LIST:
        parsed = np.empty(len(raw), dtype=object)
        for position, value in enumerate(raw):
            try:
                parsed[position] = parse_value(f, value)
            except ValueError as exc:
                parsed[position] = None
                problems.append(RowProblem(position + 1, f.name, reason(exc), _show(value)))
        missing = np.array([v is None for v in parsed], dtype=bool)
    else:
        # Missing values get code -1 (the table's last slot, None); blanks parse to None.
        codes, found = pd.factorize(pd.Series(raw, dtype=object))
        uniques = np.asarray(found, dtype=object)
        table = np.empty(len(uniques) + 1, dtype=object)
        errors: dict[int, str | Text] = {}
        todo = np.arange(len(uniques))
        if f.type is FieldType.STRING:
            plain = _plain_strings(f, uniques)
            if plain is not None:
                table[:-1] = plain
                todo = np.flatnonzero(pd.isna(plain))
        elif f.type in _NATIVE:  # e.g. dates read from a typed column: nothing to parse
            native = np.fromiter((type(u) is _NATIVE[f.type] for u in uniques), bool, len(uniques))
            table[:-1][native] = uniques[native]
            todo = np.flatnonzero(~native)
        for k in todo:
            try:
                table[k] = parse_value(f, uniques[k])
            except ValueError as exc:
                table[k] = None
                errors[int(k)] = reason(exc)
        parsed = table[codes]
        if errors:
            for i in np.flatnonzero(np.isin(codes, list(errors))):
                problems.append(
                    RowProblem(int(i) + 1, f.name, errors[int(codes[i])], _show(raw[i]))
                )
        missing = np.array([v is None for v in table], dtype=bool)[codes]
    bad_rows = {p.row - 1 for p in problems}
    if f.default is not None and missing.any():
        parsed[missing] = parse_value(f, f.default)
    elif f.required:
        for i in np.flatnonzero(missing):
            if int(i) not in bad_rows:
                problems.append(RowProblem(int(i) + 1, f.name, message("required_missing")))
    return parsed, problems


def validate_value(f: FieldSpec, raw: object) -> tuple[object, str | Text | None]:
    """One value as :func:`validate_column` treats each row: (stored value, why refused).

    The same parser (:func:`parse_value`) and the same rule for a missing value (the
    field's default, else a refusal when it is required), without the vectorised set-up
    that only pays off over many rows (editing validates one feature at a time;
    ``tests/test_validate_feature.py`` holds the two to the same answers).
    """
    try:
        value = parse_value(f, raw)
    except ValueError as exc:
        return None, reason(exc)
    if value is None and f.default is not None:
        return parse_value(f, f.default), None
    if value is None and f.required:
        return None, message("required_missing")
    return value, None


def _plain_strings(f: FieldSpec, uniques: NDArray[np.object_]) -> NDArray[np.object_] | None:
    """Vectorised parsing of a string field's distinct values.

    Each value stripped, or NaN where it needs the full parser (not a string, blank,
    too long, NUL, pattern mismatch), which then gives the exact message; ``None``
    when no value is a string.
    """
    try:
        stripped = pd.Series(uniques, dtype=object).str.strip()
    except AttributeError:  # no strings at all
        return None
    length = stripped.str.len()
    ok = length.gt(0) & ~stripped.str.contains("\x00", regex=False, na=True)
    if f.max_length is not None:
        ok &= length.le(f.max_length)
    if f.pattern is not None:
        ok &= stripped.str.contains(f.pattern, regex=True, na=False)
    return np.asarray(stripped.where(ok).to_numpy(dtype=object))


def _show(value: object) -> str:
    return str(value)[:200]


def check_geometry(
    geoms: NDArray[np.object_],
    spec: LayerSpec,
    crs: CRS,
    area: AreaOfInterest | None,
    repair: bool = False,
    swap_xy: bool = False,
) -> tuple[NDArray[np.object_], list[RowProblem]]:
    """Geometries in lon/lat shaped for the layer; problems for the unusable ones."""
    problems: dict[int, str | Text] = {}
    geoms = np.asarray(geoms, dtype=object)
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        problems[int(i)] = message("geometry_missing")
    geoms = shapely.force_2d(geoms)
    for i in np.flatnonzero(shapely.is_empty(geoms)):
        problems[int(i)] = message("geometry_empty")
    geoms = _fit_type(geoms, spec, problems)
    source = geoms
    geoms = to_wgs84(geoms, crs, swap_xy)
    finite = ~np.isnan(shapely.bounds(geoms)).any(axis=1)
    for i in np.flatnonzero(~finite & ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)):
        problems.setdefault(int(i), message("geometry_untransformable"))
    ok = ~np.isin(np.arange(len(geoms)), list(problems))
    invalid = np.flatnonzero(ok & ~shapely.is_valid(geoms))
    for i in invalid:
        why = shapely.is_valid_reason(geoms[i])
        if repair:
            fixed = _repair(geoms[i], spec)
            if fixed is not None:
                geoms[i] = fixed
                continue
            problems[int(i)] = message("geometry_unrepairable", reason=why)
        else:
            problems[int(i)] = message("geometry_invalid", reason=why)
    if area is not None:
        _check_area(geoms, source, crs, area, swap_xy, problems)
    rows = [RowProblem(i + 1, GEOMETRY, msg) for i, msg in sorted(problems.items())]
    return geoms, rows


def _fit_type(
    geoms: NDArray[np.object_], spec: LayerSpec, problems: dict[int, str | Text]
) -> NDArray[np.object_]:
    type_ids = shapely.get_type_id(geoms)
    families = np.where(type_ids >= 0, _FAMILY_OF_TYPE[np.clip(type_ids, 0, 7)], "")
    known = type_ids >= 0
    known[list(problems)] = False
    for i in np.flatnonzero(known & (families != spec.geometry.family)):
        problems[int(i)] = message(
            "geometry_wrong_type",
            found=geoms[i].geom_type,
            layer=spec.name,
            wanted=spec.geometry.value,
        )
    fits = known & (families == spec.geometry.family)
    out = geoms.copy()
    if spec.geometry.is_multi:
        single = np.flatnonzero(fits & (type_ids < 4))
        if len(single):
            maker = _MULTI_MAKERS[spec.geometry.family]
            out[single] = maker(geoms[single], indices=np.arange(len(single)))
        return out
    multi = np.flatnonzero(fits & (type_ids >= 4))
    parts = shapely.get_num_geometries(geoms[multi])
    out[multi[parts == 1]] = shapely.get_geometry(geoms[multi[parts == 1]], 0)
    for i, count in zip(multi[parts != 1], parts[parts != 1], strict=True):
        problems[int(i)] = message(
            "geometry_multipart",
            found=geoms[i].geom_type,
            count=count,
            layer=spec.name,
            wanted=spec.geometry.value,
        )
    return out


def _repair(geom: object, spec: LayerSpec) -> object | None:
    fixed = shapely.make_valid(geom)
    wanted = {"point": (0, 4), "line": (1, 5), "polygon": (3, 6)}[spec.geometry.family]
    parts = [g for g in shapely.get_parts(fixed) if shapely.get_type_id(g) in wanted]
    parts = [p for part in parts for p in shapely.get_parts(part)]
    if not parts:
        return None
    if spec.geometry.is_multi:
        result: object = _MULTI_MAKERS[spec.geometry.family](parts)
        return result
    single: object = parts[0]
    return single if len(parts) == 1 else None


def _check_area(
    geoms: NDArray[np.object_],
    source: NDArray[np.object_],
    crs: CRS,
    area: AreaOfInterest,
    swap_xy: bool,
    problems: dict[int, str | Text],
) -> None:
    usable = ~np.isin(np.arange(len(geoms)), list(problems))
    bounds = shapely.bounds(geoms)
    inside = area.contains(bounds[:, 0], bounds[:, 1]) & area.contains(bounds[:, 2], bounds[:, 3])
    outside = np.flatnonzero(usable & ~inside)
    if len(outside) == 0:
        return
    swap_fixes = (
        swapped_inside(source[outside], crs, area)
        if not swap_xy
        else (np.zeros(len(outside), dtype=bool))
    )
    for i, fixes in zip(outside, swap_fixes, strict=True):
        c = shapely.centroid(geoms[i])
        text = message(
            "outside_area",
            lon=f"{shapely.get_x(c):.5f}",
            lat=f"{shapely.get_y(c):.5f}",
            area=area.describe(),
        )
        problems[int(i)] = text + message("axes_swapped") if fixes else text


def duplicate_keys(
    spec: LayerSpec, values: dict[str, NDArray[np.object_]], rejected: NDArray[np.bool_]
) -> list[RowProblem]:
    """Rows whose natural key occurs more than once among the otherwise valid rows."""
    keys = pd.DataFrame({k: values[k] for k in spec.natural_key})
    candidates = keys[~rejected]
    dup = candidates[candidates.duplicated(keep=False)]
    if dup.empty:
        return []
    problems: list[RowProblem] = []
    groups = dup.groupby(list(spec.natural_key), sort=False).indices
    for key, positions in groups.items():
        rows = [int(dup.index[p]) + 1 for p in positions]
        key_values = key if isinstance(key, tuple) else (key,)
        shown = ", ".join(f"{k}={v!r}" for k, v in zip(spec.natural_key, key_values, strict=True))
        for row in rows:
            others = ", ".join(str(r) for r in rows if r != row)
            problems.append(
                RowProblem(
                    row,
                    spec.natural_key[0],
                    message("duplicate_key", key=shown, rows=others),
                )
            )
    return problems


def _plain(value: object) -> object:
    """A parsed value as a plain Python scalar (None for missing)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def check_rules(
    spec: LayerSpec, values: dict[str, NDArray[np.object_]], rows: int
) -> tuple[list[RowProblem], list[RowProblem]]:
    """Rows that break the layer's cross-field rules: (refused, accepted with a warning).

    Each problem names the field the rule requires something of, and the rule.
    """
    refused: list[RowProblem] = []
    warned: list[RowProblem] = []
    for rule in spec.rules:
        if not all(c.field in values for c in rule.when):
            continue  # the file gives no value for a condition: the rule cannot apply
        names = {c.field for c in (*rule.when, *rule.then) if c.field in values}
        why = message("rule_broken", message=Text(rule.message.uk, rule.message.en), rule=rule.name)
        target = refused if rule.severity is Severity.ERROR else warned
        for i in range(rows):
            row = {name: _plain(values[name][i]) for name in names}
            for name in rule.broken_by(row):
                target.append(RowProblem(i + 1, name, why, _show(row[name])))
    return refused, warned
