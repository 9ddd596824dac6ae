"""``GET …/items?asOf=2026-12-01T12:00:00Z``: a layer as it was at a moment, for staff.

Rebuilt by the database from the history's pre-images through the caller's audience
function (:func:`gisplatform.store.history_access.as_of_function`), so it shows exactly the
fields and layers the caller reads today. Each rebuilt feature is turned back into a row of
the caller's view (``jsonb_populate_record`` with the view's row type), so the items query
runs on it unchanged: ``bbox``, ``datetime``, the property filters, CQL2 ``filter``,
``properties``, ``sortby``, ``crs`` and ``limit``/``offset`` mean what they mean today.
The answer has no ``numberMatched`` and is never stored by a cache.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from fastapi import Request, Response
from psycopg import sql

from gisplatform.errors import InvalidParameter, SignInRequired
from gisplatform.i18n import message
from gisplatform.ogcapi import queries
from gisplatform.ogcapi.crs import STORAGE_SRID
from gisplatform.registry import Audience, LayerSpec
from gisplatform.store.audiences import current_view
from gisplatform.store.history_access import AS_OF_FUNCTION

if TYPE_CHECKING:
    from gisplatform.ogcapi.features import ItemsRequest

GEOJSON = "application/geo+json"
#: the parameter besides those of ``/items``
PARAMETER = "asOf"


def require_staff(audience: Audience) -> None:
    """401 for the public: the history is for signed-in staff."""
    if audience.is_anonymous:
        raise SignInRequired(message("history_sign_in"))


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(PARAMETER, message("as_of_format")) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_of_source(spec: LayerSpec, moment: datetime) -> tuple[sql.Composable, list[Any]]:
    """The layer's rows at ``moment`` with the columns of the caller's view, and parameters."""
    schema = current_view().schema
    query = sql.SQL(
        "(SELECT r.* FROM {function}(%s, %s, NULL::integer, 0) AS x "
        "CROSS JOIN LATERAL jsonb_populate_record(NULL::{view}, x.feature || jsonb_build_object("
        "'fid', x.fid, 'geom', encode(ST_AsEWKB(ST_SetSRID(ST_GeomFromGeoJSON("
        "NULLIF(x.feature -> 'geom', 'null'::jsonb)), {srid})), 'hex'))) AS r)"
    ).format(
        function=sql.Identifier(schema, AS_OF_FUNCTION),
        view=sql.Identifier(schema, spec.name),
        srid=sql.Literal(STORAGE_SRID),
    )
    return query, [spec.name, moment]


async def as_of_items(request: Request, spec: LayerSpec, parsed: ItemsRequest) -> Response:
    """The FeatureCollection of ``spec`` at ``asOf``, filtered and paged as ``parsed`` says."""
    moment = _moment(request.query_params[PARAMETER])
    query, params = queries.items_query(
        spec,
        parsed.fields,
        parsed.out,
        parsed.skip_geometry,
        parsed.where,
        parsed.sort,
        parsed.limit,
        parsed.offset,
        source=as_of_source(spec, moment),
    )
    async with request.app.state.pool.connection() as conn:
        try:
            cursor = await conn.execute(query, params)
            rows = await cursor.fetchall()
        except (psycopg.errors.DataError, psycopg.errors.InternalError_) as exc:
            # PostGIS rejected a value taken from the request (e.g. a degenerate geometry)
            raise InvalidParameter("filter", message("filter_not_evaluable")) from exc
    head = b'{"type":"FeatureCollection","features":['
    footer = {"numberReturned": len(rows), "asOf": moment.isoformat()}
    body = head + b",".join(row[0].encode() for row in rows) + b"]," + orjson.dumps(footer)[1:]
    return Response(
        body,
        media_type=GEOJSON,
        headers={"Cache-Control": "private, no-store", "Content-Crs": f"<{parsed.out.uri}>"},
    )
