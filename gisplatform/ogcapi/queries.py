"""SQL for the feature endpoints, composed with ``psycopg.sql`` only.

Every query reads the public audience view (``api_public.<layer>``) and builds
GeoJSON in PostGIS. Identifiers come from the registry; values are parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from psycopg import sql

from gisplatform.errors import InvalidParameter
from gisplatform.i18n import message
from gisplatform.ogcapi.crs import STORAGE_SRID, OutputCrs
from gisplatform.registry import FieldSpec, FieldType, LayerSpec
from gisplatform.reports.marks import MARK_PROPERTY, mark_json
from gisplatform.store.audiences import current_view
from gisplatform.store.roles import LAYER_STATE_VIEW

#: a filtered count reads at most this far (a small, bounded scan); beyond, no numberMatched
COUNT_CAP = 1_000
#: segments per side when a projected bbox is turned into a lon/lat polygon
BBOX_SEGMENTS = 32


def view(spec: LayerSpec) -> sql.Identifier:
    """The view of ``spec`` for the request's audience (the public view outside a request)."""
    return sql.Identifier(current_view().schema, spec.name)


def geometry_json(out: OutputCrs) -> sql.Composable:
    """``ST_AsGeoJSON`` of the row's geometry in the output CRS and its axis order."""
    expr: sql.Composable = sql.SQL("t.geom")
    if out.srid != STORAGE_SRID:
        expr = sql.SQL("ST_Transform({}, {})").format(expr, sql.Literal(out.srid))
    if out.flip:
        expr = sql.SQL("ST_FlipCoordinates({})").format(expr)
    digits = 9 if out.geographic else 4
    return sql.SQL("ST_AsGeoJSON({}, {}, 0)::json").format(expr, sql.Literal(digits))


def rendered(query: sql.Composable) -> sql.SQL:
    """``query`` rendered to text once (identifiers quoted, literals inlined).

    A composed query is walked again each time it is sent; the rendered one is not,
    which matters for the hottest small requests.
    """
    return sql.SQL(query.as_string())


def feature_json(
    fields: tuple[FieldSpec, ...], out: OutputCrs, skip_geometry: bool, mark: str | None = None
) -> sql.SQL:
    """A GeoJSON Feature per row of ``t`` as text, built by PostgreSQL.

    ``mark`` names a layer residents' reports mark (:mod:`gisplatform.reports.marks`): its
    features get the mark as one more property.
    """
    return _feature_json(_names(fields), out, skip_geometry, mark)


def _names(fields: tuple[FieldSpec, ...]) -> tuple[str, ...]:
    """The cache key of some fields (hashing the specs themselves costs more than the SQL)."""
    return tuple(f.name for f in fields)


@lru_cache(maxsize=512)
def _feature_json(
    fields: tuple[str, ...], out: OutputCrs, skip_geometry: bool, mark: str | None
) -> sql.SQL:
    columns_list: list[sql.Composable] = [sql.SQL("t.{}").format(sql.Identifier(f)) for f in fields]
    if mark is not None:
        columns_list.append(
            sql.SQL("{} AS {}").format(mark_json(mark), sql.Identifier(MARK_PROPERTY))
        )
    if columns_list:
        columns = sql.SQL(", ").join(columns_list)
        properties: sql.Composable = sql.SQL(
            "(SELECT row_to_json(p) FROM (SELECT {}) AS p)"
        ).format(columns)
    else:
        properties = sql.SQL("'{}'::json")
    geometry = sql.SQL("NULL::json") if skip_geometry else geometry_json(out)
    # Demo features carry the foreign member ``"demo": true``; only one branch is evaluated.
    return rendered(
        sql.SQL(
            "CASE WHEN t.is_demo THEN json_build_object('type', 'Feature', 'id', t.fid, "
            "'demo', true, 'geometry', {geometry}, 'properties', {properties}) "
            "ELSE json_build_object('type', 'Feature', 'id', t.fid, 'geometry', {geometry}, "
            "'properties', {properties}) END::text"
        ).format(geometry=geometry, properties=properties)
    )


@dataclass
class Where:
    """Conditions joined with AND, and their parameters in order."""

    clauses: list[sql.Composable] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: sql.Composable, params: list[Any]) -> None:
        """Append one condition."""
        self.clauses.append(clause)
        self.params.extend(params)

    def sql(self) -> sql.Composable:
        """``WHERE …`` or nothing."""
        if not self.clauses:
            return sql.SQL("")
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(self.clauses)


def bbox_clause(numbers: list[float], crs: OutputCrs) -> tuple[sql.Composable, list[Any]]:
    """Features intersecting a bbox given in ``crs`` (its own axis order)."""
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if crs.flip:
        y1, x1, y2, x2 = numbers
    else:
        x1, y1, x2, y2 = numbers
    if x1 > x2 and crs.geographic:
        raise InvalidParameter("bbox", message("bbox_antimeridian"))
    if x1 > x2 or y1 > y2:
        raise InvalidParameter("bbox", message("bbox_order"))
    envelope = sql.SQL("ST_MakeEnvelope(%s, %s, %s, %s, {})").format(sql.Literal(crs.srid))
    params: list[Any] = [x1, y1, x2, y2]
    if crs.srid != STORAGE_SRID:
        step = max(x2 - x1, y2 - y1) / BBOX_SEGMENTS or 1.0
        envelope = sql.SQL("ST_Transform(ST_Segmentize({}, %s), {})").format(
            envelope, sql.Literal(STORAGE_SRID)
        )
        params.append(step)
    return sql.SQL("ST_Intersects(geom, {})").format(envelope), params


def _instant(text: str) -> date | datetime | None:
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise InvalidParameter("datetime", message("datetime_format")) from exc
    if value.tzinfo is None:
        raise InvalidParameter("datetime", message("datetime_zone"))
    return value


def datetime_clause(text: str, temporal: FieldSpec) -> tuple[sql.Composable, list[Any]]:
    """Conditions on the temporal field for an instant or an (open) interval."""
    column = sql.Identifier(temporal.name)
    is_date = temporal.type is FieldType.DATE

    def lower(value: date | datetime) -> Any:
        return value.date() if is_date and isinstance(value, datetime) else value

    def upper(value: date | datetime) -> tuple[str, Any]:
        if is_date and isinstance(value, datetime):
            return "<=", value.date()
        if not is_date and not isinstance(value, datetime):
            return "<", value + timedelta(days=1)
        return "<=", value

    if "/" not in text:
        instant = _instant(text)
        if instant is None:
            raise InvalidParameter("datetime", message("datetime_open_instant"))
        operator, end = upper(instant)
        return sql.SQL("({} >= %s AND {} {} %s)").format(column, column, sql.SQL(operator)), [
            lower(instant),
            end,
        ]
    parts = text.split("/")
    if len(parts) != 2:
        raise InvalidParameter("datetime", message("datetime_interval"))
    start, stop = (_instant(p) for p in parts)
    if start is None and stop is None:
        return sql.SQL("TRUE"), []
    clauses: list[sql.Composable] = []
    params: list[Any] = []
    if start is not None:
        clauses.append(sql.SQL("{} >= %s").format(column))
        params.append(lower(start))
    if stop is not None:
        operator, end = upper(stop)
        clauses.append(sql.SQL("{} {} %s").format(column, sql.SQL(operator)))
        params.append(end)
    return sql.SQL("({})").format(sql.SQL(" AND ").join(clauses)), params


def order_by(sort: list[tuple[str, bool]]) -> sql.Composable:
    """``ORDER BY`` the requested fields (descending when True), then ``fid``."""
    keys: list[sql.Composable] = [
        sql.SQL("t.{} {}").format(sql.Identifier(name), sql.SQL("DESC" if desc else "ASC"))
        for name, desc in sort
    ]
    keys.append(sql.SQL("t.fid ASC"))
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(keys)


def items_query(
    spec: LayerSpec,
    fields: tuple[FieldSpec, ...],
    out: OutputCrs,
    skip_geometry: bool,
    where: Where,
    sort: list[tuple[str, bool]],
    limit: int,
    offset: int,
    source: tuple[sql.Composable, list[Any]] | None = None,
    mark: bool = False,
    with_revision: bool = False,
) -> tuple[sql.Composed, list[Any]]:
    """Up to ``limit`` features as GeoJSON text rows (callers ask for one more than the page
    to learn whether a next page exists), with the reports' mark when ``mark``.

    The page is cut in a subquery so the JSON is built for its rows only: with the key
    order coming from an index, PostgreSQL would otherwise build it for every skipped
    row too (``offset=150000`` built 150,100 features). ``source`` (a parenthesised
    query with the view's columns, and its parameters) replaces the audience's view.
    ``with_revision`` adds the layer's revision as a second column (evaluated once), saving
    a round trip for the cached count.
    """
    first = [spec.name] if with_revision else []
    layer_mark = spec.name if mark else None
    if source is None and not where.clauses:  # the same text for every such page: rendered once
        key = (current_view().schema, spec.name, _names(fields), out, skip_geometry, tuple(sort))
        return _plain_items(*key, with_revision, layer_mark), [*first, limit, offset]
    rows, before = source if source is not None else (view(spec), [])
    features = feature_json(fields, out, skip_geometry, layer_mark)
    query = _items(rows, features, where, sort, with_revision)
    return query, [*first, *before, *where.params, limit, offset]


def _items(
    source: sql.Composable,
    features: sql.Composable,
    where: Where,
    sort: list[tuple[str, bool]],
    with_revision: bool,
) -> sql.Composed:
    order = order_by(sort)
    revision = sql.SQL(", ({})").format(_REVISION) if with_revision else sql.SQL("")
    return sql.SQL("SELECT {}{} FROM (SELECT * FROM {} AS t{}{} LIMIT %s OFFSET %s) AS t{}").format(
        features, revision, source, where.sql(), order, order
    )


@lru_cache(maxsize=512)
def _plain_items(
    schema: str,
    layer: str,
    fields: tuple[str, ...],
    out: OutputCrs,
    skip_geometry: bool,
    sort: tuple[tuple[str, bool], ...],
    with_revision: bool,
    mark: str | None,
) -> sql.Composed:
    features = _feature_json(fields, out, skip_geometry, mark)
    query = _items(sql.Identifier(schema, layer), features, Where(), list(sort), with_revision)
    return sql.Composed([rendered(query)])


def count_reach(offset: int, limit: int) -> int | None:
    """How many rows a filtered count may read for the page at ``offset``: to the end of the
    next page, at most :data:`COUNT_CAP` (so it costs about one more page without its JSON);
    None when the page itself reaches past that (the count could not come out exact)."""
    reach = min(COUNT_CAP, offset + 2 * limit)
    return reach if offset + limit + 1 <= reach else None


def count_query(
    spec: LayerSpec, where: Where, cap: int = COUNT_CAP
) -> tuple[sql.Composed, list[Any]]:
    """How many rows match, counting no further than ``cap + 1`` (a bounded scan)."""
    query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} AS t{} LIMIT %s) AS c").format(
        view(spec), where.sql()
    )
    return query, [*where.params, cap + 1]


def item_query(
    spec: LayerSpec, fields: tuple[FieldSpec, ...], out: OutputCrs, mark: bool = False
) -> sql.SQL:
    """One feature by its ``fid`` (a primary-key lookup), and its version (the ETag)."""
    return _item_query(current_view().schema, spec.name, _names(fields), out, mark)


@lru_cache(maxsize=512)
def _item_query(
    schema: str, layer: str, fields: tuple[str, ...], out: OutputCrs, mark: bool
) -> sql.SQL:
    return rendered(
        sql.SQL("SELECT {}, t.version FROM {} AS t WHERE t.fid = %s").format(
            _feature_json(fields, out, False, layer if mark else None),
            sql.Identifier(schema, layer),
        )
    )


def stats_query(spec: LayerSpec, temporal: FieldSpec | None) -> sql.Composed:
    """Extent (lon/lat), temporal range and row count of a layer's public view."""
    if temporal is None:
        times: sql.Composable = sql.SQL("NULL::text, NULL::text")
    else:
        column = sql.Identifier(temporal.name)
        times = sql.SQL("min({})::text, max({})::text").format(column, column)
    return sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), tmin, tmax, n FROM ("
        "SELECT ST_Extent(geom) AS e, {} , count(*) AS n FROM {}) AS s(e, tmin, tmax, n)"
    ).format(times, view(spec))


_REVISION = sql.SQL("SELECT revision FROM {} WHERE layer = %s").format(
    sql.Identifier(*LAYER_STATE_VIEW)
)


def revision_query(history_schema: str) -> sql.Composed:
    """Current revision of one layer (bumped by a trigger on each change).

    Read through the audience's state view, not ``history_schema`` itself.
    """
    return _REVISION
