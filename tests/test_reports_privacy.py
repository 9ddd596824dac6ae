"""Privacy matrix: no public endpoint gives away a reporter's contact, address hash, token or
the photo's original EXIF.

Reports are submitted with a distinctive contact and a photo whose EXIF carries GPS and a
marker, then moderated. The endpoints are not listed by hand: every GET route of the app is
requested as the public, each path parameter filled with every value the app itself
offers for it (collections, features, records, processes, tile matrix sets, the tiles
covering each report, report ids and tokens …); a route whose parameter this test cannot
fill fails the test, so a new endpoint is covered or noticed. The static export and the
web map's page (its configuration) are read too. Response bodies are searched as bytes,
MVT tiles included.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import morecantile
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from PIL import ExifTags, Image

from gisplatform.ogcapi import create_app
from gisplatform.registry import LayerRegistry
from gisplatform.reports.open311 import FORMATS as OPEN311_FORMATS
from gisplatform.webmap import export_static_map
from tests.conftest import make_settings
from tests.live import live_server
from tests.reports_helpers import (
    api_connect,
    form_token_for,
    jpeg_with_gps,
    moderate,
    remove_reports,
)

CONTACT = "privacy-contact-" + secrets.token_hex(6) + "@example.org"
EXIF_MARKER = "exif-marker-" + secrets.token_hex(6)
#: the zoom levels whose tiles over each report are read
ZOOMS = (10, 14, 17)
#: path parameters filled from the tiles covering the reports, by the route's naming
TILE_PARAMS = {"tileMatrix", "tileRow", "tileCol", "z", "x", "y"}


def exif_photo() -> tuple[bytes, bytes]:
    """A JPEG whose EXIF holds GPS and the marker; (the file, its EXIF block)."""
    photo = jpeg_with_gps(64, 48, description=EXIF_MARKER)
    image = Image.open(io.BytesIO(photo))
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the test photo must carry GPS"
    return photo, bytes(image.info["exif"])


@dataclass
class Secrets:
    """What no public response may contain, and what the test made."""

    ids: list[int]
    tokens: dict[int, str]
    token_hashes: list[str]
    client_hashes: list[str]
    exif_block: bytes
    points: list[tuple[float, float]]
    features: dict[str, list[str]] = field(default_factory=dict)

    def needles(self, allowed_token: str | None = None) -> dict[str, bytes]:
        found = {
            "contact": CONTACT.encode(),
            "exif marker": EXIF_MARKER.encode(),
            "exif block": self.exif_block,
        }
        for n, value in enumerate(self.client_hashes):
            found[f"client hash {n}"] = value.encode()
        for n, value in enumerate(self.token_hashes):
            found[f"token hash {n}"] = value.encode()
        for request_id, token in self.tokens.items():
            if token != allowed_token:
                found[f"token of {request_id}"] = token.encode()
        return found


def _submit(
    url: str, photo: bytes, spec: tuple[str, str | None, str | None, float, float, str]
) -> tuple[int, str]:
    kind, layer, feature, lon, lat, answers = spec
    token = secrets.token_urlsafe(16)
    with api_connect(url) as conn:
        row = conn.execute(
            "SELECT request_id FROM reports.submit(%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s,"
            " %s, 'web', 1000, 60, %s, 'image/jpeg', 64, 48)",
            [
                hashlib.sha256(token.encode()).hexdigest(),
                kind,
                layer,
                feature,
                lon,
                lat,
                answers,
                "a resident's description",
                CONTACT,
                "privacy-client-" + secrets.token_hex(8),
                photo,  # stored as sent: the worst case, a photo the service did not clean
            ],
        ).fetchone()
        conn.commit()
    assert row is not None and row[0] is not None
    return int(row[0]), token


def _post(root: str, app: FastAPI, photo: bytes, fields: dict[str, str]) -> tuple[int, str]:
    """A report through the web form's endpoint, as a resident sends it."""
    form = {**fields, "contact": CONTACT, "description": "Двері зачинені"}
    form |= {"form_token": form_token_for(app), "website": ""}
    response = httpx.post(
        f"{root}/reports",
        data=form,
        files={"photo": ("photo.jpg", photo, "image/jpeg")},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return int(body["id"]), str(body["token"])


@pytest.fixture(scope="module")
def app(demo_db_url: str, registry: LayerRegistry) -> FastAPI:
    return create_app(make_settings(demo_db_url), registry)


@pytest.fixture(scope="module")
def root(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def made(demo_db_url: str, root: str, app: FastAPI) -> Iterator[Secrets]:
    photo, block = exif_photo()
    with psycopg.connect(demo_db_url) as conn:
        shelter = conn.execute(
            "SELECT fid, ST_X(geom), ST_Y(geom) FROM gis.shelters ORDER BY fid LIMIT 1"
        ).fetchone()
        light = conn.execute(
            "SELECT fid, ST_X(geom), ST_Y(geom) FROM gis.street_lights ORDER BY fid LIMIT 1"
        ).fetchone()
    assert shelter is not None and light is not None
    sid, slon, slat = str(shelter[0]), float(shelter[1]), float(shelter[2])
    lid, llon, llat = str(light[0]), float(light[1]), float(light[2])
    plans = [
        ("shelter_problem", "shelters", sid, slon, slat, '{"problem": "locked"}'),
        ("street_light_out", "street_lights", lid, llon, llat, '{"state": "dark"}'),
        ("other_problem", None, None, slon + 0.001, slat, "{}"),
        ("shelter_problem", "shelters", sid, slon, slat, '{"problem": "missing"}'),
    ]
    # the worst case: photos stored as sent (EXIF and all), straight through reports.submit
    submitted = [_submit(demo_db_url, photo, plan) for plan in plans]
    # and the real path: the web form, which cleans the photo on the way in
    shelter_form = {
        "kind": "shelter_problem",
        "layer": "shelters",
        "feature_id": sid,
        "lon": str(slon),
        "lat": str(slat),
        "answer.problem": "unfit",
        "answer.unfit_reasons": "flooded",
    }
    submitted.append(_post(root, app, photo, shelter_form))
    other_form = {"kind": "other_problem", "lon": str(llon), "lat": str(llat)}
    submitted.append(_post(root, app, photo, other_form))
    ids = [i for i, _ in submitted]
    moderate(demo_db_url, ids[0], "open")
    moderate(demo_db_url, ids[1], "open")
    moderate(demo_db_url, ids[1], "resolved", "Лампу замінено")
    moderate(demo_db_url, ids[2], "rejected", "Не стосується громади")
    moderate(demo_db_url, ids[4], "open")
    moderate(demo_db_url, ids[5], "open")  # ids[3] stays unconfirmed
    with psycopg.connect(demo_db_url) as conn:
        rows = conn.execute(
            "SELECT token, client_hash FROM reports.requests WHERE id = ANY(%s)", [ids]
        ).fetchall()
    try:
        yield Secrets(
            ids=ids,
            tokens=dict(submitted),
            token_hashes=[r[0] for r in rows],
            client_hashes=[r[1] for r in rows],
            exif_block=block,
            points=[(p[3], p[4]) for p in plans] + [(llon, llat)],
            features={"shelters": [sid], "street_lights": [lid]},
        )
    finally:
        remove_reports(demo_db_url, ids)


def get_routes(app: FastAPI) -> list[str]:
    """Every GET path of the app (from its routes: whoever wrote them)."""
    return sorted(
        {
            context.path
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
            and "GET" in (context.original_route.methods or ())
        }
    )


class Values:
    """Values of each path parameter, asked of the running app as the public."""

    def __init__(self, http: httpx.Client, made: Secrets, registry: LayerRegistry) -> None:
        self.http = http
        self.made = made
        self.registry = registry

    def json(self, path: str) -> Any:
        response = self.http.get(path, params={"f": "json"})
        assert response.status_code == 200, (path, response.text)
        return response.json()

    def collections(self) -> list[str]:
        return [c["id"] for c in self.json("/ogc/collections")["collections"]]

    def features(self, collection: str) -> list[str]:
        items = self.json(f"/ogc/collections/{collection}/items?limit=3")["features"]
        found = [str(f["id"]) for f in items]
        if collection == "reports":
            found += [str(i) for i in self.made.ids]  # unconfirmed ones too: they must 404
        return found + self.made.features.get(collection, [])

    def tiles(self, tms_id: str) -> list[dict[str, str]]:
        tms = morecantile.tms.get(tms_id)
        found = []
        for lon, lat in self.made.points:
            for zoom in ZOOMS:
                if zoom > tms.maxzoom:
                    continue
                tile = tms.tile(lon, lat, zoom)
                found.append(
                    {"tileMatrix": str(zoom), "tileRow": str(tile.y), "tileCol": str(tile.x),
                     "z": str(zoom), "x": str(tile.x), "y": str(tile.y)}
                )  # fmt: skip
        return found

    def simple(self, name: str) -> list[str]:
        """Values of a parameter that does not depend on another one."""
        if name == "recordId":
            return [r["id"] for r in self.json("/ogc/collections/catalogue/items")["features"]]
        if name == "tileMatrixSetId":
            return [t["id"] for t in self.json("/ogc/tileMatrixSets")["tileMatrixSets"]]
        if name == "processId":
            return [p["id"] for p in self.json("/ogc/processes")["processes"]]
        if name == "jobId":
            jobs = self.http.get("/ogc/jobs", params={"f": "json"}).json().get("jobs", [])
            return [j["jobID"] for j in jobs][:3] or ["no-such-job"]
        if name == "token":
            return list(self.made.tokens.values())
        if name == "fmt":  # Open311's formats
            return list(OPEN311_FORMATS)
        if name == "code":  # Open311 service codes, as the service list gives them
            services = self.http.get("/open311/v2/services.json").json()
            return [str(one["service_code"]) for one in services]
        if name in ("report_id", "ident"):  # Open311's and moderation's request ids: the
            return [str(i) for i in self.made.ids]  # test's reports, unconfirmed too
        raise AssertionError(f"no values for the path parameter {name!r}: teach this test")


def expand(path: str, values: Values) -> list[str]:
    """Every URL of ``path`` with its parameters filled."""
    names = re.findall(r"{(\w+)}", path)
    urls = [path]
    if "collectionId" in names:
        urls = [u.replace("{collectionId}", c) for u in urls for c in values.collections()]
    if "featureId" in names:
        urls = [
            u.replace("{featureId}", fid)
            for u in urls
            for fid in values.features(u.split("/collections/")[1].split("/")[0])
        ]
    if "tileMatrixSetId" in names:
        urls = [
            u.replace("{tileMatrixSetId}", t)
            for u in urls
            for t in values.simple("tileMatrixSetId")
        ]
    if TILE_PARAMS & set(names):
        urls = [
            re.sub(r"{(\w+)}", lambda m, t=tile: t.get(m.group(1), m.group(0)), u)
            for u in urls
            for tile in values.tiles(re.findall(r"/tiles/(\w+)", u)[0])
        ]
    for name in set(re.findall(r"{(\w+)}", " ".join(urls))):
        urls = [u.replace(f"{{{name}}}", v) for u in urls for v in values.simple(name)]
    return sorted(set(urls))


def _leaks(body: bytes, needles: dict[str, bytes]) -> list[str]:
    return [name for name, needle in needles.items() if needle and needle in body]


def test_the_secrets_are_stored_where_they_must_be(demo_db_url: str, made: Secrets) -> None:
    """The test searches for something real: the contact, hashes and EXIF are in the tables."""
    with psycopg.connect(demo_db_url) as conn:
        rows = conn.execute(
            "SELECT r.contact, p.content FROM reports.requests AS r"
            " JOIN reports.photos AS p ON p.request_id = r.id WHERE r.id = ANY(%s)",
            [made.ids],
        ).fetchall()
    assert len(rows) == len(made.ids)
    assert all(contact == CONTACT for contact, _ in rows)
    # the four stored as sent hold the EXIF; the web form's two were cleaned on the way in
    assert sum(made.exif_block in bytes(content) for _, content in rows) == 4


def test_no_public_endpoint_leaks(
    root: str, app: FastAPI, made: Secrets, registry: LayerRegistry
) -> None:
    requested: dict[str, int] = {}
    leaks: list[tuple[str, list[str]]] = []
    with httpx.Client(base_url=root, timeout=120) as http:
        values = Values(http, made, registry)
        for path in get_routes(app):
            urls = expand(path, values)
            assert urls, path
            for url in urls:
                token = next((t for t in made.tokens.values() if t in url), None)
                needles = made.needles(allowed_token=token)
                tiled = bool(TILE_PARAMS & set(re.findall(r"{(\w+)}", path)))
                for variant in ({},) if tiled else ({"f": "json"}, {"f": "html"}, {}):
                    sep = "&" if "?" in url else "?"
                    query = "&".join(f"{k}={v}" for k, v in variant.items())
                    target = f"{url}{sep}{query}" if query else url
                    if "/items" in url and not re.search(r"/items/", url):
                        target += "&limit=10000" if "?" in target else "?limit=10000"
                    response = http.get(target)
                    assert response.status_code < 500, (target, response.text[:300])
                    requested[path] = requested.get(path, 0) + 1
                    found = _leaks(response.content, needles)
                    if found:
                        leaks.append((target, found))
    assert not leaks, leaks
    assert set(requested) == set(get_routes(app))
    print(f"privacy matrix: {len(requested)} routes, {sum(requested.values())} requests")
    # the reports' own collection answered with them (the matrix reached the data)
    assert (
        requested[
            "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"
        ]
        > 0
    )


def test_static_export_leaks_nothing(
    demo_db_url: str, registry: LayerRegistry, made: Secrets, tmp_path: Path
) -> None:
    out = tmp_path / "map.html"
    export_static_map(demo_db_url, registry, out)
    body = out.read_bytes()
    assert b"<html" in body
    assert not _leaks(body, made.needles())


def test_the_matrix_catches_a_leak(root: str, demo_db_url: str, made: Secrets) -> None:
    """Negative control (runs last): a moderator writing the contact into the public reason
    is caught."""
    moderate(demo_db_url, made.ids[0], "in_progress", f"call {CONTACT}")
    try:
        body = httpx.get(f"{root}/ogc/collections/reports/items/{made.ids[0]}", timeout=60).content
        assert _leaks(body, made.needles()) == ["contact"]
    finally:
        moderate(demo_db_url, made.ids[0], "open")
