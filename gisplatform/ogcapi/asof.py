"""``GET …/items?asOf=2026-12-01T12:00:00Z``: a layer as it was at a moment, for staff.

Rebuilt by the database from the history's pre-images through the caller's audience
function (:func:`gisplatform.store.history_access.as_of_function`), so it shows exactly the
fields and layers the caller reads today. CRS84 GeoJSON, ``limit``/``offset`` pages in
``fid`` order; the other item parameters are not combined with ``asOf``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Request, Response
from psycopg import sql

from gisplatform.errors import InvalidParameter, SignInRequired
from gisplatform.i18n import message
from gisplatform.ogcapi.deps import check_parameters
from gisplatform.registry import Audience, LayerSpec
from gisplatform.store.audiences import current_reader, current_view
from gisplatform.store.history_access import AS_OF_FUNCTION

GEOJSON = "application/geo+json"
PARAMETERS = frozenset({"asOf", "limit", "offset", "f", "lang"})
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter("asOf", message("as_of_format")) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count(request: Request, name: str, default: int, maximum: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit():
        raise InvalidParameter(name, message("expected_integer"))
    return min(int(text), maximum)


async def as_of_items(request: Request, spec: LayerSpec, audience: Audience) -> Response:
    """The FeatureCollection of ``spec`` at ``asOf``."""
    check_parameters(request, PARAMETERS)
    if audience.is_anonymous:
        raise SignInRequired(message("history_sign_in"))
    moment = _moment(request.query_params["asOf"])
    limit = max(_count(request, "limit", DEFAULT_LIMIT, MAX_LIMIT), 1)
    offset = _count(request, "offset", 0, 2**31 - 1)
    function = sql.Identifier(current_view().schema, AS_OF_FUNCTION)
    async with request.app.state.pool.connection() as conn:
        cursor = await conn.execute(
            sql.SQL("SELECT * FROM {}(%s, %s, %s, %s)").format(function),
            [spec.name, moment, limit, offset],
        )
        rows = await cursor.fetchall()
    fields = [f.name for f in spec.fields_for(current_reader())]
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "id": fid,
            "geometry": values.get("geom"),
            "properties": {name: values.get(name) for name in fields},
        }
        for fid, values in rows
    ]
    body = {
        "type": "FeatureCollection",
        "features": features,
        "numberReturned": len(features),
        "asOf": moment.isoformat(),
    }
    return Response(
        orjson.dumps(body), media_type=GEOJSON, headers={"Cache-Control": "private, no-store"}
    )
