"""SQLAlchemy tables generated from the layer registry.

Every constraint the database enforces (geometry type and SRID, validity,
enums, ranges, lengths, patterns, the natural key) is derived here from the
layer spec. Constraint names carry a short hash of their definition, so a
changed rule gets a new name and migrate can tell what changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    Identity,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from gisplatform.registry import FieldSpec, FieldType, IndexKind, LayerRegistry, LayerSpec

STORAGE_SRID = 4326

_COLUMN_TYPES: dict[FieldType, Any] = {
    FieldType.STRING: Text,
    FieldType.INTEGER: Integer,
    FieldType.NUMBER: Double,
    FieldType.BOOLEAN: Boolean,
    FieldType.DATE: Date,
    FieldType.DATETIME: DateTime(timezone=True),
    FieldType.ENUM: Text,
    FieldType.STRING_LIST: ARRAY(Text),
}


@dataclass(frozen=True)
class NamedCheck:
    """A CHECK constraint with a name that changes whenever its expression does."""

    name: str
    expression: str


def _literal(value: str) -> str:
    """An SQL string literal for a value that comes from a validated layer spec."""
    return "'" + value.replace("'", "''") + "'"


def _constraint_name(table: str, purpose: str, expression: str) -> str:
    digest = hashlib.sha1(expression.encode()).hexdigest()[:8]
    return f"ck_{table[:30]}_{purpose[:20]}_{digest}"


def field_checks(spec: LayerSpec, field: FieldSpec) -> list[NamedCheck]:
    """The CHECK constraints that enforce one field's rules."""
    column = f'"{field.name}"'
    expressions: list[tuple[str, str]] = []
    if field.type is FieldType.ENUM:
        allowed = ", ".join(_literal(v.value) for v in field.values)
        expressions.append(("enum", f"{column} IN ({allowed})"))
    if field.minimum is not None:
        expressions.append(("min", f"{column} >= {field.minimum!r}"))
    if field.maximum is not None:
        expressions.append(("max", f"{column} <= {field.maximum!r}"))
    if field.max_length is not None and field.type is FieldType.STRING:
        expressions.append(("len", f"char_length({column}) <= {field.max_length}"))
    if field.pattern is not None and field.type is FieldType.STRING:
        expressions.append(("pattern", f"{column} ~ {_literal(field.pattern)}"))
    return [
        NamedCheck(_constraint_name(spec.name, f"{field.name}_{purpose}", expr), expr)
        for purpose, expr in expressions
    ]


def geometry_check(spec: LayerSpec) -> NamedCheck:
    """Geometries must be valid and non-empty."""
    expr = "ST_IsValid(geom) AND NOT ST_IsEmpty(geom)"
    return NamedCheck(_constraint_name(spec.name, "geom_valid", expr), expr)


def layer_checks(spec: LayerSpec) -> list[NamedCheck]:
    """Every CHECK constraint of a layer table."""
    checks = [geometry_check(spec)]
    for field in spec.fields:
        checks.extend(field_checks(spec, field))
    return checks


@dataclass(frozen=True)
class NamedIndex:
    """An index a field declares; the name changes whenever its definition does."""

    name: str
    expression: str  # what is indexed, e.g. ``"status"`` or ``lower("street")``
    where: str  # a partial index's condition, or ""


def layer_indexes(spec: LayerSpec) -> list[NamedIndex]:
    """The indexes the fields of ``spec`` declare (``index:`` in the layer file)."""
    indexes = []
    for field in spec.fields:
        declared = field.index_spec
        if declared is None:
            continue
        column = f'"{field.name}"'
        expression = f"lower({column})" if declared.kind is IndexKind.LOWER else column
        where = f"{column} IS NOT NULL" if declared.only_set else ""
        digest = hashlib.sha1(f"{expression}|{where}".encode()).hexdigest()[:8]
        indexes.append(
            NamedIndex(f"ix_{spec.name[:30]}_{field.name[:20]}_{digest}", expression, where)
        )
    return indexes


def natural_key_name(spec: LayerSpec) -> str:
    """Name of the unique constraint on the natural key (hash of its columns)."""
    digest = hashlib.sha1(",".join(spec.natural_key).encode()).hexdigest()[:8]
    return f"uq_{spec.name[:40]}_key_{digest}"


def _field_column(field: FieldSpec) -> Column[object]:
    server_default = None
    if field.default is not None:
        if isinstance(field.default, bool):
            server_default = text("true" if field.default else "false")
        elif isinstance(field.default, int | float):
            server_default = text(repr(field.default))
        else:
            server_default = text(_literal(field.default))
    return Column(
        field.name,
        _COLUMN_TYPES[field.type],
        nullable=not field.required,
        server_default=server_default,
        comment=f"{field.title.uk} / {field.title.en}",
    )


def layer_table(spec: LayerSpec, metadata: MetaData, schema: str) -> Table:
    """The table that stores one layer."""
    columns: list[Column[object]] = [
        Column("fid", BigInteger, Identity(always=False), primary_key=True),
        *(_field_column(field) for field in spec.fields),
        Column(
            "geom",
            Geometry(
                geometry_type=spec.geometry.value.upper(), srid=STORAGE_SRID, spatial_index=True
            ),
            nullable=False,
        ),
        Column("is_demo", Boolean, nullable=False, server_default=text("false")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("version", Integer, nullable=False, server_default=text("1")),
    ]
    constraints: list[CheckConstraint | UniqueConstraint] = [
        CheckConstraint(c.expression, name=c.name) for c in layer_checks(spec)
    ]
    constraints.append(UniqueConstraint(*spec.natural_key, name=natural_key_name(spec)))
    return Table(
        spec.name,
        metadata,
        *columns,
        *constraints,
        schema=schema,
        comment=f"{spec.title.uk} / {spec.title.en}",
    )


def build_metadata(registry: LayerRegistry, schema: str) -> MetaData:
    """One SQLAlchemy MetaData holding a table per layer."""
    metadata = MetaData(schema=schema)
    for spec in registry:
        layer_table(spec, metadata, schema)
    return metadata
