"""The ``publication`` schema: withdrawals from the public, their audit log, and the checks.

A withdrawal takes a whole layer, one field of it, or its features that intersect an area
(polygons in lon/lat) away from the **public** audience; signed-in staff keep seeing them
(they need the real picture to act). The public views read ``publication.withdrawals`` with
the owner's rights (:func:`gisplatform.store.views.view_definition`), so a withdrawal holds
for every anonymous query from the moment it commits; the servers hide the layer or field
from their listings too (:mod:`gisplatform.access.publication.state`). Withdrawing and restoring
each run in one transaction that also records the event (who, when, why) and moves the
layer's revision, so tile caches and ETags of the public audience miss at once.

The same statements serve the CLI (sync, the owner's connection) and the server (async,
the API login through the schema's SECURITY DEFINER functions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import shapely
from psycopg import sql
from shapely.geometry import shape
from sqlalchemy import Connection

from gisplatform.errors import GisPlatformError
from gisplatform.i18n import message
from gisplatform.registry import ANONYMOUS, Audience, LayerRegistry
from gisplatform.store.database import driver_execute
from gisplatform.store.roles import ANALYSES_ROLE, API_ROLE

#: schema of the withdrawals, their log and the publication revision (owned by the owner)
PUBLICATION_SCHEMA = "publication"
#: functions the API login may call (withdraw and restore over HTTP, list for its listings)
API_FUNCTIONS = (
    "withdraw(text, text, geometry, text, text, text)",
    "restore(bigint, text, text, text)",
    "revision()",
    "listing()",
    "log(integer)",
)
#: functions the analyses login may call (a run checks what is withdrawn)
ANALYSES_FUNCTIONS = ("revision()", "listing()")
MAX_REASON = 1000
#: the widest area accepted, in vertices (a frontline strip, not a country's outline)
MAX_AREA_POINTS = 10_000


class PublicationError(GisPlatformError):
    """A withdrawal or restore that cannot be done (unknown layer or field, bad area, …)."""

    status_code = 400


def _fn(name: str) -> sql.Identifier:
    return sql.Identifier(PUBLICATION_SCHEMA, name)


def ensure_publication_schema(conn: Connection, history_schema: str, public_views: str) -> None:
    """Create the schema, its tables and functions (idempotent); grant the logins their calls.

    ``public_views`` is the schema of the public audience's views.
    """
    text = resources.files("gisplatform.sql").joinpath("publication.sql").read_text("utf-8")
    schema = sql.Identifier(PUBLICATION_SCHEMA)
    driver_execute(
        conn,
        sql.SQL(text).format(
            pub=schema,
            history=sql.Identifier(history_schema),
            public_views_text=sql.Literal(public_views),
        ),
    )
    for role, functions in ((API_ROLE, API_FUNCTIONS), (ANALYSES_ROLE, ANALYSES_FUNCTIONS)):
        target = sql.Identifier(role)
        driver_execute(conn, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, target))
        for signature in functions:
            driver_execute(
                conn,
                sql.SQL("GRANT EXECUTE ON FUNCTION {}." + signature + " TO {}").format(
                    schema, target
                ),
            )


def restore_barriers(conn: Connection) -> None:
    """Make the public views of layers with a withdrawn area security barriers again (after
    ``migrate`` recreated views)."""
    driver_execute(
        conn,
        sql.SQL(
            "SELECT {}(layer) FROM (SELECT DISTINCT layer FROM {} WHERE area IS NOT NULL) AS l"
        ).format(_fn("set_barrier"), sql.Identifier(PUBLICATION_SCHEMA, "withdrawals")),
    )


@dataclass(frozen=True)
class Withdrawal:
    """One withdrawal in force."""

    id: int
    layer: str
    field: str | None
    area: dict[str, Any] | None
    reason: str
    actor: str
    via: str
    withdrawn_at: datetime

    @property
    def scope(self) -> str:
        """``layer``, ``field`` or ``area``."""
        return "field" if self.field else "area" if self.area else "layer"

    def as_json(self) -> dict[str, Any]:
        """The withdrawal as the admin endpoint and ``publish status --json`` give it."""
        return {
            "id": self.id,
            "layer": self.layer,
            "field": self.field,
            "area": self.area,
            "scope": self.scope,
            "reason": self.reason,
            "actor": self.actor,
            "via": self.via,
            "withdrawnAt": self.withdrawn_at.isoformat(),
        }


@dataclass(frozen=True)
class Event:
    """One line of the audit log."""

    id: int
    at: datetime
    action: str
    withdrawal: int
    layer: str
    field: str | None
    area: dict[str, Any] | None
    reason: str | None
    actor: str
    via: str

    def as_json(self) -> dict[str, Any]:
        """The event as JSON."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "action": self.action,
            "withdrawal": self.withdrawal,
            "layer": self.layer,
            "field": self.field,
            "area": self.area,
            "reason": self.reason,
            "actor": self.actor,
            "via": self.via,
        }


LISTING = sql.SQL(
    "SELECT id, layer, field, ST_AsGeoJSON(area, 6)::json, reason, actor, via, withdrawn_at "
    "FROM {}()"
).format(_fn("listing"))
LOG = sql.SQL(
    "SELECT id, at, action, withdrawal, layer, field, ST_AsGeoJSON(area, 6)::json, reason, "
    "actor, via FROM {}(%s)"
).format(_fn("log"))
REVISION = sql.SQL("SELECT {}()").format(_fn("revision"))
WITHDRAW = sql.SQL("SELECT {}(%s, %s, ST_GeomFromWKB(%s, 4326), %s, %s, %s)").format(
    _fn("withdraw")
)
RESTORE = sql.SQL("SELECT layer, field FROM {}(%s, %s, %s, %s)").format(_fn("restore"))


def withdrawal_of(row: tuple[Any, ...]) -> Withdrawal:
    """A :data:`LISTING` row as a :class:`Withdrawal`."""
    return Withdrawal(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7])


def event_of(row: tuple[Any, ...]) -> Event:
    """A :data:`LOG` row as an :class:`Event`."""
    return Event(
        int(row[0]), row[1], row[2], int(row[3]), row[4], row[5], row[6], row[7], row[8], row[9]
    )


def public_reader(withdrawals: list[Withdrawal]) -> Audience:
    """The public audience with the withdrawn layers and fields taken away."""
    if not withdrawals:
        return ANONYMOUS
    return Audience(
        withdrawn=frozenset(w.layer for w in withdrawals if w.scope == "layer"),
        withdrawn_fields=frozenset((w.layer, w.field) for w in withdrawals if w.field),
    )


@dataclass(frozen=True)
class Target:
    """What to withdraw or restore, checked against the registry."""

    layer: str
    field: str | None = None
    #: WKB of a (multi)polygon in lon/lat
    area: bytes | None = None


def check_target(
    registry: LayerRegistry, layer: str, field: str | None = None, area: bytes | None = None
) -> Target:
    """``layer`` (and ``field``) must be public in the registry: only the public is withdrawn
    from. A field and an area together are refused (withdraw the field everywhere)."""
    spec = registry.get(layer) if layer in registry else None
    if spec is None or not spec.visible_to(ANONYMOUS):
        public = ", ".join(s.name for s in registry.list(ANONYMOUS))
        raise PublicationError(message("publish_unknown_layer", layer=layer, known=public))
    if field is not None:
        fields = [f.name for f in spec.fields_for(ANONYMOUS)]
        if field not in fields:
            raise PublicationError(
                message("publish_unknown_field", layer=layer, field=field, known=", ".join(fields))
            )
        if area is not None:
            raise PublicationError(message("publish_field_and_area"))
    return Target(layer, field, area)


def check_reason(reason: str | None) -> str:
    """The reason, trimmed; an error when it is empty or too long."""
    text = (reason or "").strip()
    if not text:
        raise PublicationError(message("publish_reason_needed"))
    if len(text) > MAX_REASON:
        raise PublicationError(message("publish_reason_too_long", maximum=MAX_REASON))
    return text


def parse_area(value: str | dict[str, Any]) -> bytes:
    """A polygon area as WKB: WKT, a GeoJSON geometry, Feature or FeatureCollection (lon/lat),
    given as text, a parsed object or the path of a GeoJSON file."""
    geometry = _area_geometry(value)
    if geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise PublicationError(message("publish_area_not_polygon", kind=geometry.geom_type))
    if shapely.get_num_coordinates(geometry) > MAX_AREA_POINTS:
        raise PublicationError(message("publish_area_too_large", maximum=MAX_AREA_POINTS))
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise PublicationError(message("publish_area_not_lonlat"))
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
        polygons = [
            g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type.endswith("Polygon")
        ]
        geometry = shapely.union_all(polygons)
    wkb: bytes = shapely.to_wkb(geometry)
    return wkb


def _area_geometry(given: str | dict[str, Any]) -> Any:
    value: Any = given
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith(("{", "[")) and not text[:12].upper().startswith(
            ("POLYGON", "MULTIPOLYGON", "POINT", "LINESTRING", "GEOMETRY", "MULTI")
        ):
            path = Path(text).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise PublicationError(
                    message("publish_area_unreadable", value=value[:80], reason=exc.strerror)
                ) from None
        if not text.lstrip().startswith(("{", "[")):
            try:
                return shapely.from_wkt(text)
            except shapely.errors.ShapelyError:
                raise PublicationError(message("publish_area_unreadable_wkt")) from None
        try:
            value = json.loads(text)
        except ValueError:
            raise PublicationError(message("publish_area_unreadable_geojson")) from None
    try:
        if value.get("type") == "FeatureCollection":
            parts = [shape(f["geometry"]) for f in value.get("features", [])]
            return shapely.union_all(parts) if parts else shapely.Polygon()
        if value.get("type") == "Feature":
            return shape(value["geometry"])
        return shape(value)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.ShapelyError):
        raise PublicationError(message("publish_area_unreadable_geojson")) from None


class Publication:
    """Withdraw, restore and list on a sync connection (the owner's, as the CLI uses)."""

    def __init__(self, conn: psycopg.Connection[Any], registry: LayerRegistry) -> None:
        self.conn = conn
        self.registry = registry

    def withdraw(self, target: Target, reason: str, actor: str, via: str = "cli") -> int:
        """Withdraw ``target`` from the public; its id. Commits nothing itself."""
        params = [target.layer, target.field, target.area, check_reason(reason), actor, via]
        try:
            with self.conn.transaction():
                row = self.conn.execute(WITHDRAW, params).fetchone()
        except psycopg.errors.UniqueViolation:
            raise PublicationError(already_withdrawn(target)) from None
        assert row is not None
        return int(row[0])

    def listing(self) -> list[Withdrawal]:
        """The withdrawals in force, oldest first."""
        return [withdrawal_of(r) for r in self.conn.execute(LISTING).fetchall()]

    def log(self, limit: int = 100) -> list[Event]:
        """The latest events of the audit log, newest first."""
        return [event_of(r) for r in self.conn.execute(LOG, [limit]).fetchall()]

    def matching(self, target: Target) -> list[Withdrawal]:
        """The withdrawals in force that ``target`` names (an area: the equal one)."""
        found = []
        for w in self.listing():
            if w.layer != target.layer or w.field != target.field:
                continue
            if (w.area is None) != (target.area is None):
                continue
            if target.area is not None and not _same_area(w.area, target.area):
                continue
            found.append(w)
        return found

    def restore(
        self, ids: list[int], actor: str, reason: str | None = None, via: str = "cli"
    ) -> int:
        """Restore the withdrawals ``ids`` in one transaction; how many were in force."""
        done = 0
        with self.conn.transaction():
            for ident in ids:
                done += len(self.conn.execute(RESTORE, [ident, reason, actor, via]).fetchall())
        return done


def _same_area(area: dict[str, Any] | None, wkb: bytes) -> bool:
    if area is None:
        return False
    return bool(shape(area).equals_exact(shapely.from_wkb(wkb), tolerance=1e-6)) or bool(
        shape(area).equals(shapely.from_wkb(wkb))
    )


def already_withdrawn(target: Target) -> Any:
    """The message for a layer or field withdrawn twice."""
    if target.field:
        return message("publish_field_already", layer=target.layer, field=target.field)
    return message("publish_layer_already", layer=target.layer)
