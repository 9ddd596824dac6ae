"""Runs for an audience: the registry checked on every run, its views, its read-only role.

A run first checks that every layer it reads is visible to the audience (else
:class:`LayerUnavailable`, answered 404 naming the layer). Then, still as the analyses'
own role, it prepares what the read-only role can neither build nor read: the walking graph
(tables in ``analysis``, readable by the role) and, when the audience may not see
``buildings.population``, a session-private table of building weights that only feeds
aggregates (published under :mod:`gisplatform.analyses.disclosure`). Then it switches to the
audience's role (:func:`use_audience`, the one place that does) and reads the audience's
views (``api_public.*``) with the fields that audience may see.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from gisplatform.analyses.common import Schemas
from gisplatform.analyses.network import ensure_graph
from gisplatform.publication.store import LISTING, public_reader, withdrawal_of
from gisplatform.registry import Access, Audience, LayerRegistry
from gisplatform.store.views import AUDIENCE_SCHEMAS, PUBLIC_ROLE

#: the session-private table of building weights for runs that may not read them
WEIGHTS = ("pg_temp", "analysis_weights")
#: relations of the walking graph the audience's role reads
GRAPH_TABLES = ("walk_edges", "walk_vertices", "graph_state")


class LayerUnavailable(Exception):
    """A layer the run needs is not visible to the audience."""

    def __init__(self, layer: str) -> None:
        self.layer = layer
        super().__init__(f"layer {layer} is not available to this audience")


def audience_fields(
    registry: LayerRegistry, audience: Access | Audience, layers: tuple[str, ...]
) -> dict[str, frozenset[str]]:
    """Field names of ``layers`` that ``audience`` may see; LayerUnavailable if one is hidden."""
    fields: dict[str, frozenset[str]] = {}
    for name in layers:
        spec = registry.get(name)
        if not spec.visible_to(audience):
            raise LayerUnavailable(name)
        fields[name] = frozenset(f.name for f in spec.fields_for(audience))
    return fields


def published_reader(conn: psycopg.Connection[Any]) -> Audience:
    """The public less what the publication kill switch withdrew, read in this run."""
    with conn.transaction():
        conn.execute("SET LOCAL ROLE NONE")  # the login itself may list the withdrawals
        rows = conn.execute(LISTING).fetchall()
    return public_reader([withdrawal_of(r) for r in rows])


def use_audience(conn: psycopg.Connection[Any], audience: Access) -> None:
    """Switch ``conn`` to the role of ``audience`` for the rest of the session."""
    if audience is not Access.PUBLIC:
        raise ValueError(f"no database role for the {audience} audience")
    conn.execute(sql.SQL("SET SESSION ROLE {}").format(sql.Identifier(PUBLIC_ROLE)))
    conn.commit()


def _grant_graph(conn: psycopg.Connection[Any], schemas: Schemas) -> None:
    role = sql.Identifier(PUBLIC_ROLE)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('gisplatform.analysis.walk_graph'))")
        for table in GRAPH_TABLES:
            qualified = f"{schemas.analysis}.{table}"
            row = conn.execute(
                "SELECT has_table_privilege(%s, %s, 'SELECT')", [PUBLIC_ROLE, qualified]
            ).fetchone()
            if row and row[0]:
                continue
            schema = sql.Identifier(schemas.analysis)
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
            target = sql.Identifier(schemas.analysis, table)
            conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(target, role))


def _weights(conn: psycopg.Connection[Any], schemas: Schemas) -> None:
    with conn.transaction():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(*WEIGHTS)))
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE {} (fid bigint PRIMARY KEY, population integer) "
                "ON COMMIT PRESERVE ROWS"
            ).format(sql.Identifier(WEIGHTS[1]))
        )
        conn.execute(
            sql.SQL("INSERT INTO {} SELECT fid, population FROM {}").format(
                sql.Identifier(*WEIGHTS), sql.Identifier(schemas.layers, "buildings")
            )
        )
        conn.execute(
            sql.SQL("GRANT SELECT ON {} TO {}").format(
                sql.Identifier(*WEIGHTS), sql.Identifier(PUBLIC_ROLE)
            )
        )


def prepare_run(
    conn: psycopg.Connection[Any],
    registry: LayerRegistry,
    audience: Access,
    layers: tuple[str, ...],
    graph: bool,
) -> Schemas:
    """Check ``layers`` against the registry, prepare the run and switch to the audience.

    Returns what the analysis reads: the audience's views and visible fields.
    """
    if audience is not Access.PUBLIC:
        raise ValueError(f"no database role for the {audience} audience")
    fields = audience_fields(registry, published_reader(conn), layers)
    owner = Schemas.for_registry(registry)
    if graph:
        ensure_graph(conn, owner)
        _grant_graph(conn, owner)
    hidden_weights = "buildings" in fields and "population" not in fields["buildings"]
    if hidden_weights:
        _weights(conn, owner)
    conn.commit()
    use_audience(conn, audience)
    return Schemas(
        layers=AUDIENCE_SCHEMAS[audience],
        history=owner.history,
        analysis=owner.analysis,
        prepared=True,
        weights=WEIGHTS if hidden_weights else None,
        fields=fields,
        metric_srid=owner.metric_srid,
    )
