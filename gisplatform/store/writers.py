"""Writer roles: the database's half of the registry's write rights.

Each registry role that writes a layer (:mod:`gisplatform.registry.writes`) has a NOLOGIN
role ``gisplatform_writer__<role>`` holding, per layer it writes, exactly:

- ``SELECT`` on ``fid``, ``version`` and the fields the role reads (to find the row, check
  its version and answer with it), ``INSERT`` and ``UPDATE`` on ``geom`` and those fields,
  ``DELETE`` on the rows;
- nothing on the history schema: the history and revision triggers run as their owner
  (``SECURITY DEFINER`` in ``sql/history.sql``), so a writer cannot forge or erase history.

The API login may ``SET ROLE`` to a writer role (member without inheriting, like the audience
roles) and does so for one transaction per write (``SET LOCAL ROLE``); it never reaches
``gis.*`` otherwise. ``migrate`` rebuilds every grant each time it runs, revoking first,
so a write right removed from a layer file is gone after the next migration.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from sqlalchemy import Connection

from gisplatform.registry import LayerRegistry
from gisplatform.registry.writes import layer_writers, writable_fields, writing_roles
from gisplatform.store.database import driver_execute

WRITER_PREFIX = "gisplatform_writer__"
_MAX_NAME = 63


def writer_db_role(role: str) -> str:
    """The database role that writes for registry role ``role``."""
    name = WRITER_PREFIX + role
    if len(name) > _MAX_NAME:
        raise ValueError(f"role name '{role}' is too long for a writer role")
    return name


def writer_db_roles(registry: LayerRegistry) -> list[str]:
    """Every writer role the registry needs (``migrate`` creates them with the others)."""
    return [writer_db_role(r) for r in writing_roles(registry)]


def _run(
    conn: Connection, query: sql.SQL | sql.Composed, params: Any = None
) -> list[tuple[Any, ...]]:
    cursor = driver_execute(conn, query, params)
    return cursor.fetchall() if cursor.description else []


def apply_write_grants(conn: Connection, registry: LayerRegistry, layer_schema: str) -> None:
    """Revoke every writer role's rights on the layers, then grant what the registry says."""
    schema = sql.Identifier(layer_schema)
    existing = _run(
        conn,
        sql.SQL("SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY rolname"),
        [WRITER_PREFIX.replace("_", r"\_") + "%"],
    )
    for (name,) in existing:
        role = sql.Identifier(name)
        _run(conn, sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, role))
        _run(conn, sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(schema, role))
    for registry_role in writing_roles(registry):
        role = sql.Identifier(writer_db_role(registry_role))
        _run(conn, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
        for spec in registry:
            if registry_role not in layer_writers(registry, spec):
                continue
            fields = [f.name for f in writable_fields(spec, registry_role)]
            table = sql.Identifier(layer_schema, spec.name)
            readable = sql.SQL(", ").join(map(sql.Identifier, ["fid", "version", "geom", *fields]))
            written = sql.SQL(", ").join(map(sql.Identifier, ["geom", *fields]))
            _run(
                conn,
                sql.SQL("GRANT SELECT ({r}) , INSERT ({w}), UPDATE ({w}) ON {t} TO {role}").format(
                    r=readable, w=written, t=table, role=role
                ),
            )
            _run(conn, sql.SQL("GRANT DELETE ON {} TO {}").format(table, role))
