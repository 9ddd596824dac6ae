"""The layer specification: one frozen pydantic model per layer definition file.

Everything else (tables, validation, API metadata, map styling) is derived from
these models, so every rule that keeps a definition usable lives here.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

IDENTIFIER_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
ENUM_VALUE_PATTERN = r"^[a-z0-9_]{1,63}$"
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"

#: Columns every layer table has; a field may not take these names.
SYSTEM_COLUMNS = ("fid", "geom", "is_demo", "created_at", "updated_at", "version")
#: SQL words that make awkward column names even when quoted.
RESERVED_WORDS = frozenset(
    {
        "all",
        "and",
        "as",
        "case",
        "check",
        "column",
        "constraint",
        "create",
        "default",
        "distinct",
        "do",
        "else",
        "end",
        "false",
        "for",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "into",
        "is",
        "limit",
        "not",
        "null",
        "offset",
        "on",
        "or",
        "order",
        "select",
        "table",
        "then",
        "to",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "when",
        "where",
        "with",
    }
)

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Access(StrEnum):
    """Who may see a layer or a field, from the most open to the most closed."""

    PUBLIC = "public"
    STAFF = "staff"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        """Order of openness: 0 = public, 2 = restricted."""
        return _ACCESS_RANK[self]


_ACCESS_RANK = {access: rank for rank, access in enumerate(Access)}


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a request is served to: anonymous, or a signed-in staff member with named roles.

    Public items are read by everyone, staff items by every signed-in person, restricted ones
    by those holding one of the roles the registry names for them. An :class:`Access` level
    still works where an audience is expected (``Access.RESTRICTED``: everything).
    """

    signed_in: bool = False
    roles: frozenset[str] = frozenset()
    login: str | None = None
    #: layers the publication kill switch withdrew from this audience (the public only)
    withdrawn: frozenset[str] = frozenset()
    #: ``(layer, field)`` pairs withdrawn from this audience
    withdrawn_fields: frozenset[tuple[str, str]] = frozenset()

    def reads(self, access: Access, roles: Collection[str]) -> bool:
        """True when this audience may read an item of ``access`` open to ``roles``."""
        if access is Access.PUBLIC:
            return True
        if not self.signed_in:
            return False
        return access is Access.STAFF or not self.roles.isdisjoint(roles)

    @property
    def is_anonymous(self) -> bool:
        """True for the public."""
        return not self.signed_in


#: the public, as every anonymous request is served
ANONYMOUS = Audience()
Reader = Access | Audience


def _reads(reader: Reader, access: Access, roles: Collection[str]) -> bool:
    if isinstance(reader, Access):
        return access.rank <= reader.rank
    return reader.reads(access, roles)


class GeometryType(StrEnum):
    """OGC simple-feature geometry types a layer may hold."""

    POINT = "Point"
    MULTIPOINT = "MultiPoint"
    LINESTRING = "LineString"
    MULTILINESTRING = "MultiLineString"
    POLYGON = "Polygon"
    MULTIPOLYGON = "MultiPolygon"

    @property
    def is_multi(self) -> bool:
        """True for the Multi* types."""
        return self.value.startswith("Multi")

    @property
    def family(self) -> Literal["point", "line", "polygon"]:
        """Point, line or polygon, whatever the multiplicity."""
        base = self.value.removeprefix("Multi")
        return {"Point": "point", "LineString": "line", "Polygon": "polygon"}[base]  # type: ignore[return-value]


class FieldType(StrEnum):
    """Attribute types; each maps to one PostgreSQL type."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    STRING_LIST = "string_list"

    @property
    def is_numeric(self) -> bool:
        """True for integer and number."""
        return self in (FieldType.INTEGER, FieldType.NUMBER)


class UpdateFrequency(StrEnum):
    """How often a layer is maintained (ISO 19115 MD_MaintenanceFrequencyCode subset)."""

    CONTINUAL = "continual"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUALLY = "annually"
    AS_NEEDED = "as_needed"
    IRREGULAR = "irregular"


class Localized(_Frozen):
    """A text in Ukrainian (first) and English."""

    uk: NonEmpty
    en: NonEmpty

    def get(self, lang: str) -> str:
        """The text in ``lang`` ("uk" or "en"), Ukrainian for anything else."""
        return self.en if lang == "en" else self.uk


class LocalizedList(_Frozen):
    """A list of words in Ukrainian and English (e.g. keywords)."""

    uk: list[NonEmpty] = Field(default_factory=list)
    en: list[NonEmpty] = Field(default_factory=list)


class EnumValue(_Frozen):
    """One allowed value of an enum field, with its labels and map colour."""

    value: Annotated[str, StringConstraints(pattern=ENUM_VALUE_PATTERN)]
    uk: NonEmpty
    en: NonEmpty
    color: Annotated[str, StringConstraints(pattern=COLOR_PATTERN)] | None = None

    def label(self, lang: str) -> str:
        """The label in ``lang``, Ukrainian by default."""
        return self.en if lang == "en" else self.uk


class TextFormat(StrEnum):
    """What a text field holds, beyond free text."""

    OPENING_HOURS = "opening_hours"  # OpenStreetMap opening_hours syntax, e.g. Mo-Fr 08:00-17:00


class IndexKind(StrEnum):
    """How a field is indexed for the filters that use it."""

    BTREE = "btree"  # equality, ranges, sorting
    LOWER = "lower"  # btree on lower(field): case-insensitive filters (CQL2 CASEI); strings


class IndexSpec(_Frozen):
    """An index the database keeps on one field (migrate creates and drops it)."""

    kind: IndexKind = IndexKind.BTREE
    only_set: bool = Field(
        default=False,
        description="a partial index of the rows where the field has a value (sparse fields)",
    )


class FieldSpec(_Frozen):
    """One attribute of a layer."""

    name: Identifier
    type: FieldType
    title: Localized
    description: Localized | None = None
    required: bool = False
    access: Access | None = Field(
        default=None, description="visibility of this field; defaults to the layer's access"
    )
    values: tuple[EnumValue, ...] = Field(default=(), description="allowed values (enum only)")
    default: str | int | float | bool | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = Field(default=None, gt=0)
    pattern: str | None = Field(default=None, description="regular expression (strings only)")
    unit: str | None = Field(default=None, description="unit of measure, e.g. m, m2, W, persons")
    aliases: tuple[NonEmpty, ...] = Field(
        default=(), description="other column names accepted on import (e.g. Ukrainian headers)"
    )
    format: TextFormat | None = Field(
        default=None,
        description="what a text holds, so pages show it readably (opening_hours: OSM syntax)",
    )
    public_mask: tuple[str, ...] = Field(
        default=(),
        description="enum values shown empty to the public because they reveal a restricted "
        "layer (e.g. the footprints of utility sites)",
    )
    roles: tuple[Identifier, ...] = Field(
        default=(),
        description="roles (layers/_roles.yaml) that may read this restricted field; "
        "defaults to the layer's roles",
    )
    index: IndexKind | IndexSpec | None = Field(
        default=None,
        description="an index for commonly filtered fields: 'btree', 'lower' (case-insensitive, "
        "strings) or {kind, only_set}",
    )

    @property
    def index_spec(self) -> IndexSpec | None:
        """The declared index in its long form (None when the field has none)."""
        if isinstance(self.index, IndexKind):
            return IndexSpec(kind=self.index)
        return self.index

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        index = self.index_spec
        text = self.type in (FieldType.STRING, FieldType.ENUM)
        if index is not None and index.kind is IndexKind.LOWER and not text:
            raise ValueError("index 'lower' is only allowed on string and enum fields")
        if self.roles and self.access not in (None, Access.RESTRICTED):
            raise ValueError("'roles' is only allowed on a restricted field")
        if self.name in SYSTEM_COLUMNS:
            raise ValueError(f"'{self.name}' is a system column name and cannot be a field")
        if self.name in RESERVED_WORDS:
            raise ValueError(f"'{self.name}' is an SQL reserved word")
        if self.type is FieldType.ENUM:
            if not self.values:
                raise ValueError("an enum field needs a non-empty 'values' list")
            seen: set[str] = set()
            for value in self.values:
                if value.value in seen:
                    raise ValueError(f"enum value '{value.value}' is listed twice")
                seen.add(value.value)
            if self.default is not None and self.default not in seen:
                raise ValueError(
                    f"default '{self.default}' is not one of the enum values {sorted(seen)}"
                )
            unknown = sorted(set(self.public_mask) - seen)
            if unknown:
                raise ValueError(f"public_mask names unknown enum values {unknown}")
        elif self.values:
            raise ValueError("'values' is only allowed on enum fields")
        elif self.public_mask:
            raise ValueError("'public_mask' is only allowed on enum fields")
        if self.format is not None and self.type is not FieldType.STRING:
            raise ValueError("'format' is only allowed on string fields")
        if (self.minimum is not None or self.maximum is not None) and not self.type.is_numeric:
            raise ValueError("'minimum'/'maximum' are only allowed on integer and number fields")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} is greater than maximum {self.maximum}")
        if (self.max_length is not None or self.pattern is not None) and self.type not in (
            FieldType.STRING,
            FieldType.STRING_LIST,
        ):
            raise ValueError("'max_length'/'pattern' are only allowed on string fields")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        if self.default is not None and self.type is not FieldType.ENUM:
            _check_default_type(self.type, self.default)
        return self

    def enum_value(self, value: str) -> EnumValue | None:
        """The enum entry whose value, Ukrainian or English label matches ``value``."""
        folded = value.strip().casefold()
        for entry in self.values:
            if folded in (entry.value, entry.uk.casefold(), entry.en.casefold()):
                return entry
        return None


def _check_default_type(field_type: FieldType, default: object) -> None:
    ok = {
        FieldType.STRING: isinstance(default, str),
        FieldType.INTEGER: isinstance(default, int) and not isinstance(default, bool),
        FieldType.NUMBER: isinstance(default, int | float) and not isinstance(default, bool),
        FieldType.BOOLEAN: isinstance(default, bool),
        FieldType.DATE: isinstance(default, str) and _parses(date.fromisoformat, default),
        FieldType.DATETIME: isinstance(default, str) and _parses(datetime.fromisoformat, default),
        FieldType.STRING_LIST: False,
    }[field_type]
    if not ok:
        raise ValueError(f"default {default!r} does not fit type '{field_type.value}'")


def _parses(parser: Any, text: str) -> bool:
    try:
        parser(text)
    except ValueError:
        return False
    return True


#: the licence of layers that are "службова інформація" (internal, never openly licensed)
INTERNAL_LICENCE = "internal"
_LICENCE_LABELS = {
    INTERNAL_LICENCE: Localized(uk="службова інформація", en="internal information"),
}

Scalar = str | int | float | bool


class RuleCondition(_Frozen):
    """A condition on one field: its value is one of ``values`` and/or at least ``minimum``.

    An empty (null) value never fulfils a ``when`` condition and never breaks a ``then`` one:
    a rule speaks only of what is known.
    """

    field: Identifier
    values: tuple[Scalar, ...] | None = None
    minimum: float | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.values is None and self.minimum is None:
            raise ValueError(f"condition on '{self.field}' needs 'values' or 'minimum'")
        return self

    def holds(self, value: object) -> bool:
        """True when a present ``value`` meets the condition."""
        if self.values is not None and value not in self.values:
            return False
        return not (self.minimum is not None and not _at_least(value, self.minimum))


def _at_least(value: object, minimum: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= minimum


class Severity(StrEnum):
    """What breaking a rule does: refuse the row, or accept it with a warning."""

    ERROR = "error"
    WARNING = "warning"


class FieldRule(_Frozen):
    """A cross-field rule: when every ``when`` condition holds, every ``then`` one must."""

    name: Identifier
    when: tuple[RuleCondition, ...] = Field(min_length=1)
    then: tuple[RuleCondition, ...] = Field(min_length=1)
    severity: Severity = Severity.ERROR
    message: Localized = Field(description="why, e.g. the regulation the rule comes from")

    def broken_by(self, row: dict[str, object]) -> list[str]:
        """The ``then`` fields that ``row`` breaks (empty when the rule holds or does not apply)."""
        for condition in self.when:
            value = row.get(condition.field)
            if value is None or not condition.holds(value):
                return []
        return [
            c.field
            for c in self.then
            if row.get(c.field) is not None and not c.holds(row.get(c.field))
        ]


class LayerStyle(_Frozen):
    """How the web map draws a layer (Leaflet path options plus categories)."""

    color: Annotated[str, StringConstraints(pattern=COLOR_PATTERN)] = "#3388ff"
    fill_color: Annotated[str, StringConstraints(pattern=COLOR_PATTERN)] | None = None
    fill_opacity: float = Field(default=0.4, ge=0, le=1)
    opacity: float = Field(default=1.0, ge=0, le=1)
    weight: float = Field(default=2, ge=0, le=20)
    radius: float = Field(default=5, gt=0, le=30, description="point marker radius in pixels")
    dash_array: str | None = None
    categorize_by: Identifier | None = Field(
        default=None, description="an enum field whose value colours pick the colour"
    )
    label_field: Identifier | None = Field(default=None, description="field shown as the label")


EnumCode = Annotated[str, StringConstraints(pattern=ENUM_VALUE_PATTERN)]


class NearestSpec(_Frozen):
    """The web map's nearest-facility tool on this layer (e.g. "Найближче укриття").

    ``defaults`` is the safe set: the only enum values the map ever asks for. The tool's
    filters can narrow it (one value of ``filters``), never widen it.
    """

    defaults: dict[Identifier, tuple[EnumCode, ...]] = Field(
        default_factory=dict,
        description="enum field -> the only values the tool asks for (the safe default)",
    )
    filters: tuple[Identifier, ...] = Field(
        default=(), description="enum fields the tool's filter offers (narrowing only)"
    )
    show: tuple[Identifier, ...] = Field(
        default=(), description="fields listed under each result, in this order"
    )


class MapSpec(_Frozen):
    """How the web map uses a layer."""

    tiled: bool = Field(default=False, description="drawn from the vector tileset (large layers)")
    visible: bool = Field(default=False, description="switched on when the map opens")
    search: tuple[Identifier, ...] = Field(
        default=(), description="text fields the map's search box looks in"
    )
    goto: Localized | None = Field(
        default=None, description="title of this layer's group in the map's 'go to' list"
    )
    nearest: NearestSpec | None = Field(
        default=None, description="this layer is the one of the nearest-facility tool"
    )

    def check(self, by_name: dict[str, FieldSpec]) -> None:
        """Raise ``ValueError`` unless every field named here exists with a fitting type."""

        def need(group: str, names: tuple[str, ...], *types: FieldType) -> None:
            for name in names:
                if name not in by_name:
                    raise ValueError(f"map.{group} names unknown field '{name}'")
                if types and by_name[name].type not in types:
                    kinds = "/".join(t.value for t in types)
                    raise ValueError(f"map.{group} field '{name}' is not {kinds}")

        text = (FieldType.STRING, FieldType.STRING_LIST)
        need("search", self.search, *text)
        if self.nearest is None:
            return
        need("nearest.defaults", tuple(self.nearest.defaults), FieldType.ENUM)
        need("nearest.filters", self.nearest.filters, FieldType.ENUM)
        need("nearest.show", self.nearest.show)
        for name, codes in self.nearest.defaults.items():
            known = {v.value for v in by_name[name].values}
            unknown = sorted(set(codes) - known)
            if unknown or not codes:
                raise ValueError(
                    f"map.nearest.defaults.{name}: {unknown or 'an empty list'} is not among "
                    f"the values {sorted(known)}"
                )


class InspectionSpec(_Frozen):
    """Which fields say when a feature was last checked on site (staff data-quality view)."""

    date_field: Identifier = Field(description="date field: the last inspection on site")
    verified_field: Identifier | None = Field(
        default=None, description="boolean field: the feature was verified on site at all"
    )


class LayerSpec(_Frozen):
    """A municipal layer: its table, its fields, who may see it and how it looks."""

    name: Identifier
    title: Localized
    description: Localized
    theme: Identifier = Field(description="group in the layer panel, e.g. safety, transport")
    geometry: GeometryType
    access: Access
    fields: tuple[FieldSpec, ...] = Field(min_length=1)
    natural_key: tuple[Identifier, ...] = Field(min_length=1)
    temporal_field: Identifier | None = None
    style: LayerStyle = Field(default_factory=LayerStyle)
    min_zoom: int = Field(default=0, ge=0, le=24)
    max_zoom: int = Field(default=22, ge=0, le=24)
    map: MapSpec = Field(default_factory=MapSpec, description="how the web map uses the layer")
    keywords: LocalizedList = Field(default_factory=LocalizedList)
    licence: NonEmpty
    attribution: NonEmpty | None = None
    owner: Localized = Field(description="the department that keeps the layer")
    update_frequency: UpdateFrequency
    rules: tuple[FieldRule, ...] = Field(
        default=(), description="cross-field rules checked on import and edit"
    )
    roles: tuple[Identifier, ...] = Field(
        default=(),
        description="roles (layers/_roles.yaml) that may read a restricted layer; "
        "staff without one of them do not learn that it exists",
    )
    sensitive: bool = Field(
        default=False,
        description="wartime-sensitive public data (e.g. shelters): browsers and proxies keep "
        "its public responses for at most 30 s and revalidate them, so a withdrawal by the "
        "publication kill switch reaches every reader within a minute",
    )
    write_roles: tuple[Identifier, ...] = Field(
        default=(),
        description="roles (layers/_roles.yaml) that may create, change and delete features "
        "through the API (OGC API Features Part 4); each writes the fields its role reads",
    )

    inspection: InspectionSpec | None = Field(
        default=None,
        description="the fields of on-site inspection (listed by the staff data-quality view)",
    )

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate field names: {', '.join(duplicates)}")
        by_name = {f.name: f for f in self.fields}
        for key in self.natural_key:
            if key not in by_name:
                raise ValueError(f"natural_key names unknown field '{key}'")
            if not by_name[key].required:
                raise ValueError(f"natural_key field '{key}' must be required")
        if self.temporal_field is not None:
            temporal = by_name.get(self.temporal_field)
            if temporal is None:
                raise ValueError(f"temporal_field names unknown field '{self.temporal_field}'")
            if temporal.type not in (FieldType.DATE, FieldType.DATETIME):
                raise ValueError(f"temporal_field '{self.temporal_field}' is not a date/datetime")
        for field in self.fields:
            if field.access is not None and field.access.rank < self.access.rank:
                raise ValueError(
                    f"field '{field.name}' is '{field.access}' but the layer is "
                    f"'{self.access}': a field cannot be more open than its layer"
                )
        self._check_roles()
        category = self.style.categorize_by
        if category is not None and (
            category not in by_name or by_name[category].type is not FieldType.ENUM
        ):
            raise ValueError(f"style.categorize_by '{category}' is not an enum field")
        label = self.style.label_field
        if label is not None and label not in by_name:
            raise ValueError(f"style.label_field '{label}' is not a field")
        for rule in self.rules:
            for condition in (*rule.when, *rule.then):
                if condition.field not in by_name:
                    raise ValueError(f"rule '{rule.name}' names unknown field '{condition.field}'")
        if self.min_zoom > self.max_zoom:
            raise ValueError(f"min_zoom {self.min_zoom} is greater than max_zoom {self.max_zoom}")
        self.map.check(by_name)
        self._check_inspection(by_name)
        return self

    def _check_inspection(self, by_name: dict[str, FieldSpec]) -> None:
        if self.inspection is None:
            return
        wanted = [(self.inspection.date_field, FieldType.DATE, "date_field")]
        if self.inspection.verified_field is not None:
            wanted.append((self.inspection.verified_field, FieldType.BOOLEAN, "verified_field"))
        for name, kind, key in wanted:
            if name not in by_name or by_name[name].type is not kind:
                raise ValueError(f"inspection.{key} '{name}' is not a {kind.value} field")

    def _check_roles(self) -> None:
        restricted = self.access is Access.RESTRICTED
        if self.roles and not restricted:
            raise ValueError("'roles' is only allowed on a restricted layer")
        if restricted and not self.roles:
            raise ValueError("a restricted layer names the 'roles' that may read it")
        if len(set(self.write_roles)) != len(self.write_roles):
            raise ValueError("'write_roles' lists a role twice")
        blind = sorted(set(self.write_roles) - set(self.roles)) if restricted else []
        if blind:
            raise ValueError(f"'write_roles' {blind} may not read the layer they would write")
        for field in self.fields:
            if self.field_access(field) is not Access.RESTRICTED:
                if field.roles:
                    raise ValueError(f"'roles' of field '{field.name}': it is not restricted")
                continue
            if not restricted and not field.roles:
                raise ValueError(f"restricted field '{field.name}' names no 'roles'")
            outside = sorted(set(field.roles) - set(self.roles)) if restricted else []
            if outside:
                raise ValueError(
                    f"field '{field.name}' is open to {outside}, who may not read the layer"
                )

    @property
    def role_names(self) -> frozenset[str]:
        """Every role the layer or one of its fields names."""
        return frozenset(self.roles).union(self.write_roles, *(f.roles for f in self.fields))

    def field_roles(self, field: FieldSpec) -> tuple[str, ...]:
        """The roles that may read ``field`` when it is restricted."""
        return field.roles or self.roles

    @property
    def is_openly_licensed(self) -> bool:
        """False for internal information (no open licence to link)."""
        return self.licence != INTERNAL_LICENCE

    def licence_label(self, lang: str) -> str:
        """The licence as people read it, e.g. ``CC-BY-4.0`` or ``службова інформація``."""
        label = _LICENCE_LABELS.get(self.licence)
        return label.get(lang) if label else self.licence

    def field(self, name: str) -> FieldSpec:
        """The field called ``name`` (KeyError if there is none)."""
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)

    def field_access(self, field: FieldSpec) -> Access:
        """The access level that applies to ``field``."""
        return field.access or self.access

    def fields_for(self, audience: Reader) -> tuple[FieldSpec, ...]:
        """Fields ``audience`` (or an audience of that level) may see, less withdrawn ones."""
        withdrawn = audience.withdrawn_fields if isinstance(audience, Audience) else frozenset()
        return tuple(
            f
            for f in self.fields
            if _reads(audience, self.field_access(f), self.field_roles(f))
            and (self.name, f.name) not in withdrawn
        )

    def visible_to(self, audience: Reader) -> bool:
        """True when ``audience`` (or an audience of that level) may know the layer exists.

        A layer the publication kill switch withdrew from ``audience`` is hidden like one it
        may not read.
        """
        if isinstance(audience, Audience) and self.name in audience.withdrawn:
            return False
        return _reads(audience, self.access, self.roles)
