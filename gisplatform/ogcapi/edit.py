"""OGC API – Features Part 4 (draft 20-002r1): create, replace, update and delete features.

- ``OPTIONS …/items`` and ``…/items/{featureId}``: 200 with ``Allow`` computed for the
  caller (readers get GET/HEAD only; QGIS turns editing on only when POST is allowed).
- ``POST …/items`` (GeoJSON Feature): 201, ``Location`` with the server-assigned id, ETag.
- ``PUT …/items/{featureId}``: replaces the fields the caller writes and the geometry; 404
  when missing. A body ``id`` must be the path's (pygeoapi updates the body's, a bug).
- ``PATCH …/items/{featureId}`` (``application/merge-patch+json``, RFC 7396): ``null``
  unsets, the id cannot change; 200 with the feature and its ETag.
- ``DELETE …/items/{featureId}``: 204.

``If-Match`` with another version is a 412; without it a write is run as it stands (QGIS
sends none). ``Content-Crs`` says the CRS of a sent geometry (the offered ones; pyproj
transforms it). The whole request is one transaction in the writer role of the caller's
role (:mod:`gisplatform.store.writers`), with the signed-in login as the history's actor, set
by the server alone: a failed check leaves the layer exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from psycopg import sql

from gisplatform.errors import (
    FeatureNotFound,
    Forbidden,
    InvalidBody,
    PayloadTooLarge,
    SignInRequired,
    UnsupportedMediaType,
)
from gisplatform.i18n import message
from gisplatform.ingest.crs import AreaOfInterest
from gisplatform.ogcapi import queries
from gisplatform.ogcapi.crs import CRS84_CRS
from gisplatform.ogcapi.deps import AudienceDep, CrsDep, LayerDep, RegistryDep, base_url
from gisplatform.ogcapi.etag import check_if_match, etag_of
from gisplatform.ogcapi.features import marks_layer
from gisplatform.ogcapi.writer import Writer, write_transaction
from gisplatform.registry import Audience, LayerRegistry, LayerSpec
from gisplatform.registry.writes import writable_fields, writer_role
from gisplatform.reports.marks import MARK_PROPERTY, after_edit
from gisplatform.store.audiences import current_reader, current_view
from gisplatform.validate import FeatureCandidate, validate_feature

GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
#: media types a whole feature may come in (POST, PUT)
FEATURE_TYPES = frozenset({GEOJSON, "application/json"})
_PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/"
EDIT_CONFORMANCE = [
    _PART4 + "conf/create-replace-delete",
    _PART4 + "conf/update",
    _PART4 + "conf/features",
    _PART4 + "req/optimistic-locking-etags",
]
READ_METHODS = ("GET", "HEAD", "OPTIONS")


def _allow(methods: tuple[str, ...]) -> dict[str, str]:
    return {"Allow": ", ".join(methods)}


def _writer(registry: LayerRegistry, spec: LayerSpec, audience: Audience) -> str:
    """The caller's role for writing ``spec``: 401 for the public, 403 without a right."""
    if audience.is_anonymous:
        raise SignInRequired(message("edit_sign_in"))
    role = writer_role(registry, spec, audience)
    if role is None:
        raise Forbidden(message("edit_forbidden", layer=spec.name))
    return role


def _media_type(request: Request, allowed: frozenset[str]) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given not in allowed:
        wanted = ", ".join(sorted(allowed))
        raise UnsupportedMediaType(message("edit_media_type", given=given or "-", wanted=wanted))


async def _body(request: Request, allowed: frozenset[str]) -> dict[str, Any]:
    """The JSON object of the body: 415 for another type, 413 over the limit, 400 unreadable."""
    _media_type(request, allowed)
    limit: int = request.app.state.settings.edit_max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(message("edit_too_large", limit=limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(message("edit_too_large", limit=limit))
        chunks.append(chunk)
    try:
        document = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise InvalidBody(message("edit_not_json", reason=str(exc)[:200])) from None
    if not isinstance(document, dict):
        raise InvalidBody(message("edit_not_object"))
    return document


def _feature_parts(document: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The properties and geometry of a GeoJSON Feature (400 when it is not one)."""
    if document.get("type") != "Feature":
        raise InvalidBody(message("edit_not_feature"))
    properties = document.get("properties")
    properties = {} if properties is None else properties
    if not isinstance(properties, dict):
        raise InvalidBody(message("edit_properties_object"))
    return _without_computed(properties), document.get("geometry")


def _without_computed(properties: dict[str, Any]) -> dict[str, Any]:
    """The properties without those the server computes: ``report_mark`` (residents' reports)
    is read-only, and clients that send back every attribute they read (QGIS) include it."""
    return {k: v for k, v in properties.items() if k != MARK_PROPERTY}


def _feature_id(featureId: str) -> int:
    if not featureId.isascii() or not featureId.isdigit() or len(featureId) > 18:
        raise FeatureNotFound(featureId)
    return int(featureId)


def _same_id(document: Mapping[str, Any], fid: int) -> None:
    """A body's ``id``, when given, must be the path's: an id never changes."""
    given = document.get("id")
    if given is not None and str(given) != str(fid):
        raise InvalidBody(message("edit_id_change", given=str(given)[:40], fid=fid))


def _content_crs(request: Request, crs: CrsDep) -> tuple[int, bool]:
    header = request.headers.get("content-crs")
    parsed = crs.parse(header.strip().strip("<>") if header else None, "Content-Crs")
    return parsed.srid, parsed.flip


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: ``patch`` applied to ``target`` (``null`` removes, objects merge)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _area(registry: LayerRegistry) -> AreaOfInterest | None:
    """Where features may lie: the hromada's extent (with the importer's margin)."""
    return AreaOfInterest(*registry.hromada.extent) if registry.has_hromada else None


async def _read_back(writer: Writer, request: Request, spec: LayerSpec, fid: int) -> bytes:
    """The feature as the caller reads it (its audience's view), inside the transaction."""
    await writer.conn.execute(
        sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(current_view().role))
    )
    fields = spec.fields_for(current_reader())
    query = queries.item_query(spec, fields, CRS84_CRS, marks_layer(request, spec))
    cursor = await writer.conn.execute(query, [fid])
    row = await cursor.fetchone()
    assert row is not None
    link = f"{base_url(request)}/collections/{spec.name}/items/{fid}"
    links = [{"href": link, "rel": "self", "type": GEOJSON, "title": "this feature"}]
    text: str = row[0]
    return text.encode().rstrip()[:-1] + b',"links":' + orjson.dumps(links) + b"}"


def _version(stored: dict[str, Any] | None) -> int | None:
    return None if stored is None else int(stored["version"])


def _feature_response(body: bytes, version: int, status: int = 200) -> Response:
    return Response(
        body,
        status_code=status,
        media_type=GEOJSON,
        headers={"ETag": etag_of(version), "Content-Crs": f"<{CRS84_CRS.uri}>"},
    )


def build_edit_router() -> APIRouter:
    """OPTIONS, POST, PUT, PATCH and DELETE on every layer's items."""
    router = APIRouter(include_in_schema=False)
    items = "/collections/{collectionId}/items"
    item = items + "/{featureId}"

    @router.options(items)
    async def items_options(
        spec: LayerDep, registry: RegistryDep, audience: AudienceDep
    ) -> Response:
        writes = writer_role(registry, spec, audience) is not None
        return Response(headers=_allow((*READ_METHODS, "POST") if writes else READ_METHODS))

    @router.options(item)
    async def item_options(
        spec: LayerDep, featureId: str, registry: RegistryDep, audience: AudienceDep
    ) -> Response:
        # QGIS asks about /items/unknown_id on an empty collection: no lookup, no 404
        writes = writer_role(registry, spec, audience) is not None
        methods = (*READ_METHODS, "PUT", "PATCH", "DELETE") if writes else READ_METHODS
        return Response(headers=_allow(methods))

    @router.post(items)
    async def create(
        request: Request, spec: LayerDep, registry: RegistryDep, audience: AudienceDep, crs: CrsDep
    ) -> Response:
        role = _writer(registry, spec, audience)
        properties, geometry = _feature_parts(await _body(request, FEATURE_TYPES))
        srid, flip = _content_crs(request, crs)
        candidate = FeatureCandidate(properties, frozenset(properties), geometry, srid, flip)
        valid = validate_feature(spec, writable_fields(spec, role), candidate, _area(registry))
        async with write_transaction(request, spec, audience, role) as writer:
            fid, version = await writer.insert(valid)
            body = await _read_back(writer, request, spec, fid)
        response = _feature_response(body, version, 201)
        response.headers["Location"] = f"{base_url(request)}/collections/{spec.name}/items/{fid}"
        return response

    @router.put(item)
    async def replace(
        request: Request,
        spec: LayerDep,
        featureId: str,
        registry: RegistryDep,
        audience: AudienceDep,
        crs: CrsDep,
    ) -> Response:
        role = _writer(registry, spec, audience)
        fid = _feature_id(featureId)
        document = await _body(request, FEATURE_TYPES)
        properties, geometry = _feature_parts(document)
        _same_id(document, fid)
        srid, flip = _content_crs(request, crs)
        candidate = FeatureCandidate(properties, frozenset(properties), geometry, srid, flip)
        valid = validate_feature(spec, writable_fields(spec, role), candidate, _area(registry))
        async with write_transaction(request, spec, audience, role) as writer:
            stored = await writer.locked(fid)
            check_if_match(request.headers.get("if-match"), _version(stored))
            if stored is None:
                raise FeatureNotFound(featureId)
            version = await writer.update(fid, valid)
            await after_edit(
                request, writer.conn, spec, fid, valid.values, frozenset(properties), audience
            )
            body = await _read_back(writer, request, spec, fid)
        return _feature_response(body, version)

    @router.patch(item)
    async def update(
        request: Request,
        spec: LayerDep,
        featureId: str,
        registry: RegistryDep,
        audience: AudienceDep,
        crs: CrsDep,
    ) -> Response:
        role = _writer(registry, spec, audience)
        fid = _feature_id(featureId)
        patch = await _body(request, frozenset({MERGE_PATCH}))
        _same_id(patch, fid)
        sent = patch.get("properties")
        if sent is not None and not isinstance(sent, dict):
            raise InvalidBody(message("edit_properties_object"))
        if sent is not None:
            sent = patch["properties"] = _without_computed(sent)
        srid, flip = _content_crs(request, crs)
        async with write_transaction(request, spec, audience, role) as writer:
            stored = await writer.locked(fid)
            check_if_match(request.headers.get("if-match"), _version(stored))
            if stored is None:
                raise FeatureNotFound(featureId)
            current = {"geometry": stored["geometry"], "properties": stored["properties"]}
            merged = merge_patch(
                current, {k: patch[k] for k in ("geometry", "properties") if k in patch}
            )
            new_geometry = "geometry" in patch
            candidate = FeatureCandidate(
                merged.get("properties") or {},
                frozenset(sent or {}),
                merged.get("geometry"),
                srid if new_geometry else 4326,
                flip if new_geometry else False,
                keep_geometry=not new_geometry,
            )
            valid = validate_feature(spec, writer.fields, candidate, _area(registry))
            version = await writer.update(fid, valid, frozenset(sent or {}))
            # an inspection (a new check date) resolves the residents' reports it answers
            await after_edit(
                request, writer.conn, spec, fid, valid.values, frozenset(sent or {}), audience
            )
            body = await _read_back(writer, request, spec, fid)
        return _feature_response(body, version)

    @router.delete(item)
    async def delete(
        request: Request,
        spec: LayerDep,
        featureId: str,
        registry: RegistryDep,
        audience: AudienceDep,
    ) -> Response:
        role = _writer(registry, spec, audience)
        fid = _feature_id(featureId)
        async with write_transaction(request, spec, audience, role) as writer:
            stored = await writer.locked(fid)
            check_if_match(request.headers.get("if-match"), _version(stored))
            if stored is None:
                raise FeatureNotFound(featureId)
            await writer.delete(fid)
        return Response(status_code=204)

    return router
