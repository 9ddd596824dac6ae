"""The single-feature validator accepts and refuses exactly what an import does (no database)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from gisplatform.errors import FeatureInvalid
from gisplatform.ingest.crs import AreaOfInterest
from gisplatform.ingest.validate import validate_column, validate_value
from gisplatform.ogcapi.crs import north_first
from gisplatform.registry import FieldSpec, FieldType, LayerRegistry
from gisplatform.validate import FeatureCandidate, validate_feature
from tests.edit_helpers import edit_layer, point_in, valid_properties, value_for


def _candidate(props: dict[str, object], geometry: object, **kw: object) -> FeatureCandidate:
    return FeatureCandidate(props, frozenset(props), geometry, **kw)  # type: ignore[arg-type]


def test_enum_labels_become_codes_like_an_import(registry: LayerRegistry) -> None:
    spec = edit_layer(registry)
    enum = next(f for f in spec.fields if f.type is FieldType.ENUM and f.required)
    for label in (enum.values[-1].uk, enum.values[-1].en.upper(), enum.values[-1].value):
        props = valid_properties(spec) | {enum.name: label}
        valid = validate_feature(spec, spec.fields, _candidate(props, point_in(registry)))
        imported, problems = validate_column(enum, np.array([label], dtype=object))
        assert not problems
        assert valid.values[enum.name] == imported[0] == enum.values[-1].value


def test_every_field_at_fault_is_named(registry: LayerRegistry) -> None:
    spec = edit_layer(registry)
    ranged = next(f for f in spec.fields if f.maximum is not None)
    patterned = next(f for f in spec.fields if f.pattern)
    props = valid_properties(spec) | {ranged.name: ranged.maximum + 1, patterned.name: "?"}
    with pytest.raises(FeatureInvalid) as caught:
        validate_feature(spec, spec.fields, _candidate(props, {"type": "LineString"}))
    named = [name for name, _ in caught.value.problems]
    assert set(named) == {ranged.name, patterned.name, "geometry"}


def test_a_projected_geometry_lands_where_pyproj_says(registry: LayerRegistry) -> None:
    spec = edit_layer(registry)
    lon, lat = point_in(registry)["coordinates"]
    area = AreaOfInterest(*registry.hromada.extent)
    for code in registry.hromada.offered_crs:
        x, y = Transformer.from_crs(4326, code, always_xy=True).transform(lon, lat)
        coords = [y, x] if north_first(code) else [x, y]
        candidate = _candidate(
            valid_properties(spec),
            {"type": "Point", "coordinates": coords},
            srid=code,
            north_first=north_first(code),
        )
        valid = validate_feature(spec, spec.fields, candidate, area)
        point = shapely.from_wkb(valid.geometry_wkb)
        assert (point.x, point.y) == (pytest.approx(lon, abs=1e-7), pytest.approx(lat, abs=1e-7))


def test_a_kept_geometry_is_neither_checked_nor_written(registry: LayerRegistry) -> None:
    spec = edit_layer(registry)
    candidate = FeatureCandidate(valid_properties(spec), frozenset(), None, keep_geometry=True)
    assert validate_feature(spec, spec.fields, candidate).geometry_wkb == b""


def _raws(field: FieldSpec) -> list[object]:
    labels = [v.uk for v in field.values[:2]] + [v.en.upper() for v in field.values[:1]]
    return [
        None,
        "",
        "  ",
        value_for(field, 3),
        "no-such",
        -1,
        10**12,
        2.5,
        True,
        "так",
        "2026-01-15",
        "15.01.2026 10:30",
        "x" * 400,
        *labels,
        # lists come from files only for list fields (readers give scalars otherwise)
        *([["a", "b"], []] if field.type is FieldType.STRING_LIST else []),
    ]


def test_one_value_gets_the_answer_a_whole_column_gets(registry: LayerRegistry) -> None:
    """validate_value (editing) and validate_column (import) never disagree."""
    for spec in registry:
        for field in spec.fields:
            raws = _raws(field)
            column = np.empty(len(raws), dtype=object)
            for i, raw in enumerate(raws):
                column[i] = raw
            parsed, problems = validate_column(field, column)
            refused = {p.row - 1 for p in problems}
            for i, raw in enumerate(raws):
                value, why = validate_value(field, raw)
                assert (why is not None) == (i in refused), (spec.name, field.name, raw)
                if why is None:
                    assert value == parsed[i], (spec.name, field.name, raw)
