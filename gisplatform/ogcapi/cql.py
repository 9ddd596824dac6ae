"""CQL2 filters (text and JSON) compiled to ``psycopg.sql`` against one layer's public fields.

pygeofilter parses; a small evaluator here walks its AST and writes SQL. Property
names become ``sql.Identifier``s only after they are found among the fields the
audience may see, and every literal is a bound parameter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import shapely.geometry
from psycopg import sql
from pygeofilter import ast, values  # type: ignore[import-untyped]
from pygeofilter.parsers.cql2_json import parse as parse_json  # type: ignore[import-untyped]
from pygeofilter.parsers.cql2_text import parse as parse_text  # type: ignore[import-untyped]

from gisplatform.errors import InvalidParameter
from gisplatform.i18n import message
from gisplatform.ogcapi.crs import STORAGE_SRID, OutputCrs
from gisplatform.registry import FieldSpec, FieldType

GEOMETRY_NAMES = frozenset({"geom", "geometry"})
FILTER_LANGS = ("cql2-text", "cql2-json")

_COMPARISONS: dict[type[ast.Node], str] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
_SPATIAL: dict[type[ast.Node], str] = {
    ast.GeometryIntersects: "st_intersects",
    ast.GeometryDisjoint: "st_disjoint",
    ast.GeometryContains: "st_contains",
    ast.GeometryWithin: "st_within",
    ast.GeometryTouches: "st_touches",
    ast.GeometryCrosses: "st_crosses",
    ast.GeometryOverlaps: "st_overlaps",
    ast.GeometryEquals: "st_equals",
}
_TEMPORAL: dict[type[ast.Node], str] = {
    ast.TimeAfter: ">",
    ast.TimeBefore: "<",
    ast.TimeEquals: "=",
}
_ARITHMETIC: dict[type[ast.Node], str] = {ast.Add: "+", ast.Sub: "-", ast.Mul: "*", ast.Div: "/"}
_KIND_OF_TYPE = {
    FieldType.STRING: "text",
    FieldType.ENUM: "text",
    FieldType.INTEGER: "number",
    FieldType.NUMBER: "number",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATE: "time",
    FieldType.DATETIME: "time",
    FieldType.STRING_LIST: "list",
}


#: the deepest expression tree a filter may have (deeper ones are refused with a 400)
MAX_DEPTH = 64


def _fail(key: str, /, **values: object) -> InvalidParameter:
    return InvalidParameter("filter", message(key, **values))


def _check_depth(tree: Any) -> None:
    """400 for a tree nested deeper than :data:`MAX_DEPTH` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _fail("cql_too_deep", depth=MAX_DEPTH)
        if isinstance(node, ast.Node):
            children: Any = node.get_sub_nodes()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        stack.extend((child, depth + 1) for child in children)


@dataclass
class _Expr:
    """A compiled SQL fragment and the kind of value it yields."""

    sql: sql.Composable
    kind: str


@dataclass
class _Compiler:
    fields: dict[str, FieldSpec]
    filter_crs: OutputCrs
    params: list[Any] = field(default_factory=list)

    def param(self, value: Any, kind: str) -> _Expr:
        self.params.append(value)
        return _Expr(sql.Placeholder(), kind)

    # --- scalar expressions ------------------------------------------------------------

    def scalar(self, node: Any) -> _Expr:
        if isinstance(node, ast.Attribute):
            return self.attribute(node.name)
        if isinstance(node, bool):
            return self.param(node, "boolean")
        if isinstance(node, int | float):
            return self.param(node, "number")
        if isinstance(node, str):
            return self.param(node, "text")
        if isinstance(node, datetime | date):
            return self.param(node, "time")
        if isinstance(node, values.Geometry | values.Envelope):
            return self.geometry(node)
        if isinstance(node, ast.Function):
            return self.function(node)
        arithmetic = _ARITHMETIC.get(type(node))
        if arithmetic is not None:
            lhs, rhs = self.scalar(node.lhs), self.scalar(node.rhs)
            if lhs.kind != "number" or rhs.kind != "number":
                raise _fail("cql_arithmetic")
            return _Expr(
                sql.SQL("({} {} {})").format(lhs.sql, sql.SQL(arithmetic), rhs.sql), "number"
            )
        raise _fail("cql_expression", kind=type(node).__name__)

    def attribute(self, name: str) -> _Expr:
        if name in GEOMETRY_NAMES:
            return _Expr(sql.Identifier("geom"), "geometry")
        if name in ("id", "fid") and name not in self.fields:
            return _Expr(sql.Identifier("fid"), "number")
        spec = self.fields.get(name)
        if spec is None:
            raise _fail("unknown_property", name=name)
        return _Expr(sql.Identifier(name), _KIND_OF_TYPE[spec.type])

    def function(self, node: ast.Function) -> _Expr:
        name = node.name.lower()
        args = list(node.arguments)
        if name in ("lower", "casei") and len(args) == 1:
            inner = self.scalar(args[0])
            if inner.kind != "text":
                raise _fail("cql_casei")
            return _Expr(sql.SQL("lower({})").format(inner.sql), "text")
        if name == "bbox" and len(args) in (4, 6):
            numbers = [float(a) for a in args if isinstance(a, int | float)]
            if len(numbers) != len(args):
                raise _fail("cql_bbox")
            half = len(numbers) // 2
            return self.envelope(numbers[0], numbers[1], numbers[half], numbers[half + 1])
        raise _fail("cql_function", name=node.name)

    def geometry(self, node: values.Geometry | values.Envelope) -> _Expr:
        if isinstance(node, values.Envelope):
            return self.envelope(node.x1, node.y1, node.x2, node.y2)
        try:
            shapely.geometry.shape(node.geometry)
        except Exception as exc:
            raise _fail("cql_geometry") from exc
        literal = sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(
            self.param(json.dumps(node.geometry), "text").sql, sql.Literal(self.filter_crs.srid)
        )
        return _Expr(self._to_storage(literal), "geometry")

    def envelope(self, x1: float, y1: float, x2: float, y2: float) -> _Expr:
        if self.filter_crs.flip:
            x1, y1, x2, y2 = y1, x1, y2, x2
        corners = [self.param(float(v), "number").sql for v in (x1, y1, x2, y2)]
        literal = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            *corners, sql.Literal(self.filter_crs.srid)
        )
        return _Expr(self._to_storage(literal, flip=False), "geometry")

    def _to_storage(self, literal: sql.Composable, flip: bool | None = None) -> sql.Composable:
        if self.filter_crs.flip if flip is None else flip:
            literal = sql.SQL("ST_FlipCoordinates({})").format(literal)
        if self.filter_crs.srid != STORAGE_SRID:
            literal = sql.SQL("ST_Transform({}, {})").format(literal, sql.Literal(STORAGE_SRID))
        return literal

    # --- predicates ----------------------------------------------------------------------

    def predicate(self, node: Any) -> sql.Composable:
        if isinstance(node, ast.And | ast.Or):
            joiner = " AND " if isinstance(node, ast.And) else " OR "
            parts = [self.predicate(node.lhs), self.predicate(node.rhs)]
            return sql.SQL("({})").format(sql.SQL(joiner).join(parts))
        if isinstance(node, ast.Not):
            return sql.SQL("(NOT {})").format(self.predicate(node.sub_node))
        if isinstance(node, ast.Include):
            return sql.SQL("FALSE" if node.not_ else "TRUE")
        operator = _COMPARISONS.get(type(node)) or _TEMPORAL.get(type(node))
        if operator is not None:
            return self.compare(node.lhs, node.rhs, operator)
        if isinstance(node, ast.Between):
            lhs = self.scalar(node.lhs)
            low, high = self.scalar(node.low), self.scalar(node.high)
            self._same_kind(lhs, low, high)
            return sql.SQL("({} {}BETWEEN {} AND {})").format(
                lhs.sql, sql.SQL("NOT " if node.not_ else ""), low.sql, high.sql
            )
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.In):
            lhs = self.scalar(node.lhs)
            items = [self.scalar(item) for item in node.sub_nodes]
            if not items:
                raise _fail("cql_in")
            self._same_kind(lhs, *items)
            return sql.SQL("({} {}IN ({}))").format(
                lhs.sql,
                sql.SQL("NOT " if node.not_ else ""),
                sql.SQL(", ").join(i.sql for i in items),
            )
        if isinstance(node, ast.IsNull):
            lhs = self.scalar(node.lhs)
            return sql.SQL("({} IS {}NULL)").format(lhs.sql, sql.SQL("NOT " if node.not_ else ""))
        spatial = _SPATIAL.get(type(node))
        if spatial is not None:
            lhs, rhs = self.scalar(node.lhs), self.scalar(node.rhs)
            if lhs.kind != "geometry" or rhs.kind != "geometry":
                raise _fail("cql_spatial")
            return sql.SQL("{}({}, {})").format(sql.SQL(spatial), lhs.sql, rhs.sql)
        if isinstance(node, ast.TimeDuring):
            return self.during(node)
        raise _fail("cql_predicate", kind=type(node).__name__)

    def compare(self, left: Any, right: Any, operator: str) -> sql.Composable:
        lhs, rhs = self.scalar(left), self.scalar(right)
        self._same_kind(lhs, rhs)
        if lhs.kind in ("geometry", "list"):
            raise _fail("cql_compare")
        return sql.SQL("({} {} {})").format(lhs.sql, sql.SQL(operator), rhs.sql)

    def like(self, node: ast.Like) -> sql.Composable:
        lhs = self.scalar(node.lhs)
        pattern = self.scalar(node.pattern)
        self._same_kind(lhs, pattern)
        if lhs.kind != "text":
            raise _fail("cql_like")
        keyword = "ILIKE" if node.nocase else "LIKE"
        return sql.SQL("({} {}{} {})").format(
            lhs.sql, sql.SQL("NOT " if node.not_ else ""), sql.SQL(keyword), pattern.sql
        )

    def during(self, node: ast.TimeDuring) -> sql.Composable:
        lhs = self.scalar(node.lhs)
        interval = node.rhs
        if lhs.kind != "time" or not isinstance(interval, values.Interval):
            raise _fail("cql_during")
        parts: list[sql.Composable] = []
        if isinstance(interval.start, date):
            parts.append(sql.SQL("{} > {}").format(lhs.sql, self.param(interval.start, "time").sql))
        if isinstance(interval.end, date):
            parts.append(sql.SQL("{} < {}").format(lhs.sql, self.param(interval.end, "time").sql))
        if not parts:
            return sql.SQL("({} IS NOT NULL)").format(lhs.sql)
        return sql.SQL("({})").format(sql.SQL(" AND ").join(parts))

    @staticmethod
    def _same_kind(*exprs: _Expr) -> None:
        kinds = {e.kind for e in exprs}
        if len(kinds) > 1:
            raise _fail("cql_types", kinds=", ".join(sorted(kinds)))


def _normalise_json(node: Any) -> Any:
    """Rewrite standard cql2-json forms that pygeofilter 0.4 reads differently."""
    if isinstance(node, list):
        return [_normalise_json(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "bbox" in node and isinstance(node["bbox"], list):
        return {"function": {"name": "bbox", "arguments": node["bbox"]}}
    node = {key: _normalise_json(value) for key, value in node.items()}
    op = str(node.get("op", "")).lower()
    args = node.get("args")
    if op == "between" and isinstance(args, list) and len(args) == 3:
        node["args"] = [args[0], [args[1], args[2]]]
    if op == "bbox":
        return {"function": {"name": "bbox", "arguments": args}}
    if op == "accenti":
        return {"function": {"name": "accenti", "arguments": args}}
    return node


@lru_cache(maxsize=256)
def _parse(text: str, lang: str) -> Any:
    """The syntax tree of a filter (kept: lark takes ~0.5 ms to parse a two-term filter, and
    map clients repeat theirs page after page; the compiler only reads the trees)."""
    if lang == "cql2-json":
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise _fail("cql_json") from exc
        return parse_json(_normalise_json(document))
    return parse_text(text)


def compile_filter(
    text: str,
    lang: str | None,
    fields: Sequence[FieldSpec],
    filter_crs: OutputCrs,
) -> tuple[sql.Composable, list[Any]]:
    """SQL (with its parameters) for a CQL2 ``filter`` over ``fields`` (the public ones)."""
    chosen = lang or ("cql2-json" if text.lstrip().startswith("{") else "cql2-text")
    if chosen == "cql-text":  # the pre-standard name GDAL 3.6 sends
        chosen = "cql2-text"
    if chosen not in FILTER_LANGS:
        raise InvalidParameter("filter-lang", message("use_cql2"))
    try:
        tree = _parse(text, chosen)
    except InvalidParameter:
        raise
    except RecursionError as exc:  # nested past Python's stack (the parsers recurse)
        raise _fail("cql_too_deep", depth=MAX_DEPTH) from exc
    except Exception as exc:  # the parsers raise many kinds for malformed input
        raise _fail("cql_malformed", language=chosen) from exc
    _check_depth(tree)
    compiler = _Compiler({f.name: f for f in fields}, filter_crs)
    try:
        clause = compiler.predicate(tree)
    except InvalidParameter:
        raise
    except (AttributeError, TypeError, ValueError) as exc:
        raise _fail("cql_malformed", language=chosen) from exc
    return clause, compiler.params
