"""The OpenAPI 3.0 document of ``/ogc``, derived from the app's routes and the registry.

Every route under ``/ogc`` is described, whoever wrote it, by the same rules:

* what FastAPI knows of it (declared query, path and header parameters, a pydantic request
  body) is the start;
* its dependencies add the parameters they read: the output format (``f``, and HTML among
  the media types) and the language (``lang``); every route may answer 401 and 429 (the
  audience is decided from ``Authorization`` on every request) and 503 (the database);
* a path parameter adds 404, and its schema comes from what the audience may see
  (``collectionId``, ``processId``) or the tile matrix sets;
* a route's ``openapi_extra`` adds the rest, by name: ``x-query`` (parameters it reads
  itself, from :data:`QUERY` or given whole), ``x-media`` (its 200 media types),
  ``x-per-collection`` (one path per visible collection, with its queryables typed as the
  registry says) and ``x-per-process`` (one execution path per process, with the request
  body of its description); its FastAPI ``responses`` add statuses (201, 204, 304, 413…).

Every error answers the one exception shape (``#/components/schemas/Exception``). HEAD
is described wherever GET is. JSON Schemas from pydantic (2020-12) are written down as
OpenAPI 3.0 schemas (:func:`oas30`). The document holds only what the request's audience
may see.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from gisplatform.ogcapi.cql import FILTER_LANGS
from gisplatform.ogcapi.crs import CrsCatalogue
from gisplatform.ogcapi.deps import base_url, get_registry, language, output_format
from gisplatform.ogcapi.errors import EXCEPTION_SCHEMA
from gisplatform.ogcapi.pygeoapi_config import PROCESSORS
from gisplatform.ogcapi.schemas import field_schema
from gisplatform.ogcapi.tilequeries import TILE_MATRIX_SETS
from gisplatform.registry import FieldSpec, FieldType, LayerRegistry, LayerSpec
from gisplatform.store.audiences import current_reader

_METHODS = ("get", "put", "post", "patch", "delete", "options")
_EXCEPTION = {"$ref": "#/components/schemas/Exception"}
_DESCRIPTION = "Open geodata of the hromada through OGC APIs (Features, Tiles, Records, Processes)."


def _query(
    name: str, schema: dict[str, Any], description: str, form: bool = False
) -> dict[str, Any]:
    """A query parameter; ``form``: ``style: form, explode: false`` (OGC API Features Part 1,
    a list is comma-separated)."""
    found: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if form:
        found.update(style="form", explode=False)
    return found


def _list_of(items: dict[str, Any], **limits: int) -> dict[str, Any]:
    return {"type": "array", "items": items, **limits}


def query_parameters(crs_uris: list[str]) -> dict[str, dict[str, Any]]:
    """The query parameters routes name in ``x-query``, as the handlers parse them."""
    crs = {"type": "string", "enum": crs_uris}
    number = {"type": "number"}
    text = {"type": "string"}
    return {
        "bbox": _query(
            "bbox",
            _list_of(number, minItems=4, maxItems=6),
            "west,south,east,north (4 or 6 numbers)",
            form=True,
        ),
        "bbox-crs": _query("bbox-crs", crs, "CRS of bbox (default CRS84)", form=True),
        "datetime": _query(
            "datetime", text, "instant or interval (ISO 8601, `..` open)", form=True
        ),
        "limit": _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10},
            "page size (at most 10000)",
            form=True,
        ),
        "offset": _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "skip"),
        "crs": _query("crs", crs, "CRS of the response geometries", form=True),
        "filter": _query("filter", text, "CQL2 filter (text or JSON)"),
        "filter-lang": _query(
            "filter-lang",
            {"type": "string", "enum": [*FILTER_LANGS, "cql-text"], "default": "cql2-text"},
            "language of filter",
        ),
        "filter-crs": _query("filter-crs", crs, "CRS of the filter's geometries"),
        "sortby": _query(
            "sortby", _list_of(text), "properties, `-` before one sorts descending", form=True
        ),
        "properties": _query("properties", _list_of(text), "properties to return", form=True),
        "skipGeometry": _query("skipGeometry", {"type": "boolean"}, "leave geometries out"),
        "q": _query("q", _list_of(text), "free-text search terms", form=True),
        "ids": _query("ids", _list_of(text), "record ids", form=True),
        "type": _query("type", text, "record type (records are `dataset`s)"),
        "records-limit": _query(
            "limit",
            {"type": "integer", "minimum": 0, "maximum": 1000, "default": 100},
            "page size (at most 1000)",
            form=True,
        ),
        "records-offset": _query(
            "offset", {"type": "integer", "minimum": 0, "maximum": 10000, "default": 0}, "skip"
        ),
        "records-bbox": _query(
            "bbox",
            _list_of(number, minItems=4, maxItems=6),
            "west,south,east,north (heights, if given, are ignored)",
            form=True,
        ),
        "lang": _query("lang", text, "language (uk or en, else Accept-Language)"),
        "tileset-f": _query(
            "f", {"type": "string", "enum": ["json", "tilejson"]}, "format of the tileset"
        ),
        "tile-f": _query("f", {"type": "string", "enum": ["mvt", "pbf"]}, "format of the tile"),
    }


#: parameters read by a dependency, by the dependency
_FROM_DEPENDENCY: dict[Any, dict[str, Any]] = {
    output_format: _query(
        "f", {"type": "string", "enum": ["json", "html"]}, "format (else from Accept)"
    ),
    language: _query(
        "lang", {"type": "string", "enum": ["uk", "en"]}, "language (else Accept-Language)"
    ),
}


def oas30(node: Any) -> Any:
    """A JSON Schema (2020-12, as pydantic writes it) as an OpenAPI 3.0 schema object."""
    if isinstance(node, list):
        return [oas30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$schema", "$id", "contentMediaType", "$defs"):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "examples" and isinstance(value, list):
            if value:
                out["example"] = oas30(value[0])
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "prefixItems":
            kinds = [oas30(item) for item in value]
            out["items"] = kinds[0] if all(k == kinds[0] for k in kinds) else {"anyOf": kinds}
        elif key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            out["type"] = kinds[0] if len(kinds) == 1 else "string"
            if "null" in value:
                out["nullable"] = True
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            kinds = [oas30(v) for v in value if v != {"type": "null"}]
            if len(kinds) < len(value):
                out["nullable"] = True
            if len(kinds) == 1:
                out.update(kinds[0])
            else:
                out[key] = kinds
        elif key in ("properties", "patternProperties"):
            out[key] = {name: oas30(v) for name, v in value.items()}
        else:
            out[key] = oas30(value)
    if out.get("nullable") and "type" not in out and not any(k in out for k in ("anyOf", "oneOf")):
        out.pop("nullable")
    return out


def _dependency_calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from getattr(sub.call, "calls", ())  # a dependency that runs others itself
        yield from _dependency_calls(sub)


def api_routes(app: Any, prefix: str = "/ogc/") -> list[Any]:
    """The app's API routes under ``prefix``, as FastAPI serves them (full path, the
    dependencies of the routers they were included by)."""
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and (context.path or "").startswith(prefix)
    ]


def _operation_id(method: str, path: str) -> str:
    return method + "_" + (re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root")


def _path_schema(name: str, collections: list[str], processes: list[str]) -> dict[str, Any]:
    if name == "collectionId":
        return {"type": "string", "enum": collections}
    if name == "tileMatrixSetId":
        return {"type": "string", "enum": list(TILE_MATRIX_SETS)}
    if name == "processId":
        return {"type": "string", "enum": processes}
    return {"type": "string"}


def _response(description: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"description": description}
    if content:
        found["content"] = content
    return found


def _error(status: int) -> dict[str, Any]:
    return _response(
        HTTPStatus(status).phrase, {"application/json": {"schema": copy.deepcopy(_EXCEPTION)}}
    )


def queryable_parameter(spec: LayerSpec, field: FieldSpec) -> dict[str, Any]:
    """``?<field>=<value>`` typed as the field's queryable schema says."""
    described = field_schema(spec, field, "en")
    keep = ("type", "format", "enum")
    schema = {k: v for k, v in described.items() if k in keep}
    if field.type is FieldType.STRING_LIST:
        schema = {"type": "string"}  # one value, matched against the list's members
    return _query(field.name, schema, f"features whose {field.name} equals this value (queryable)")


def _body_schema(description: dict[str, Any]) -> dict[str, Any]:
    inputs = description["inputs"]
    return {
        "type": "object",
        "properties": {
            "inputs": {
                "type": "object",
                "properties": {name: oas30(i["schema"]) for name, i in inputs.items()},
                "required": [n for n, i in inputs.items() if i.get("minOccurs", 1) >= 1] or None,
                "additionalProperties": False,
            },
            "outputs": {"type": "object"},
            "response": {"type": "string", "enum": ["raw", "document"]},
            "subscriber": {
                "type": "object",
                "properties": {
                    "successUri": {"type": "string"},
                    "inProgressUri": {"type": "string"},
                    "failedUri": {"type": "string"},
                },
            },
        },
        "required": ["inputs"],
    }


def process_descriptions(registry: LayerRegistry) -> dict[str, dict[str, Any]]:
    """The process descriptions pygeoapi serves, by process id (with their examples)."""
    from gisplatform.analyses import processes as analyses

    return {
        process_id: analyses.process_metadata(getattr(analyses, name).SPEC, registry.hromada)
        for process_id, name in PROCESSORS.items()
    }


def _drop_none(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_none(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_drop_none(v) for v in node]
    return node


class _Builder:
    def __init__(self, request: Request) -> None:
        self.request = request
        registry = get_registry(request)
        self.layers = registry.list(current_reader())
        catalogue: CrsCatalogue = request.app.state.crs
        self.query = query_parameters(catalogue.uris)
        self.processes = process_descriptions(registry)
        self.collections = [spec.name for spec in self.layers]

    def operation(self, route: Any, method: str, base: dict[str, Any]) -> dict[str, Any]:
        extra = route.openapi_extra or {}
        params: dict[tuple[str, str], dict[str, Any]] = {}
        for param in base.get("parameters", []):
            params[(param["name"], param["in"])] = param
        for name in route.param_convertors:
            params[(name, "path")] = {
                "name": name,
                "in": "path",
                "required": True,
                "schema": _path_schema(name, self.collections, list(self.processes)),
            }
        calls = set(_dependency_calls(route.dependant))
        for call, param in _FROM_DEPENDENCY.items():
            if call in calls:
                params[(param["name"], "query")] = copy.deepcopy(param)
        for entry in extra.get("x-query", []):
            param = copy.deepcopy(self.query[entry] if isinstance(entry, str) else entry)
            params[(param["name"], "query")] = param
        media = list(extra.get("x-media", ["application/json"]))
        if output_format in calls and "text/html" not in media:
            media.append("text/html")
        ok = base.get("responses", {}).get("200", {}).get("description") or "OK"
        responses: dict[str, Any] = {
            "200": _response(ok, {m: {"schema": {}} for m in media}),
        }
        for status, said in (route.responses or {}).items():
            code = int(status)
            if code >= 400:
                responses[str(code)] = _error(code)
            else:
                responses[str(code)] = _response(
                    str(said.get("description", HTTPStatus(code).phrase)),
                    said.get("content"),
                )
        statuses = {401, 429, 503}
        if any(p["in"] == "query" for p in params.values()) or "requestBody" in base:
            statuses.add(400)
        if route.param_convertors:
            statuses.add(404)
        for status in sorted(statuses):
            responses.setdefault(str(status), _error(status))
        found: dict[str, Any] = {
            "operationId": _operation_id(method, route.path.removeprefix("/ogc")),
            "summary": route.summary or (route.description or route.name).split("\n")[0],
            "tags": [str(t) for t in route.tags] or ["OGC API"],
            "parameters": list(params.values()),
            "responses": responses,
        }
        if "requestBody" in base:
            found["requestBody"] = base["requestBody"]
        return oas30(found)  # type: ignore[no-any-return]

    def per_collection(self, path: str, op: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        for spec in self.layers:
            concrete = copy.deepcopy(op)
            concrete["operationId"] = f"{op['operationId']}_{spec.name}"
            concrete["parameters"] = [
                p for p in concrete["parameters"] if p["name"] != "collectionId"
            ]
            known = {p["name"] for p in concrete["parameters"]}
            concrete["parameters"] += [
                queryable_parameter(spec, field)
                for field in spec.fields_for(current_reader())
                if field.name not in known
            ]
            concrete["summary"] = f"{op['summary']}: {spec.name}"
            yield _concrete(path.replace("{collectionId}", spec.name), concrete)

    def per_process(self, path: str, op: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        for process_id, description in self.processes.items():
            concrete = copy.deepcopy(op)
            concrete["operationId"] = f"{op['operationId']}_{process_id}"
            concrete["parameters"] = [p for p in concrete["parameters"] if p["name"] != "processId"]
            media: dict[str, Any] = {"schema": _drop_none(_body_schema(description))}
            if "example" in description:
                media["example"] = description["example"]
            concrete["requestBody"] = {"required": True, "content": {"application/json": media}}
            concrete["responses"].setdefault("400", _error(400))
            concrete["summary"] = f"{op['summary']}: {process_id}"
            yield _concrete(path.replace("{processId}", process_id), concrete)

    def paths(self) -> tuple[dict[str, Any], dict[str, Any]]:
        routes = api_routes(self.request.app)
        # what FastAPI says of the routes it shows (declared parameters, pydantic bodies)
        fastapi = get_openapi(title="gisplatform", version="1", routes=self.request.app.routes)
        paths: dict[str, Any] = {}
        for route in routes:
            path = route.path.removeprefix("/ogc")
            extra = route.openapi_extra or {}
            for method in sorted(m.lower() for m in route.methods or ()):
                if method not in _METHODS:
                    continue
                base = fastapi.get("paths", {}).get(route.path, {}).get(method, {})
                op = self.operation(route, method, base)
                if extra.get("x-per-collection"):
                    expanded = list(self.per_collection(path, op))
                elif extra.get("x-per-process"):
                    expanded = list(self.per_process(path, op))
                else:
                    expanded = [(path, op)]
                for where, concrete in expanded:
                    item = paths.setdefault(where, {})
                    item[method] = concrete
                    if method == "get":
                        item["head"] = _head(concrete)
        return paths, oas30(fastapi.get("components", {}))


def _concrete(path: str, op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An operation expanded to one existing resource: without path parameters, no 404."""
    if "{" not in path:
        op["responses"].pop("404", None)
    return path, op


def _head(get: dict[str, Any]) -> dict[str, Any]:
    head = copy.deepcopy(get)
    head["operationId"] = "head" + get["operationId"].removeprefix("get")
    head["summary"] = f"{get['summary']} (headers only)"
    head["responses"] = {
        status: {"description": said["description"]} for status, said in get["responses"].items()
    }
    return head


def openapi_document(request: Request) -> dict[str, Any]:
    """OpenAPI 3.0 of ``/ogc`` for the request's audience, with no remote references."""
    paths, components = _Builder(request).paths()
    schemas = {**components.get("schemas", {}), "Exception": EXCEPTION_SCHEMA}
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for item in paths.values():
        for op in item.values():
            op["responses"].pop("422", None)
    return {
        "openapi": "3.0.3",
        "info": {"title": "gisplatform OGC API", "version": "1.0.0", "description": _DESCRIPTION},
        "servers": [{"url": base_url(request)}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{}, {"basic": []}, {"bearer": []}],
    }
