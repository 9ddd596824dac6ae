"""OIDC access tokens from a real identity provider (npm oidc-provider on loopback).

The provider issues real JWT access tokens (client credentials, RFC 8707 resource as ``aud``)
with roles in ``realm_access.roles`` (Keycloak's shape). The server verifies them with its
real verifier: what a token reads follows from the registry and the token's roles; every bad
token is a 401 with ``Bearer error="invalid_token"``; rotated keys are picked up; an
unreachable provider is a 503 for tokens only. Bad tokens are forged here with joserfc.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import psycopg
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from prometheus_client import CollectorRegistry

from gisplatform.access.oidc_keys import ProviderKeys
from gisplatform.i18n import message
from gisplatform.ogcapi import create_app
from gisplatform.registry import Audience, LayerRegistry
from gisplatform.reports.marks import MARK_PROPERTY
from gisplatform.settings import OidcSettings
from gisplatform.store.accounts import Accounts
from tests.conftest import make_settings
from tests.live import live_server
from tests.oidc_idp import Client, IdentityProvider, ec_key, identity_provider, rsa_key

pytestmark = pytest.mark.db

API = "https://gis.test/ogc"
OTHER_API = "https://other.test/api"
ROLES_CLAIM = "realm_access.roles"
#: the provider's role names; the role map makes them the registry's. The clerk's "admin" is
#: the provider's own (not in the map), so it opens nothing here.
CLIENTS = {
    "lights": Client("lights", ["gis-lighting", "offline_access"]),
    "rescue": Client("rescue", ["cp-officer"]),
    "clerk": Client("clerk", ["not-a-registry-role", "admin"]),
}
ROLE_MAP = {"gis-lighting": "lighting", "cp-officer": "civil_protection"}


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityProvider]:
    tmp = tmp_path_factory.mktemp("idp")
    with identity_provider(
        tmp,
        [rsa_key("k1")],
        "RS256",
        list(CLIENTS.values()),
        {API: 300, OTHER_API: 300},
        ROLES_CLAIM,
    ) as provider:
        yield provider


def _oidc(issuer: str, **overrides: Any) -> OidcSettings:
    values: dict[str, Any] = {
        "issuer": issuer,
        "audience": API,
        "roles_claim": ROLES_CLAIM,
        "role_map": ROLE_MAP,
        "leeway_s": 0,
        "keys_min_refresh_s": 0.5,
        **overrides,
    }
    return OidcSettings(**values)


@pytest.fixture(scope="module")
def base(demo_db_url: str, registry: LayerRegistry, idp: IdentityProvider) -> Iterator[str]:
    with psycopg.connect(demo_db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM auth.events WHERE method = 'oidc'")
    settings = make_settings(demo_db_url, oidc=_oidc(idp.issuer))
    with live_server(create_app(settings, registry)) as url:
        yield url


def _get(base: str, path: str, token: str, **params: str) -> httpx.Response:
    return httpx.get(
        base + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _listed(base: str, token: str) -> set[str]:
    response = _get(base, "/ogc/collections", token)
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["collections"]} - {"catalogue", "reports"}


def _events(demo_db_url: str) -> list[tuple[str | None, str, str]]:
    with psycopg.connect(demo_db_url) as conn:
        rows = conn.execute(
            "SELECT login, address, outcome FROM auth.events WHERE method = 'oidc' ORDER BY id"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


@pytest.mark.parametrize(
    ("client", "roles"),
    [("lights", {"lighting"}), ("rescue", {"civil_protection"}), ("clerk", set())],
)
def test_a_token_reads_what_its_roles_allow(
    base: str,
    idp: IdentityProvider,
    registry: LayerRegistry,
    demo_db_url: str,
    client: str,
    roles: set[str],
) -> None:
    audience = Audience(signed_in=True, roles=frozenset(roles))
    token = idp.token(CLIENTS[client], API)
    success = (client, "127.0.0.1", "success")
    before = _events(demo_db_url).count(success)
    expected = {spec.name for spec in registry.list(audience)}
    assert _listed(base, token) == expected
    restricted = {spec.name for spec in registry if spec.roles}
    assert restricted, "the registry has restricted layers"
    for spec in registry:
        response = _get(base, f"/ogc/collections/{spec.name}/items", token, limit="1")
        if not spec.visible_to(audience):
            assert response.status_code == 404, (client, spec.name)
            continue
        assert response.status_code == 200, (client, spec.name, response.text[:200])
        allowed = {f.name for f in spec.fields_for(audience)}
        for feature in response.json()["features"]:
            # besides its fields, a feature may carry its residents' report mark (public)
            assert set(feature["properties"]) - {MARK_PROPERTY} == allowed, (client, spec.name)
    if roles:  # the token's role opens some restricted layer that staff alone do not see
        assert expected - {s.name for s in registry.list(Audience(signed_in=True))}
    # one sign-in recorded for the token, not one per request (it is remembered until exp)
    assert _events(demo_db_url).count(success) == before + 1


def _forge(key: Any, claims: dict[str, Any], header: dict[str, Any]) -> str:
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def _hmac(secret: bytes, claims: dict[str, Any], header: dict[str, Any]) -> str:
    """HS256 keyed with the provider's public key (the classic algorithm confusion)."""
    signing_input = f"{_b64(header)}.{_b64(claims)}"
    digest = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _raw(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64(data: dict[str, Any]) -> str:
    return _raw(json.dumps(data).encode())


def _claims(idp: IdentityProvider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": idp.issuer,
        "aud": API,
        "sub": "lights",
        "preferred_username": "lights",
        "realm_access": {"roles": ["lighting"]},
        "iat": now,
        "exp": now + 300,
    }
    return {k: v for k, v in {**claims, **changes}.items() if v is not None}


def _bad_tokens(idp: IdentityProvider) -> dict[str, tuple[str, str]]:
    """Each way a token must be refused, and why; most are signed with the provider's key."""
    key = idp.keys[0]
    header = {"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}
    real = idp.token(CLIENTS["lights"], API)
    head, payload, signature = real.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    widened = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    widened[ROLES_CLAIM.split(".")[0]] = {"roles": ["lighting", "civil_protection", "admin"]}
    stranger = rsa_key("k1")  # another key claiming the provider's kid
    own = ec_key("own")
    public = RSAKey.import_key(key.as_dict(private=False)).as_pem(private=False)
    now = int(time.time())
    return {
        "expired": (_forge(key, _claims(idp, iat=now - 600, exp=now - 5), header), "expired"),
        "wrong audience": (idp.token(CLIENTS["lights"], OTHER_API), "audience"),
        "wrong issuer": (_forge(key, _claims(idp, iss="http://127.0.0.1:9/x"), header), "issuer"),
        "bad signature": (f"{head}.{payload}.{flipped}", "signature"),
        "widened payload": (f"{head}.{_b64(widened)}.{signature}", "signature"),
        "alg none": (f"{_b64({'alg': 'none', 'kid': key.kid})}.{payload}.", "algorithm"),
        "another key": (_forge(stranger, _claims(idp), header), "signature"),
        "another key, unknown kid": (
            _forge(rsa_key("intruder"), _claims(idp), {**header, "kid": "intruder"}),
            "unknown_key",
        ),
        "HS256 keyed with the public key": (
            _hmac(public, _claims(idp), {**header, "alg": "HS256"}),
            "algorithm",
        ),
        "its own key in the header": (
            _forge(own, _claims(idp), {"alg": "ES256", "kid": "own", "jwk": own.as_dict()}),
            "unknown_key",
        ),
        "not yet valid": (_forge(key, _claims(idp, nbf=now + 600), header), "not_yet"),
        "issued in the future": (_forge(key, _claims(idp, iat=now + 600), header), "claims"),
        "no expiry": (_forge(key, _claims(idp, exp=None), header), "claims"),
        "no audience": (_forge(key, _claims(idp, aud=None), header), "claims"),
        "no issuer": (_forge(key, _claims(idp, iss=None), header), "claims"),
        "no kid, no signature": ("eyJhbGciOiJSUzI1NiJ9.e30.", "signature"),
        "header not JSON": (_raw(b'{"alg": RS256') + ".e30.c2ln", "malformed"),
    }


def test_every_bad_token_is_401_invalid_token(
    base: str, idp: IdentityProvider, demo_db_url: str
) -> None:
    bad = _bad_tokens(idp)
    assert (
        _get(
            base, "/ogc/collections/lighting_cabinets", idp.token(CLIENTS["lights"], API)
        ).status_code
        == 200
    )
    before = len([e for e in _events(demo_db_url) if e[2] == "failure"])
    for number, (name, (token, why)) in enumerate(bad.items()):
        lang = ("uk", "en")[number % 2]
        response = _get(base, "/ogc/collections/lighting_cabinets", token, lang=lang)
        assert response.status_code == 401, (name, response.status_code, response.text)
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge, name
        body = response.json()
        assert body["code"] == "Unauthorized"
        reason = message("oidc_reason_" + why).get(lang)
        assert body["description"] == message("oidc_token_refused", reason=reason).get(lang), name
    failures = [e for e in _events(demo_db_url) if e[2] == "failure"]
    assert len(failures) - before == len(bad)
    # a token with the right signature names its holder in the log, a forged one does not
    assert ("lights", "127.0.0.1", "failure") in failures
    assert (None, "127.0.0.1", "failure") in failures
    with psycopg.connect(demo_db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM auth.events WHERE method = 'oidc' AND outcome = 'failure'")


def test_too_many_bad_tokens_from_one_address_is_429(
    base: str, idp: IdentityProvider, demo_db_url: str
) -> None:
    forged = _forge(rsa_key("intruder"), _claims(idp), {"alg": "RS256", "kid": idp.keys[0].kid})
    statuses = []
    try:
        for _ in range(60):  # the limit is 50 failures of one address in 5 minutes
            statuses.append(_get(base, "/ogc/collections", forged).status_code)
            if statuses[-1] == 429:
                break
        assert set(statuses[:-1]) == {401} and statuses[-1] == 429, statuses
        assert (None, "127.0.0.1", "limited") in _events(demo_db_url)
        # a valid token is no guess: it still signs in from that address
        assert "lighting_cabinets" in _listed(base, idp.token(CLIENTS["lights"], API))
    finally:
        with psycopg.connect(demo_db_url, autocommit=True) as conn:
            conn.execute("DELETE FROM auth.events WHERE method = 'oidc' AND outcome <> 'success'")


def _gdal_env(token: str) -> dict[str, str]:
    """How the installed GDAL sends a bearer token (GDAL_HTTP_AUTH=BEARER from 3.9 on)."""
    said = subprocess.run(["ogrinfo", "--version"], capture_output=True, text=True, check=True)
    major, minor = (int(p) for p in said.stdout.split()[1].rstrip(",").split(".")[:2])
    if (major, minor) >= (3, 9):
        return {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token}
    return {"GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"}


def test_gdal_and_the_python_client_read_with_an_oidc_token(
    base: str, idp: IdentityProvider
) -> None:
    from gisplatform.client import Client

    token = idp.token(CLIENTS["lights"], API)
    done = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc", "lighting_cabinets"],
        env={**os.environ, **_gdal_env(token)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Feature Count" in done.stdout and "cabinet_id" in done.stdout, done.stderr
    client = Client(base, token=token)
    try:
        cabinets = client.read_layer("lighting_cabinets")
        assert len(cabinets) > 0 and "cabinet_id" in cabinets.columns
    finally:
        client.close()


def test_personal_tokens_and_anonymous_are_unchanged(
    base: str, demo_db_url: str, registry: LayerRegistry
) -> None:
    with psycopg.connect(demo_db_url) as conn:
        accounts = Accounts(conn, registry.role_names)
        conn.execute("DELETE FROM auth.users WHERE login = 'oidc-neighbour'")
        accounts.add("oidc-neighbour", ["lighting"], None)
        token = accounts.create_token("oidc-neighbour", "t", None)
        conn.commit()
    try:
        assert "lighting_cabinets" in _listed(base, token)
        anonymous = httpx.get(base + "/ogc/collections/lighting_cabinets", timeout=30)
        assert anonymous.status_code == 404
    finally:
        with psycopg.connect(demo_db_url) as conn:
            conn.execute("DELETE FROM auth.users WHERE login = 'oidc-neighbour'")


def test_rotated_keys_are_picked_up(base: str, idp: IdentityProvider) -> None:
    old = idp.token(CLIENTS["lights"], API)
    assert "lighting_cabinets" in _listed(base, old)
    time.sleep(0.6)  # past keys_min_refresh_s since any earlier refresh
    idp.rotate([ec_key("k2"), *idp.keys], "ES256")
    new = idp.token(CLIENTS["lights"], API)
    header = json.loads(base64.urlsafe_b64decode(new.split(".")[0] + "=="))
    assert header["kid"] == "k2" and header["alg"] == "ES256"
    assert "lighting_cabinets" in _listed(base, new)
    assert "lighting_cabinets" in _listed(base, old)


def test_unknown_kids_refresh_the_keys_at_most_once_per_interval(idp: IdentityProvider) -> None:
    async def lookups() -> None:
        keys = ProviderKeys(_oidc(idp.issuer, keys_min_refresh_s=1.0))
        known = idp.keys[0]
        try:
            assert await keys.keys_for(known.kid, str(known.alg))
            assert keys.fetches == 1
            for _ in range(5):
                assert await keys.keys_for("forged-kid", "RS256") == []
            assert keys.fetches == 1
            await anyio.sleep(1.1)
            assert await keys.keys_for("forged-kid", "RS256") == []
            assert await keys.keys_for("forged-kid-2", "RS256") == []
            assert keys.fetches == 2
            assert await keys.keys_for(known.kid, str(known.alg))  # still held
        finally:
            await keys.aclose()

    anyio.run(lookups)


def test_keys_held_keep_working_while_the_provider_is_down(tmp_path: Path) -> None:
    metrics = CollectorRegistry()
    client = Client("c", [])
    with identity_provider(
        tmp_path, [ec_key("k9")], "ES256", [client], {API: 60}, "roles"
    ) as other:
        keys = ProviderKeys(
            _oidc(other.issuer, keys_min_refresh_s=0.1, http_timeout_s=1.0), metrics=metrics
        )

        async def outage() -> None:
            try:
                assert (await keys.current()).knows("k9")
                other.process.terminate()
                other.process.wait(timeout=10)
                keys.ttl_s = 0  # what is held is stale from now on
                await anyio.sleep(0.2)
                assert await keys.keys_for("k9", "ES256")  # the refresh fails; held keys serve
                await anyio.sleep(0.2)
                assert await keys.keys_for("k9", "ES256")
                assert await keys.keys_for("unknown", "ES256") == []
            finally:
                await keys.aclose()

        anyio.run(outage)
    failed = metrics.get_sample_value("gisplatform_oidc_key_fetches_total", {"outcome": "failed"})
    assert failed is not None and failed >= 2
    assert keys.fetches == 1


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A loopback address that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_an_unreachable_provider_is_503_for_tokens_only(
    demo_db_url: str, registry: LayerRegistry, idp: IdentityProvider, black_hole: str
) -> None:
    password = "neighbour-" + os.urandom(6).hex()
    with psycopg.connect(demo_db_url) as conn:
        conn.execute("DELETE FROM auth.users WHERE login = 'oidc-basic'")
        Accounts(conn, registry.role_names).add("oidc-basic", ["lighting"], password)
        conn.commit()
    token = idp.token(CLIENTS["lights"], API)
    settings = make_settings(demo_db_url, oidc=_oidc(black_hole, http_timeout_s=1.0))
    pair = base64.b64encode(f"oidc-basic:{password}".encode()).decode()
    try:
        with live_server(create_app(settings, registry)) as url:
            for lang, text in (("uk", "постачальник ідентичності"), ("en", "identity provider")):
                started = time.monotonic()
                response = _get(url, "/ogc/collections", token, lang=lang)
                assert response.status_code == 503, response.text
                assert text in response.json()["description"]
                assert time.monotonic() - started < 10
            assert httpx.get(url + "/ogc/collections", timeout=30).status_code == 200
            basic = httpx.get(
                url + "/ogc/collections/lighting_cabinets",
                headers={"Authorization": f"Basic {pair}"},
                timeout=30,
            )
            assert basic.status_code == 200
            exposed = httpx.get(url + "/metrics", timeout=30).text
            assert re.search(
                r'gisplatform_oidc_key_fetches_total\{outcome="failed"\} [1-9]', exposed
            )
        assert (None, "127.0.0.1", "unavailable") in _events(demo_db_url)
    finally:
        with psycopg.connect(demo_db_url) as conn:
            conn.execute("DELETE FROM auth.users WHERE login = 'oidc-basic'")


def test_settings_refuse_weak_algorithms_and_plain_http() -> None:
    for algorithms in ("none", "HS256", "RS256,HS512", ""):
        with pytest.raises(ValueError, match="algorithms not allowed"):
            OidcSettings(issuer="https://idp.test", audience=API, algorithms=algorithms)
    with pytest.raises(ValueError, match="https"):
        OidcSettings(issuer="http://idp.test", audience=API)
    with pytest.raises(ValueError, match="AUDIENCE"):
        OidcSettings(issuer="https://idp.test")
    parsed = OidcSettings(
        issuer="https://idp.test/realms/romny",
        audience=API,
        algorithms="ES256, RS256",
        role_map="gis-lighting=lighting, gis-cp=civil_protection",
    )
    assert parsed.algorithms == ["ES256", "RS256"]
    # docker compose passes unset variables as empty strings: OIDC off, no required role
    off = OidcSettings(issuer="", audience="", role_map="", required_role="")
    assert not off.enabled and off.required_role is None and off.role_map == {}
    assert parsed.role_map == {"gis-lighting": "lighting", "gis-cp": "civil_protection"}


def test_a_role_map_naming_unknown_roles_is_refused(registry: LayerRegistry) -> None:
    from gisplatform.access.oidc import OidcSignIn
    from gisplatform.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="no_such_role"):
        OidcSignIn(_oidc("https://idp.test", role_map={"x": "no_such_role"}), registry)


def test_roles_and_login_come_from_the_configured_claims(registry: LayerRegistry) -> None:
    """Verified claims → audience: mapped, filtered by the registry, a required role."""
    from gisplatform.access.oidc import OidcSignIn, Refused

    def audience(claims: dict[str, Any], **settings: Any) -> Audience:
        sign_in = OidcSignIn(_oidc("https://idp.test", **settings), registry)
        return sign_in.audience_of(claims)

    roles = ["cp-officer", "gis-lighting", "admin", "root"]
    keycloak = {"sub": "f3a1", "realm_access": {"roles": roles}}
    found = audience({**keycloak, "preferred_username": "olena"})
    assert found == Audience(True, frozenset({"civil_protection", "lighting"}), "olena")
    # without a map the provider's names count as they are, when the registry has them
    assert audience(keycloak, role_map={}).roles == {"admin"}
    assert audience(keycloak).login == "f3a1"  # no preferred_username: sub
    entra = {"sub": "x", "upn": "olena@romny.gov.ua", "roles": "lighting admin"}
    found = audience(entra, roles_claim="roles", login_claim="upn", role_map={})
    assert found == Audience(True, frozenset({"lighting", "admin"}), "olena@romny.gov.ua")
    assert audience({"sub": "x", "roles": {"lighting": True}}, roles_claim="roles").roles == set()
    with pytest.raises(Refused) as refused:
        audience(keycloak, required_role="gis-staff")
    assert refused.value.reason == "no_required_role"
    staff = {**keycloak, "realm_access": {"roles": ["gis-staff"]}}
    assert audience(staff, required_role="gis-staff") == Audience(True, frozenset(), "f3a1")
    with pytest.raises(Refused):
        audience({"realm_access": {"roles": ["lighting"]}})  # names nobody


def test_the_cli_checks_the_provider_and_a_token(idp: IdentityProvider, black_hole: str) -> None:
    def check(issuer: str, token: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "GISPLATFORM_OIDC_ISSUER": issuer,
            "GISPLATFORM_OIDC_AUDIENCE": API,
            "GISPLATFORM_OIDC_ROLES_CLAIM": ROLES_CLAIM,
            "GISPLATFORM_OIDC_ROLE_MAP": "cp-officer=civil_protection",
            "GISPLATFORM_OIDC_HTTP_TIMEOUT_S": "1",
        }
        return subprocess.run(
            [sys.executable, "-m", "gisplatform.cli", "oidc", "check", "--token", "-"],
            input=token,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    accepted = check(idp.issuer, idp.token(CLIENTS["rescue"], API))
    assert accepted.returncode == 0, accepted.stderr
    assert f"provider {idp.issuer}: keys " in accepted.stdout
    assert "token accepted: user rescue, roles: civil_protection" in accepted.stdout
    refused = check(idp.issuer, idp.token(CLIENTS["rescue"], OTHER_API))
    assert refused.returncode == 1
    assert "access token refused: it was issued for another service (aud)" in refused.stderr
    down = check(black_hole, idp.token(CLIENTS["rescue"], API))
    assert down.returncode == 1 and "identity provider cannot be reached" in down.stderr
