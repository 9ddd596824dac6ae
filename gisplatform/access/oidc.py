"""Sign-in with OIDC access tokens (JWT) of an external identity provider.

A ``Bearer`` value shaped like a JWT goes here (others stay personal tokens). The token is
verified with joserfc against the provider's keys (:mod:`gisplatform.access.oidc_keys`): its
``alg`` must be one of the pinned public-key algorithms, its signature must verify with the
key its ``kid`` names, and ``iss``, ``aud`` and ``exp`` must be there and right (``nbf`` and
``iat`` too when present), within the leeway. Roles come from a configurable claim (dotted
path); with a role map only the provider roles it names count, as the registry roles it maps
them to, without one the names as they are; either way only roles the registry knows are
kept, so an unknown role never widens what a person reads. Every sign-in and failure is
written to the event log (method ``oidc``); a failure is a 401 whose challenge says
``invalid_token``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from typing import Any, NoReturn, Protocol

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key
from prometheus_client import CollectorRegistry

from gisplatform.access.oidc_keys import ProviderKeys
from gisplatform.errors import (
    ConfigurationError,
    IdentityProviderUnavailable,
    InvalidAccessToken,
)
from gisplatform.i18n import message
from gisplatform.registry import Audience, LayerRegistry
from gisplatform.settings import OidcSettings

#: longest token read (Entra ID's with many groups run to a few kilobytes)
MAX_TOKEN_LENGTH = 16 * 1024
#: longest login kept from a token
MAX_LOGIN_LENGTH = 200
METHOD = "oidc"
#: verified tokens remembered (by digest), each until its exp and at most VERIFIED_TTL_S
VERIFIED_CACHE_SIZE = 1024
VERIFIED_TTL_S = 300
_JWT_SHAPE = re.compile(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")


def looks_like_jwt(value: str) -> bool:
    """True for a compact JWS (three base64url parts, a JSON header): never a personal token."""
    return len(value) <= MAX_TOKEN_LENGTH and _JWT_SHAPE.match(value) is not None


class SignInLog(Protocol):
    """Where sign-ins are recorded and failures turned into 401/429 (the Authenticator)."""

    async def record(self, login: str | None, address: str, method: str, outcome: str) -> None:
        """Record one sign-in event."""

    async def refuse(
        self, login: str | None, address: str, method: str, error: Exception
    ) -> NoReturn:
        """Record a failure and raise ``error`` (or 429 when the address is over its limit)."""


class Refused(Exception):
    """Why a token was refused; ``login`` when its signature verified."""

    def __init__(self, reason: str, login: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.login = login

    def error(self) -> InvalidAccessToken:
        """The 401 its bearer gets, with the reason in both languages."""
        reason = message("oidc_reason_" + self.reason) if self.reason in _REASONS else self.reason
        return InvalidAccessToken(message("oidc_token_refused", reason=reason))


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (``realm_access.roles``), None when absent."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def provider_roles(claims: dict[str, Any], path: str) -> frozenset[str]:
    """The provider's role names in the claim: a list of strings, or one space-separated."""
    value = claim_at(claims, path)
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


class OidcSignIn:
    """Verifies access tokens of the configured provider and makes audiences of them."""

    def __init__(
        self,
        settings: OidcSettings,
        registry: LayerRegistry,
        metrics: CollectorRegistry | None = None,
    ) -> None:
        if settings.issuer is None or settings.audience is None:
            raise ValueError("OIDC is not configured")
        self.settings = settings
        self.issuer = settings.issuer
        self.audience = settings.audience
        self.known_roles = registry.role_names
        unknown = sorted(set(settings.role_map.values()) - self.known_roles)
        if unknown:
            raise ConfigurationError(
                message(
                    "oidc_unknown_mapped_roles",
                    roles=", ".join(unknown),
                    known=", ".join(sorted(self.known_roles)),
                )
            )
        self.keys = ProviderKeys(settings, metrics=metrics)
        self._verified: OrderedDict[bytes, tuple[Audience, float]] = OrderedDict()

    @staticmethod
    def accepts(value: str) -> bool:
        """True for a Bearer value to verify here (a JWT), not a personal token."""
        return looks_like_jwt(value)

    async def aclose(self) -> None:
        """Close the connection to the provider."""
        await self.keys.aclose()

    def _remembered(self, key: bytes) -> Audience | None:
        found = self._verified.get(key)
        if found is None:
            return None
        audience, until = found
        if time.time() >= until:
            del self._verified[key]
            return None
        self._verified.move_to_end(key)
        return audience

    def _remember(self, key: bytes, audience: Audience, claims: dict[str, Any]) -> None:
        self._verified[key] = (audience, min(float(claims["exp"]), time.time() + VERIFIED_TTL_S))
        while len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)

    async def sign_in(self, token: str, address: str, log: SignInLog) -> Audience:
        """The audience of a valid token; 401 (or 429, 503) otherwise, each recorded.

        A verified token is remembered (by digest) until its ``exp``, at most
        ``VERIFIED_TTL_S``: QGIS sends it with every tile, and the event log records the
        sign-in once, not every request.
        """
        key = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        remembered = self._remembered(key)
        if remembered is not None:
            return remembered
        try:
            claims = await self.verify(token)
            audience = self.audience_of(claims)
        except IdentityProviderUnavailable:
            await log.record(None, address, METHOD, "unavailable")  # not the caller's failure
            raise
        except Refused as refused:
            await log.refuse(refused.login, address, METHOD, refused.error())
        self._remember(key, audience, claims)
        await log.record(audience.login, address, METHOD, "success")
        return audience

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token that verifies; :class:`Refused` otherwise."""
        if not looks_like_jwt(token):
            raise Refused("malformed")
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError):
            raise Refused("malformed") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.settings.algorithms:
            raise Refused("algorithm")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Refused("malformed")
        candidates = await self.keys.keys_for(kid, alg)
        if not candidates:
            raise Refused("unknown_key")
        claims = _decode(token, candidates, alg)
        login = self._login(claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=self.settings.leeway_s,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise Refused("expired", login) from None
        except MissingClaimError:
            raise Refused("claims", login) from None
        except InvalidClaimError as exc:
            raise Refused(_claim_reason(exc), login) from None
        except JoseError:
            raise Refused("malformed", login) from None
        return claims

    def _login(self, claims: dict[str, Any]) -> str | None:
        value = claim_at(claims, self.settings.login_claim)
        if not isinstance(value, str) or not value.strip():
            value = claims.get("sub")
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            return None
        return value.strip()[:MAX_LOGIN_LENGTH]

    def audience_of(self, claims: dict[str, Any]) -> Audience:
        """The signed-in audience of verified claims, roles mapped onto the registry's."""
        login = self._login(claims)
        if login is None:
            raise Refused("no_login")
        given = provider_roles(claims, self.settings.roles_claim)
        required = self.settings.required_role
        if required is not None and required not in given:
            raise Refused("no_required_role", login)
        mapping = self.settings.role_map
        if mapping:  # only what the map names: a provider's "admin" is not ours unless mapped
            given = frozenset(mapping[role] for role in given if role in mapping)
        roles = given & self.known_roles
        return Audience(signed_in=True, roles=roles, login=login)


def _decode(token: str, candidates: list[Key], alg: str) -> dict[str, Any]:
    for key in candidates:
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except BadSignatureError:
            continue
        except JoseError:
            raise Refused("malformed") from None
        return dict(claims)
    raise Refused("signature")


def _claim_reason(exc: InvalidClaimError) -> str:
    claim = str(getattr(exc, "claim", "") or "")
    return {"aud": "audience", "iss": "issuer", "exp": "expired", "nbf": "not_yet"}.get(
        claim, "claims"
    )


#: why a token may be refused (catalogue keys ``oidc_reason_<reason>``)
_REASONS = frozenset(
    {
        "malformed",
        "algorithm",
        "unknown_key",
        "signature",
        "expired",
        "not_yet",
        "audience",
        "issuer",
        "claims",
        "no_login",
        "no_required_role",
    }
)
