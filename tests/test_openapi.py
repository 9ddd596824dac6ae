"""The OpenAPI document and the HTTP semantics of ``/ogc``: every route described, queryables
typed from the registry, execution bodies, HEAD, Allow, Vary and one exception shape."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gisplatform.ogcapi.cql import MAX_DEPTH
from gisplatform.ogcapi.openapi import api_routes
from gisplatform.ogcapi.pygeoapi_config import PROCESSORS
from gisplatform.registry import Access, FieldType, LayerRegistry
from tests.live import live_server, platform_app

pytestmark = [pytest.mark.db]

_TYPES = {
    FieldType.INTEGER: "integer",
    FieldType.NUMBER: "number",
    FieldType.BOOLEAN: "boolean",
    FieldType.STRING: "string",
    FieldType.ENUM: "string",
    FieldType.DATE: "string",
    FieldType.DATETIME: "string",
    FieldType.STRING_LIST: "string",
}
_SHAPE = {"type", "title", "status", "detail", "code", "description"}


@pytest.fixture(scope="module")
def served(demo_db_url: str, registry: LayerRegistry) -> Iterator[tuple[str, Any]]:
    app = platform_app(demo_db_url, registry)
    with live_server(app) as root:
        yield root, app


@pytest.fixture(scope="module")
def api(served: tuple[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0] + "/ogc", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def document(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/api")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc: dict[str, Any] = response.json()
    return doc


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= _SHAPE, body
    assert body["status"] == status and body["detail"] == body["description"]
    return body


def test_every_ogc_route_is_described(
    served: tuple[str, Any], document: dict[str, Any], registry: LayerRegistry
) -> None:
    paths = document["paths"]
    public = [spec.name for spec in registry.list(Access.PUBLIC)]
    routes = api_routes(served[1])
    assert len(routes) > 30
    for route in routes:
        path = route.path.removeprefix("/ogc")
        expanded = {path}
        if (route.openapi_extra or {}).get("x-per-collection"):
            expanded = {path.replace("{collectionId}", name) for name in public}
        if (route.openapi_extra or {}).get("x-per-process"):
            expanded = {path.replace("{processId}", pid) for pid in PROCESSORS}
        for where in expanded:
            assert where in paths, where
            for method in route.methods or ():
                assert method.lower() in paths[where], (where, method)
            if "GET" in (route.methods or ()):
                assert "head" in paths[where], where
    for item in paths.values():
        for op in item.values():
            assert op["operationId"] and op["responses"]
            for status in ("401", "429", "503"):
                schema = op["responses"][status]
                if op is not item.get("head"):
                    ref = schema["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Exception"
            assert "422" not in op["responses"]  # FastAPI's, never sent: we answer 400
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert set(document["components"]["schemas"]["Exception"]["required"]) == _SHAPE


def test_queryables_are_typed_per_collection_and_hidden_layers_absent(
    document: dict[str, Any], registry: LayerRegistry
) -> None:
    paths = document["paths"]
    text = json.dumps(document)
    for spec in registry.list(Access.STAFF):
        if not spec.visible_to(Access.PUBLIC):
            assert f"/collections/{spec.name}" not in text, spec.name
    for spec in registry.list(Access.PUBLIC):
        op = paths[f"/collections/{spec.name}/items"]["get"]
        params = {p["name"]: p for p in op["parameters"]}
        public = spec.fields_for(Access.PUBLIC)
        for field in public:
            schema = params[field.name]["schema"]
            assert schema["type"] == _TYPES[field.type], (spec.name, field.name)
            if field.values:
                assert schema["enum"] == [v.value for v in field.values]
            if field.type is FieldType.DATE:
                assert schema["format"] == "date"
        for field in spec.fields:
            if field not in public:
                assert field.name not in params, (spec.name, field.name)
        for name in ("bbox", "limit", "datetime", "bbox-crs", "crs"):
            assert (params[name]["style"], params[name]["explode"]) == ("form", False), name
        assert params["limit"]["schema"]["type"] == "integer"
        assert params["bbox"]["schema"]["type"] == "array"
        assert set(op["responses"]) >= {"200", "400", "401", "429", "503"}
        assert set(op["responses"]["200"]["content"]) == {"application/geo+json", "text/html"}


def test_execution_bodies_come_from_the_process_descriptions(
    api: httpx.Client, document: dict[str, Any]
) -> None:
    for process_id in PROCESSORS:
        description = api.get(f"/processes/{process_id}").json()
        op = document["paths"][f"/processes/{process_id}/execution"]["post"]
        media = op["requestBody"]["content"]["application/json"]
        inputs = media["schema"]["properties"]["inputs"]
        assert set(inputs["properties"]) == set(description["inputs"])
        required = {n for n, i in description["inputs"].items() if i["minOccurs"] >= 1}
        assert set(inputs.get("required", [])) == required
        assert {"200", "201", "400", "413", "415", "429", "503"} <= set(op["responses"])
        # the example is a request the server runs
        ran = api.post(f"/processes/{process_id}/execution", json=media["example"])
        assert ran.status_code == 200, ran.text
    schemas = json.dumps(document)
    assert '"const"' not in schemas and '"type": "null"' not in schemas  # OpenAPI 3.0


def test_head_wherever_get_is(api: httpx.Client, document: dict[str, Any]) -> None:
    plain = [p for p in document["paths"] if "{" not in p and "get" in document["paths"][p]]
    assert len(plain) > 10
    for path in plain:
        got = api.get(path)
        head = api.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b""
        for name in ("content-type", "content-language", "vary", "content-crs"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
    # a streamed page (more than 100 features) and an error
    streamed = api.head("/collections/buildings/items", params={"limit": 1000})
    assert streamed.status_code == 200 and streamed.content == b""
    assert streamed.headers["content-type"] == "application/geo+json"
    refused = api.head("/collections/buildings/items", params={"limit": "many"})
    assert refused.status_code == 400 and refused.content == b""
    assert api.head("/collections/buildings/items").status_code == 200  # the connection lives on


def test_405_carries_allow(api: httpx.Client) -> None:
    cases = {
        ("POST", "/collections"): {"GET", "HEAD"},
        ("GET", "/processes/nearest-shelter/execution"): {"POST"},
        ("PUT", "/jobs/0123456789abcdef"): {"GET", "HEAD", "DELETE"},
        # the collection's items take POST (Features Part 4: 401 without sign-in) and OPTIONS
        ("DELETE", "/collections/shelters/items"): {"GET", "HEAD", "OPTIONS", "POST"},
        ("POST", "/static/ogc.css"): {"GET", "HEAD"},
    }
    for (method, path), allowed in cases.items():
        response = api.request(method, path)
        _problem(response, 405)
        assert {m.strip() for m in response.headers["allow"].split(",")} == allowed, path


def test_vary_on_negotiated_responses(api: httpx.Client) -> None:
    for path in ("/collections", "/collections/shelters/items", "/", "/conformance"):
        vary = {v.strip() for v in api.get(path).headers["vary"].split(",")}
        assert {"Accept", "Accept-Language"} <= vary, path
    # chosen by the query, not negotiated
    chosen = api.get("/collections", params={"f": "json", "lang": "en"})
    assert chosen.headers["vary"] == "Accept-Language"  # it has a language (its errors too)
    tileset = api.get("/tiles/WebMercatorQuad")
    assert tileset.headers["vary"] == "Accept-Language"
    assert "vary" not in api.get("/tiles/WebMercatorQuad", params={"lang": "en"}).headers
    tile = api.get("/collections/shelters/tiles/WebMercatorQuad/0/0/0")
    assert "Accept" not in tile.headers.get("vary", "")


def test_one_exception_shape_everywhere(api: httpx.Client) -> None:
    _problem(api.get("/collections/shelters/items", params={"limit": "x"}), 400)
    _problem(api.get("/collections/nowhere"), 404)
    _problem(api.get("/nowhere"), 404)
    _problem(api.get("/processes/nowhere"), 404)
    _problem(api.get("/jobs/0123456789abcdef"), 404)
    _problem(api.get("/jobs/0123456789abcdef/results"), 404)
    _problem(api.delete("/jobs/0123456789abcdef"), 404)
    _problem(api.get("/collections", headers={"Authorization": "Bearer nothing"}), 401)
    execution = "/processes/nearest-shelter/execution"
    _problem(api.post(execution, content=b"{}", headers={"Content-Type": "text/plain"}), 415)
    _problem(
        api.post(execution, content=b" " * 70_000, headers={"Content-Type": "application/json"}),
        413,
    )
    for body in ("[]", "null", "0", '"AAA"', "true", "{"):
        for process_id in PROCESSORS:
            response = api.post(
                f"/processes/{process_id}/execution",
                content=body.encode(),
                headers={"Content-Type": "application/json"},
            )
            _problem(response, 400)
    _problem(api.post(execution, json={"inputs": []}), 400)


def test_catalogue_has_an_extent_in_collections(api: httpx.Client) -> None:
    collections = api.get("/collections").json()["collections"]
    catalogue = next(c for c in collections if c.get("itemType") == "record")
    bbox = catalogue["extent"]["spatial"]["bbox"][0]
    boxes = [  # every collection with a spatial extent (the reports one has none while empty)
        c["extent"]["spatial"]["bbox"][0]
        for c in collections
        if c is not catalogue and "spatial" in c.get("extent", {})
    ]
    assert bbox == [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]
    assert api.get(f"/collections/{catalogue['id']}").json()["extent"] == catalogue["extent"]


def test_deeply_nested_filters_are_400_naming_the_filter(
    api: httpx.Client, registry: LayerRegistry
) -> None:
    spec = registry.list(Access.PUBLIC)[0]
    field = next(f for f in spec.fields_for(Access.PUBLIC) if f.type is FieldType.STRING)
    leaf = f"{field.name} = 'x'"

    def nested(depth: int) -> str:
        return f"({leaf} AND " * depth + leaf + ")" * depth

    nested_json: Any = {"op": "=", "args": [{"property": field.name}, "x"]}
    for _ in range(600):
        nested_json = {"op": "not", "args": [nested_json]}
    for text, lang in (
        (nested(1500), "cql2-text"),  # compiled recursively: past Python's recursion limit
        (nested(MAX_DEPTH), "cql2-text"),
        (json.dumps(nested_json, separators=(",", ":")), "cql2-json"),
    ):
        response = api.get(
            f"/collections/{spec.name}/items",
            params={"filter": text, "filter-lang": lang, "lang": "en"},
        )
        body = _problem(response, 400)
        assert body["detail"].startswith("filter: the expression is nested too deeply"), body
    fine = api.get(f"/collections/{spec.name}/items", params={"filter": nested(MAX_DEPTH - 2)})
    assert fine.status_code == 200, fine.text


def test_document_names_only_routes_that_exist(document: dict[str, Any]) -> None:
    for path in document["paths"]:
        assert re.fullmatch(r"/[A-Za-z0-9_./{}-]*", path), path
