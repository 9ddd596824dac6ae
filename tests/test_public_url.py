"""Links never come from an untrusted Host header: refused, or the configured public URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gisplatform.ogcapi import create_app
from gisplatform.registry import LayerRegistry
from tests import live
from tests.conftest import make_settings

pytestmark = [pytest.mark.db]

EVIL = "evil.example"
PUBLIC = "https://gis.romny.gov.ua"
#: pages with links: landing, collections, items with a next link, the catalogue, tiles
PAGES = (
    "/",
    "/ogc",
    "/ogc/collections",
    "/ogc/collections/shelters",
    "/ogc/collections/shelters/items?limit=1",
    "/ogc/collections/shelters/items?limit=1&f=html",
    "/ogc/collections/catalogue/items?limit=1",
    "/ogc/collections/shelters/tiles",
    "/ogc/api",
    "/ogc/processes",
)
#: hosts that links must never name: the request's Host, the server's own address
LOCAL_HOSTS = {EVIL, "127.0.0.1", "localhost"}
NEAREST = {"inputs": {"origin": {"lon": 33.475, "lat": 50.751}, "limit": 1}}


@pytest.fixture(scope="module")
def default_root(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    """The app as configured by default: no public URL, loopback hosts trusted."""
    with live.live_server(live.platform_app(demo_db_url, registry)) as root:
        yield root


@pytest.fixture(scope="module")
def public_root(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    """The app behind a proxy that passes any Host: the public URL is configured."""
    settings = make_settings(demo_db_url, public_url=PUBLIC, trusted_hosts=["*"])
    with live.live_server(create_app(settings, registry)) as root:
        yield root


@pytest.mark.parametrize("path", PAGES)
def test_untrusted_host_is_refused(default_root: str, path: str) -> None:
    response = httpx.get(default_root + path, headers={"Host": EVIL}, timeout=60)
    assert response.status_code == 400
    assert EVIL not in response.text


def test_untrusted_host_cannot_start_a_job(default_root: str) -> None:
    response = httpx.post(
        default_root + "/ogc/processes/nearest-shelter/execution",
        json=NEAREST,
        headers={"Host": EVIL, "Prefer": "respond-async"},
        timeout=120,
    )
    assert response.status_code == 400
    assert EVIL not in response.headers.get("location", "")


def test_trusted_host_gets_its_own_links(default_root: str) -> None:
    port = default_root.rsplit(":", 1)[1]
    body = httpx.get(default_root + "/ogc", headers={"Host": f"localhost:{port}"}).json()
    assert {link["href"].split("/ogc")[0] for link in body["links"]} == {f"http://localhost:{port}"}


def _hrefs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("href", "url") and isinstance(item, str):
                yield item
            yield from _hrefs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _hrefs(item)


def test_public_url_is_the_only_origin_of_links(public_root: str) -> None:
    # The first processes request fixes pygeoapi's server URL: make it an evil one.
    first = httpx.post(
        public_root + "/ogc/processes/nearest-shelter/execution",
        json=NEAREST,
        headers={"Host": EVIL, "Prefer": "respond-async"},
        timeout=120,
    )
    assert first.status_code == 201, first.text
    assert first.headers["location"].startswith(PUBLIC + "/ogc/jobs/")
    assert EVIL not in first.text
    for path in PAGES:
        response = httpx.get(public_root + path, headers={"Host": EVIL}, timeout=60)
        assert response.status_code == 200, (path, response.text[:200])
        assert EVIL not in response.text, path
        kind = response.headers["content-type"]
        if kind.startswith(("application/json", "application/geo", "application/vnd.oai")):
            hrefs = list(_hrefs(json.loads(response.text)))
            assert hrefs, path
            local = [h for h in hrefs if urlsplit(h).hostname in LOCAL_HOSTS]
            assert not local, (path, local)
            assert any(h.startswith(PUBLIC + "/") for h in hrefs), path
    items = httpx.get(
        public_root + "/ogc/collections/shelters/items?limit=1", headers={"Host": EVIL}
    ).json()
    assert any(link["rel"] == "next" for link in items["links"])
    job = httpx.get(first.headers["location"].replace(PUBLIC, public_root), timeout=60)
    assert EVIL not in job.text and PUBLIC in job.text


@pytest.mark.parametrize(
    ("proxies", "expected"), [(None, (False, "")), ("10.0.0.5", (True, "10.0.0.5"))]
)
def test_serve_believes_forwarded_headers_only_from_configured_proxies(
    monkeypatch: pytest.MonkeyPatch, proxies: str | None, expected: tuple[bool, str]
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from gisplatform.cli import app

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **kwargs: seen.update(kwargs))
    env = {"GISPLATFORM_FORWARDED_ALLOW_IPS": proxies}
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 0, result.output
    assert (seen["proxy_headers"], seen["forwarded_allow_ips"]) == expected
