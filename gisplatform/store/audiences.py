"""The audiences the database serves, each with a schema of views and a NOLOGIN role.

The public reads ``api_public`` as ``gisplatform_public``. Signed-in staff read a schema
chosen by their roles: every combination of the registry's roles that sees a different set
of layers and fields gets one schema (``api_staff``, ``api_staff__lighting``, …) and one
role of the same suffix whose grants are exactly that schema's views. Combinations that see
the same thing share the schema of the smallest of them, so a deployment with a few roles
has a few schemas, not one per subset. ``migrate`` builds them all from the registry; the
server picks one per request (``SET ROLE``), so an application bug cannot widen access.
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from gisplatform.registry import ANONYMOUS, Access, Audience, LayerRegistry
from gisplatform.store.roles import AUDIENCE_ROLES

PUBLIC_SCHEMA = "api_public"
STAFF_SCHEMA = "api_staff"
STAFF_ROLE = "gisplatform_staff"
#: at most this many roles take part in combinations (2**n subsets are compared)
MAX_ROLES = 10
_MAX_NAME = 63

Signature = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ViewAudience:
    """One audience of the database: its views' schema, its role, whom it stands for."""

    schema: str
    role: str
    reader: Audience

    @property
    def is_public(self) -> bool:
        """True for the anonymous audience."""
        return self.reader.is_anonymous


PUBLIC = ViewAudience(PUBLIC_SCHEMA, AUDIENCE_ROLES[Access.PUBLIC], ANONYMOUS)


def signature(registry: LayerRegistry, reader: Audience) -> Signature:
    """What ``reader`` sees: every visible layer with its visible fields."""
    return tuple(
        (spec.name, tuple(f.name for f in spec.fields_for(reader)))
        for spec in registry.list(reader)
    )


def _name(prefix: str, roles: tuple[str, ...]) -> str:
    name = prefix + "".join(f"__{r}" for r in roles)
    if len(name) <= _MAX_NAME:
        return name
    return f"{prefix}_{hashlib.sha1(','.join(roles).encode()).hexdigest()[:16]}"


@lru_cache(maxsize=16)
def _roles_that_matter(registry: LayerRegistry) -> tuple[str, ...]:
    named = frozenset[str]().union(*(spec.role_names for spec in registry))
    return tuple(sorted(named))[:MAX_ROLES]


@lru_cache(maxsize=16)
def view_audiences(registry: LayerRegistry) -> tuple[ViewAudience, ...]:
    """Every audience of the database: the public first, then one per distinct staff view."""
    found: dict[Signature, ViewAudience] = {}
    roles = _roles_that_matter(registry)
    for size in range(len(roles) + 1):
        for subset in combinations(roles, size):
            reader = Audience(signed_in=True, roles=frozenset(subset))
            key = signature(registry, reader)
            if key not in found:
                found[key] = ViewAudience(
                    _name(STAFF_SCHEMA, subset), _name(STAFF_ROLE, subset), reader
                )
    return (PUBLIC, *found.values())


@lru_cache(maxsize=256)
def _for_roles(registry: LayerRegistry, roles: frozenset[str]) -> ViewAudience:
    key = signature(registry, Audience(signed_in=True, roles=roles))
    for audience in view_audiences(registry)[1:]:
        if signature(registry, audience.reader) == key:
            return audience
    raise LookupError(f"no database audience for the roles {sorted(roles)}")


def view_audience_for(registry: LayerRegistry, audience: Audience) -> ViewAudience:
    """The database audience whose views show exactly what ``audience`` may read."""
    if audience.is_anonymous:
        return PUBLIC
    return _for_roles(registry, audience.roles & _role_set(registry))


@lru_cache(maxsize=16)
def _role_set(registry: LayerRegistry) -> frozenset[str]:
    """:func:`_roles_that_matter` as a set (asked on every signed-in request)."""
    return frozenset(_roles_that_matter(registry))


#: the database audience of the request being served; set by the server's audience
#: dependency (:mod:`gisplatform.ogcapi.auth`), the public everywhere else
_CURRENT: ContextVar[ViewAudience] = ContextVar("gisplatform_view_audience", default=PUBLIC)


def current_view() -> ViewAudience:
    """The database audience of the request being served (the public outside a request)."""
    return _CURRENT.get()


def current_reader() -> Audience:
    """Whom the request's layers and fields are filtered for."""
    return _CURRENT.get().reader
