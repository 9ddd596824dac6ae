"""Conditional reads of one feature: ``If-None-Match`` against the strong ETag from its version.

RFC 9110 §13.1.2: the weak comparison (``W/"v3"`` matches ``"v3"``), a list, ``*``; a match is
a 304 without a body that keeps ETag, Cache-Control and Vary. The public's answers may be kept
by any cache but are revalidated each time; a signed-in reader's are ``private``; both vary on
who asks. An edit changes the tag; another CRS is another representation with its own tag.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gisplatform.registry import LayerRegistry
from tests.edit_helpers import GEOJSON, MERGE_PATCH, EditSite, edit_layer, edit_site, feature

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def site(server_url: str, registry: LayerRegistry) -> Iterator[EditSite]:
    with edit_site(server_url, registry, "gisplatform_item_conditional") as running:
        yield running


def _new_feature(site: EditSite, n: int) -> str:
    spec = edit_layer(site.registry)
    writer = site.headers(spec.write_roles[0])
    r = httpx.post(
        f"{site.url}/ogc/collections/{spec.name}/items",
        json=feature(site.registry, spec, n),
        headers={**writer, "Content-Type": GEOJSON},
    )
    assert r.status_code == 201, r.text
    return str(r.headers["Location"])


def _vary(response: httpx.Response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("vary", "").split(",")}


def test_public_read_answers_304_to_a_matching_if_none_match(site: EditSite) -> None:
    url = _new_feature(site, 1)
    first = httpx.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag == '"v1"'
    assert first.headers["Cache-Control"] == "public, no-cache"
    assert {"authorization", "cookie"} <= _vary(first)
    for header in (etag, f"W/{etag}", f'"v999", {etag}', "*"):
        again = httpx.get(url, headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.content == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == "public, no-cache"
        assert {"authorization", "cookie"} <= _vary(again)
    head = httpx.head(url, headers={"If-None-Match": etag})
    assert head.status_code == 304 and head.headers["ETag"] == etag
    for other in ('"v2"', 'W/"v0"', '"1"'):
        changed = httpx.get(url, headers={"If-None-Match": other})
        assert changed.status_code == 200 and changed.json()["id"] == first.json()["id"]


def test_staff_reads_are_private_and_revalidate_too(site: EditSite) -> None:
    url = _new_feature(site, 2)
    staff = site.headers("staff")
    first = httpx.get(url, headers=staff)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert {"authorization", "cookie"} <= _vary(first)
    again = httpx.get(url, headers={**staff, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "private, no-cache"
    assert again.content == b""


def test_an_edit_changes_the_tag_the_next_read_compares(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    writer = site.headers(spec.write_roles[0])
    url = _new_feature(site, 3)
    before = httpx.get(url).headers["ETag"]
    text = next(f.name for f in spec.fields if f.type.value == "string" and not f.pattern)
    patched = httpx.patch(
        url,
        json={"properties": {text: "змінено"}},
        headers={**writer, "Content-Type": MERGE_PATCH, "If-Match": before},
    )
    assert patched.status_code == 200, patched.text
    after = patched.headers["ETag"]
    assert after != before
    stale = httpx.get(url, headers={"If-None-Match": before})
    assert stale.status_code == 200
    assert stale.headers["ETag"] == after
    assert stale.json()["properties"][text] == "змінено"
    assert httpx.get(url, headers={"If-None-Match": after}).status_code == 304


def test_another_crs_is_another_representation(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    writer = site.headers(spec.write_roles[0])
    url = _new_feature(site, 4)
    metric = site.registry.hromada.metric_crs
    crs = f"http://www.opengis.net/def/crs/EPSG/0/{metric}"
    lonlat = httpx.get(url).headers["ETag"]
    projected = httpx.get(url, params={"crs": crs})
    assert projected.status_code == 200, projected.text
    tag = projected.headers["ETag"]
    assert tag == f'"v1-{metric}"' and tag != lonlat
    assert httpx.get(url, params={"crs": crs}, headers={"If-None-Match": tag}).status_code == 304
    assert httpx.get(url, params={"crs": crs}, headers={"If-None-Match": lonlat}).status_code == 200
    assert httpx.get(url, headers={"If-None-Match": tag}).status_code == 200
    # any representation's tag of the current version allows a write; a weak one never does
    weak = httpx.delete(url, headers={**writer, "If-Match": f"W/{tag}"})
    assert weak.status_code == 412
    assert httpx.delete(url, headers={**writer, "If-Match": tag}).status_code == 204
    assert httpx.get(url, headers={"If-None-Match": tag}).status_code == 404
