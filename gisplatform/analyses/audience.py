"""Runs for an audience: the registry checked on every run, its views, its read-only role.

A run first checks that every layer it reads is visible to the audience (else
:class:`LayerUnavailable`, answered 404 naming the layer). Then, as the analyses' own login
(``SET ROLE NONE``: no rights on the layers), it prepares what the audience's role can
neither build nor read, through the owner's functions (:mod:`gisplatform.analyses.access`):
the walking graph (tables in ``analysis``, readable by every audience role) and, when the
audience may not see ``buildings.population``, a session-private table of building weights
that only feeds aggregates (published under :mod:`gisplatform.analyses.disclosure`). Then it
switches to the audience's role (:func:`use_audience`, the one place that does) and reads
the audience's views (``api_public.*`` for the public, ``api_staff…`` for signed-in staff)
with the fields that audience may see.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import psycopg
from psycopg import sql

from gisplatform.access.publication.store import LISTING, public_reader, withdrawal_of
from gisplatform.analyses.access import BUILDING_WEIGHTS, WALK_GRAPH
from gisplatform.analyses.common import Schemas
from gisplatform.registry import ANONYMOUS, Audience, LayerRegistry
from gisplatform.store.audiences import ViewAudience

#: the session-private table of building weights for runs that may not read them
WEIGHTS = ("pg_temp", "analysis_weights")
#: who asked for the process being served (its login keys its jobs); anonymous by default
CALLER: ContextVar[Audience] = ContextVar("gisplatform_process_caller", default=ANONYMOUS)


class LayerUnavailable(Exception):
    """A layer the run needs is not visible to the audience."""

    def __init__(self, layer: str) -> None:
        self.layer = layer
        super().__init__(f"layer {layer} is not available to this audience")


def audience_fields(
    registry: LayerRegistry, reader: Audience, layers: tuple[str, ...]
) -> dict[str, frozenset[str]]:
    """Field names of ``layers`` that ``reader`` may see; LayerUnavailable if one is hidden."""
    fields: dict[str, frozenset[str]] = {}
    for name in layers:
        spec = registry.get(name)
        if not spec.visible_to(reader):
            raise LayerUnavailable(name)
        fields[name] = frozenset(f.name for f in spec.fields_for(reader))
    return fields


def published_reader(conn: psycopg.Connection[Any]) -> Audience:
    """The public less what the publication kill switch withdrew, read in this run."""
    with conn.transaction():
        conn.execute("SET LOCAL ROLE NONE")  # the login itself may list the withdrawals
        rows = conn.execute(LISTING).fetchall()
    return public_reader([withdrawal_of(r) for r in rows])


def use_audience(conn: psycopg.Connection[Any], audience: ViewAudience) -> None:
    """Switch ``conn`` to the role of ``audience`` for the rest of the session."""
    conn.execute(sql.SQL("SET SESSION ROLE {}").format(sql.Identifier(audience.role)))
    conn.commit()


def _weights(conn: psycopg.Connection[Any], schemas: Schemas, role: str) -> None:
    with conn.transaction():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(*WEIGHTS)))
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE {} (fid bigint PRIMARY KEY, population integer) "
                "ON COMMIT PRESERVE ROWS"
            ).format(sql.Identifier(WEIGHTS[1]))
        )
        conn.execute(
            sql.SQL("INSERT INTO {} SELECT fid, population FROM {}()").format(
                sql.Identifier(*WEIGHTS), sql.Identifier(schemas.analysis, BUILDING_WEIGHTS)
            )
        )
        conn.execute(
            sql.SQL("GRANT SELECT ON {} TO {}").format(
                sql.Identifier(*WEIGHTS), sql.Identifier(role)
            )
        )


def prepare_run(
    conn: psycopg.Connection[Any],
    registry: LayerRegistry,
    audience: ViewAudience,
    layers: tuple[str, ...],
    graph: bool,
) -> Schemas:
    """Check ``layers`` against the registry, prepare the run and switch to the audience.

    ``conn`` is the analyses' login (``GISPLATFORM_ANALYSES_DATABASE_URL``). Returns what
    the analysis reads: the audience's views and visible fields.
    """
    # the public less what the kill switch withdrew; signed-in staff read their own views
    reader = published_reader(conn) if audience.is_public else audience.reader
    fields = audience_fields(registry, reader, layers)
    owner = Schemas.for_registry(registry)
    conn.execute("SET SESSION ROLE NONE")
    if graph:
        conn.execute(
            sql.SQL("SELECT * FROM {}()").format(sql.Identifier(owner.analysis, WALK_GRAPH))
        )
    hidden_weights = "buildings" in fields and "population" not in fields["buildings"]
    if hidden_weights:
        _weights(conn, owner, audience.role)
    conn.commit()
    use_audience(conn, audience)
    return Schemas(
        layers=audience.schema,
        history=owner.history,
        analysis=owner.analysis,
        prepared=True,
        weights=WEIGHTS if hidden_weights else None,
        fields=fields,
        metric_srid=owner.metric_srid,
    )
