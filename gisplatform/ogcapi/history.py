"""``GET …/items/{featureId}/history``: every version of a feature, who made it, when, what
changed; for signed-in staff, through their audience's history function in the database
(:mod:`gisplatform.store.history_access`), so hidden fields and layers stay hidden.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from psycopg import sql

from gisplatform.errors import FeatureNotFound, SignInRequired
from gisplatform.i18n import message
from gisplatform.ogcapi.common import json_response, link
from gisplatform.ogcapi.deps import AudienceDep, LayerDep, base_url, check_parameters
from gisplatform.store.audiences import current_view
from gisplatform.store.history_access import FUNCTION

PARAMETERS = frozenset({"f", "lang"})
#: columns that change with every version and say nothing of their own
_STAMPS = frozenset({"updated_at", "version"})


def _version(operation: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
    if operation == "INSERT":
        return 1
    if operation == "UPDATE" and new is not None:
        return int(new.get("version", 0))
    return int((old or {}).get("version", 0))


def _entry(row: tuple[Any, ...]) -> dict[str, Any]:
    _id, operation, changed_at, changed_by, old, new, fields = row
    entry: dict[str, Any] = {
        "version": _version(operation, old, new),
        "operation": operation.lower(),
        "changedAt": changed_at.isoformat(),
        "changedBy": changed_by,
    }
    if operation == "UPDATE":
        entry["changes"] = {
            name: {"from": (old or {}).get(name), "to": (new or {}).get(name)}
            for name in fields
            if name not in _STAMPS
        }
    elif operation == "DELETE":
        entry["lastValues"] = {k: v for k, v in (old or {}).items() if k not in _STAMPS}
    return entry


def build_history_router() -> APIRouter:
    """The history route of every layer's items."""
    router = APIRouter(include_in_schema=False)

    @router.get("/collections/{collectionId}/items/{featureId}/history")
    async def feature_history(
        request: Request, spec: LayerDep, featureId: str, audience: AudienceDep
    ) -> Response:
        check_parameters(request, PARAMETERS)
        if audience.is_anonymous:
            raise SignInRequired(message("history_sign_in"))
        if not featureId.isascii() or not featureId.isdigit() or len(featureId) > 18:
            raise FeatureNotFound(featureId)
        function = sql.Identifier(current_view().schema, FUNCTION)
        async with request.app.state.pool.connection() as conn:
            cursor = await conn.execute(
                sql.SQL("SELECT * FROM {}(%s, %s)").format(function), [spec.name, int(featureId)]
            )
            rows = await cursor.fetchall()
        if not rows:
            raise FeatureNotFound(featureId)
        root = f"{base_url(request)}/collections/{spec.name}/items/{featureId}"
        body = {
            "id": int(featureId),
            "collection": spec.name,
            "versions": [_entry(row) for row in rows],
            "links": [
                link(f"{root}/history", "self", "application/json", "history"),
                link(root, "describes", "application/geo+json", "the feature"),
            ],
        }
        return json_response(body, headers={"Cache-Control": "private, no-store"})

    return router
