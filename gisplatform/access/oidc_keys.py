"""The OIDC provider's signing keys: discovery and JWKS fetched, cached and refreshed.

``{issuer}/.well-known/openid-configuration`` names the ``jwks_uri``; both are fetched with
httpx's async client (the event loop never blocks), each request under a timeout and the
whole fetch under a deadline. Keys are kept for ``keys_ttl_s``; a token naming an unknown
``kid`` (the provider rotated its keys) refreshes them once, at most every
``keys_min_refresh_s``, so forged ``kid`` values cannot make the server hammer the provider.
When a refresh fails the keys already held keep working; with none held, the caller gets
:class:`IdentityProviderUnavailable` (503), never a hang.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from prometheus_client import CollectorRegistry, Counter

from gisplatform.errors import IdentityProviderUnavailable
from gisplatform.i18n import message
from gisplatform.settings import OidcSettings, https_or_loopback

log = logging.getLogger("gisplatform.access.oidc")

#: largest discovery document or key set read
MAX_DOCUMENT_BYTES = 1 << 20
_KEY_TYPES: dict[str, type[RSAKey] | type[ECKey] | type[OKPKey]] = {
    "RSA": RSAKey,
    "EC": ECKey,
    "OKP": OKPKey,
}
#: key type (and curve) each algorithm needs
_ALG_KEY = {"RS": ("RSA", None), "PS": ("RSA", None), "Ed": ("OKP", None)}
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


@dataclass(frozen=True)
class KeySet:
    """The provider's signing keys at one moment, by ``kid``."""

    keys: tuple[tuple[str | None, Key], ...]
    fetched_at: float

    def find(self, kid: str | None, alg: str) -> list[Key]:
        """Keys that may have signed a token with header ``kid`` and ``alg``."""
        return [
            key for key_id, key in self.keys if (kid is None or key_id == kid) and _fits(key, alg)
        ]

    def knows(self, kid: str | None) -> bool:
        """True when ``kid`` is one of the keys (a token without ``kid``: any key)."""
        return kid is None or any(key_id == kid for key_id, _ in self.keys)


def _fits(key: Key, alg: str) -> bool:
    if key.get("alg") not in (None, alg):
        return False
    if alg in _EC_CURVES:
        return key.key_type == "EC" and key.get("crv") == _EC_CURVES[alg]
    wanted, _ = _ALG_KEY[alg[:2]]
    return key.key_type == wanted


def _import(jwks: dict[str, Any]) -> tuple[tuple[str | None, Key], ...]:
    found: list[tuple[str | None, Key]] = []
    for entry in jwks.get("keys", []):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kind = _KEY_TYPES.get(str(entry.get("kty")))
        if kind is None or "d" in entry:  # never a private key, whatever the provider sends
            continue
        try:
            key = kind.import_key(entry)
        except (JoseError, ValueError, TypeError) as exc:
            log.warning("skipping a key of the provider that does not import: %s", exc)
            continue
        kid = entry.get("kid")
        found.append((str(kid) if kid is not None else None, key))
    return tuple(found)


class ProviderKeys:
    """Discovery and keys of one provider, shared by the requests of one server worker."""

    def __init__(
        self,
        settings: OidcSettings,
        client: httpx.AsyncClient | None = None,
        metrics: CollectorRegistry | None = None,
    ) -> None:
        if settings.issuer is None:
            raise ValueError("OIDC is not configured")
        self.issuer = settings.issuer
        self.ttl_s = settings.keys_ttl_s
        self.min_refresh_s = settings.keys_min_refresh_s
        self.timeout_s = settings.http_timeout_s
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout_s),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "gisplatform"},
        )
        self._keys: KeySet | None = None
        self._jwks_uri: str | None = None
        self._last_attempt = float("-inf")
        self._lock = anyio.Lock()
        #: fetches of the key set so far
        self.fetches = 0
        self.fetched = Counter(
            "gisplatform_oidc_key_fetches",
            "Fetches of the identity provider's discovery document and keys, by outcome",
            ["outcome"],
            registry=metrics,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    async def keys_for(self, kid: str | None, alg: str) -> list[Key]:
        """The keys that may have signed a token with ``kid`` and ``alg`` ([] when none).

        Fetches when nothing is held or the keys are older than the TTL, and once more
        (rate-limited) when ``kid`` is unknown; 503 when no keys can be had at all.
        """
        return (await self.current(kid)).find(kid, alg)

    async def current(self, kid: str | None = None) -> KeySet:
        """The keys held, fetched first when none are, they are stale or ``kid`` is new."""
        held = self._keys
        now = time.monotonic()
        if held is None or now - held.fetched_at > self.ttl_s or not held.knows(kid):
            if held is not None and held.knows(kid) and self._lock.locked():
                return held  # another request is refreshing them; the keys held still serve
            held = await self._refresh(stale=held, kid=kid)
        return held

    async def _refresh(self, stale: KeySet | None, kid: str | None) -> KeySet:
        async with self._lock:
            held = self._keys
            if held is not None and held is not stale and held.knows(kid):
                return held  # another request refreshed them meanwhile
            if time.monotonic() - self._last_attempt < self.min_refresh_s:
                if held is None:
                    raise IdentityProviderUnavailable(message("oidc_provider_unavailable"))
                return held
            self._last_attempt = time.monotonic()
            try:
                with anyio.fail_after(self.timeout_s * 3):
                    fresh = await self._fetch()
            except (httpx.HTTPError, TimeoutError, ValueError) as exc:
                log.warning("cannot fetch the OIDC provider's keys from %s: %r", self.issuer, exc)
                self.fetched.labels("failed").inc()
                if held is None:
                    raise IdentityProviderUnavailable(
                        message("oidc_provider_unavailable")
                    ) from None
                return held
            self.fetched.labels("ok").inc()
            self._keys = fresh
            return fresh

    async def _fetch(self) -> KeySet:
        if self._jwks_uri is None:
            discovery = await self._document(
                self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            )
            if discovery.get("issuer") != self.issuer:
                raise ValueError(
                    f"the discovery document names issuer {discovery.get('issuer')!r}, "
                    f"not {self.issuer!r}"
                )
            self._jwks_uri = https_or_loopback(str(discovery.get("jwks_uri", "")))
        jwks = await self._document(self._jwks_uri)
        self.fetches += 1
        keys = _import(jwks)
        if not keys:
            raise ValueError(f"no signing key at {self._jwks_uri}")
        log.info("OIDC provider keys fetched: %s", ", ".join(str(kid) for kid, _ in keys))
        return KeySet(keys, time.monotonic())

    async def _document(self, url: str) -> dict[str, Any]:
        async with self.client.stream("GET", url) as response:
            response.raise_for_status()
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise ValueError(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError(f"{url} is not a JSON object")
        return document
