"""Shared pieces of the editing tests: a database of their own, accounts, valid features.

Everything is derived from the registry: the layer written is found by what it has
(writers, an enum, a range, a pattern, a cross-field rule), valid values are made from
the field specs, and a field no writer reads exists in a variant of that layer whose
restricted field only ``admin`` reads (the project's layers have no such field today).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from gisplatform.registry import Access, FieldSpec, FieldType, LayerRegistry, LayerSpec
from gisplatform.registry.spec import Severity
from gisplatform.registry.writes import layer_writers, writable_fields
from gisplatform.store.accounts import Accounts
from gisplatform.store.migrate import migrate
from tests.conftest import _database_url, make_settings
from tests.live import live_server, platform_app

PASSWORD = "edit-" + base64.b16encode(os.urandom(6)).decode()
GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"


def basic(login: str) -> dict[str, str]:
    """The Authorization header of ``login`` (QGIS Basic authentication)."""
    pair = base64.b64encode(f"{login}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def _is_edit_layer(registry: LayerRegistry, spec: LayerSpec) -> bool:
    types = {f.type for f in spec.fields}
    return bool(
        layer_writers(registry, spec)
        and spec.geometry.family == "point"
        and FieldType.ENUM in types
        and any(f.maximum is not None for f in spec.fields)
        and any(f.pattern for f in spec.fields)
        and any(r.severity is Severity.ERROR for r in spec.rules)
    )


def edit_layer(registry: LayerRegistry) -> LayerSpec:
    """The first layer the tests can break every way: writers, enum, range, pattern, rule."""
    return next(spec for spec in registry if _is_edit_layer(registry, spec))


def with_unwritable_field(registry: LayerRegistry) -> LayerRegistry:
    """The registry with one field of the edit layer readable (so writable) by admin alone."""
    spec = edit_layer(registry)
    admin = next(r.name for r in registry.roles if r.writes_all)
    restricted = next(
        f for f in spec.fields if spec.field_access(f) is Access.RESTRICTED and not f.required
    )
    fields = tuple(
        f.model_copy(update={"roles": (admin,)}) if f.name == restricted.name else f
        for f in spec.fields
    )
    variant = LayerSpec.model_validate({**spec.model_dump(), "fields": fields})
    return registry.register([variant], overwrite=True)


def unwritable_field(registry: LayerRegistry, spec: LayerSpec, role: str) -> FieldSpec:
    """A field of ``spec`` that ``role`` writes the layer without being allowed to set."""
    allowed = {f.name for f in writable_fields(spec, role)}
    return next(f for f in spec.fields if f.name not in allowed)


def value_for(field: FieldSpec, n: int) -> Any:
    """A valid value of ``field`` (the n-th variant where the type has several)."""
    if field.type is FieldType.ENUM:
        return field.values[0].value
    if field.type in (FieldType.INTEGER, FieldType.NUMBER):
        low = field.minimum if field.minimum is not None else 0
        high = field.maximum if field.maximum is not None else low + 1000
        return int(min(low + 1 + n % 50, high))
    if field.type is FieldType.BOOLEAN:
        return False
    if field.type is FieldType.DATE:
        return "2026-01-15"
    if field.type is FieldType.DATETIME:
        return "2026-01-15T10:00:00+02:00"
    if field.type is FieldType.STRING_LIST:
        return ["a"]
    text = f"T{n}-{os.urandom(3).hex()}"
    return text[: field.max_length] if field.max_length else text


def valid_properties(spec: LayerSpec, n: int = 0) -> dict[str, Any]:
    """Required fields filled, then every error rule whose condition holds made to hold."""
    props = {f.name: value_for(f, n) for f in spec.fields if f.required and f.default is None}
    for rule in spec.rules:
        if all(props.get(c.field) is not None and c.holds(props[c.field]) for c in rule.when):
            for c in rule.then:
                props[c.field] = c.values[0] if c.values else c.minimum
    return props


def point_in(registry: LayerRegistry, n: int = 0) -> dict[str, Any]:
    """A GeoJSON point near the hromada's centre (lon/lat), a little apart for each n."""
    centre = registry.hromada.centre
    return {"type": "Point", "coordinates": [centre.lon + n * 1e-4, centre.lat + n * 1e-4]}


def feature(registry: LayerRegistry, spec: LayerSpec, n: int = 0) -> dict[str, Any]:
    """A valid GeoJSON Feature of ``spec``."""
    return {
        "type": "Feature",
        "geometry": point_in(registry, n),
        "properties": valid_properties(spec, n),
    }


def layer_md5(url: str, spec: LayerSpec) -> str:
    """A digest of every stored row of the layer (values, geometry and version)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT t::text FROM {} AS t ORDER BY fid").format(
                sql.Identifier("gis", spec.name)
            )
        ).fetchall()
    return hashlib.md5("\n".join(r[0] for r in rows).encode()).hexdigest()


def history(url: str, spec: LayerSpec, fid: int) -> list[tuple[str, str, list[str] | None]]:
    """(operation, changed_by, changed_fields) of ``fid``'s history entries, oldest first."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT operation, changed_by, changed_fields FROM history.feature_changes "
            "WHERE layer = %s AND fid = %s ORDER BY id",
            [spec.name, fid],
        ).fetchall()


@dataclass(frozen=True)
class EditSite:
    """A running server on a database of its own, with one account per role."""

    url: str
    db_url: str
    registry: LayerRegistry
    logins: dict[str, str]  # role (or "staff") -> login

    def headers(self, role: str) -> dict[str, str]:
        """Basic authentication of the account holding ``role`` alone."""
        return basic(self.logins[role])


@contextmanager
def edit_site(
    server_url: str, registry: LayerRegistry, name: str, http: str = "auto"
) -> Iterator[EditSite]:
    """Database ``name`` migrated for ``registry``, accounts made, the app served (by
    uvicorn's ``http`` implementation)."""
    url = _database_url(server_url, name)
    migrate(url, registry, make_settings(url))
    logins = {"staff": f"{name}-staff"} | {r.name: f"{name}-{r.name}" for r in registry.roles}
    with psycopg.connect(url) as conn:
        accounts = Accounts(conn, registry.role_names)
        for role, login in logins.items():
            accounts.add(login, [] if role == "staff" else [role], PASSWORD)
        conn.commit()
    with live_server(platform_app(url, registry), http=http) as base:
        yield EditSite(base, url, registry, logins)
