"""Who may write a layer, and which of its fields: derived from the registry alone.

A layer names its ``write_roles``; a role of ``_roles.yaml`` with ``writes_all`` (the
platform's ``admin``) writes every layer it can read. A writer writes the fields its role
reads, nothing more: a field it may not read it may not set either. Being signed in is not
enough, and the public never writes.

The database enforces the same rule with one writer role per registry role
(:mod:`gisplatform.store.writers`), so these functions and the grants cannot disagree.
"""

from __future__ import annotations

from gisplatform.registry.registry import LayerRegistry
from gisplatform.registry.spec import Audience, FieldSpec, LayerSpec


def role_audience(role: str) -> Audience:
    """A signed-in person holding ``role`` alone."""
    return Audience(signed_in=True, roles=frozenset({role}))


def layer_writers(registry: LayerRegistry, spec: LayerSpec) -> tuple[str, ...]:
    """The roles that may write ``spec``, in a stable order."""
    found = set(spec.write_roles)
    found.update(r.name for r in registry.roles if r.writes_all)
    return tuple(sorted(r for r in found if spec.visible_to(role_audience(r))))


def writable_fields(spec: LayerSpec, role: str) -> tuple[FieldSpec, ...]:
    """The fields a writer of ``role`` sets: those the role reads."""
    return spec.fields_for(role_audience(role))


def writer_role(registry: LayerRegistry, spec: LayerSpec, audience: Audience) -> str | None:
    """The role ``audience`` writes ``spec`` with (the one writing most fields), or None."""
    if audience.is_anonymous:
        return None
    held = [r for r in layer_writers(registry, spec) if r in audience.roles]
    if not held:
        return None
    return max(held, key=lambda r: (len(writable_fields(spec, r)), r))


def writing_roles(registry: LayerRegistry) -> tuple[str, ...]:
    """Every role that writes at least one layer."""
    return tuple(sorted({r for spec in registry for r in layer_writers(registry, spec)}))
