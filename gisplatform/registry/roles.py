"""The staff roles of a deployment (``layers/_roles.yaml``).

A restricted layer or field names the roles that may read it; every name must be one of
these. Being signed in at all makes a person staff: ``staff`` is not a role of its own.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gisplatform.errors import LayerSpecError
from gisplatform.registry.spec import Identifier, LayerSpec, Localized, _Frozen
from gisplatform.registry.yamlfile import read_yaml

#: the roles file inside a layers directory (not a layer: it starts with "_")
ROLES_FILE = "_roles.yaml"


class RoleSpec(_Frozen):
    """One named role, e.g. ``lighting``, with what people read of it."""

    name: Identifier
    title: Localized
    description: Localized | None = None
    writes_all: bool = Field(
        default=False,
        description="may write every layer it can read (e.g. admin), beside the layers' "
        "own write_roles",
    )


class RolesFile(BaseModel):
    """The whole ``_roles.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: tuple[RoleSpec, ...] = Field(min_length=1)


def load_roles(path: Path) -> tuple[RoleSpec, ...]:
    """Read and validate a roles file; problems name the file and the entry."""
    try:
        roles = RolesFile.model_validate(read_yaml(path)).roles
    except ValidationError as exc:
        problems = [
            (
                str(path),
                ".".join(str(p) for p in e["loc"]) or "(top level)",
                e["msg"].removeprefix("Value error, "),
            )
            for e in exc.errors()
        ]
        raise LayerSpecError(problems) from None
    names = [r.name for r in roles]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise LayerSpecError([(str(path), "roles", f"roles listed twice: {', '.join(twice)}")])
    return roles


def unknown_roles(specs: list[LayerSpec], roles: tuple[RoleSpec, ...]) -> list[tuple[str, str]]:
    """(layer, role) for every role a layer names that the roles file does not list."""
    known = {r.name for r in roles}
    return [(s.name, r) for s in specs for r in sorted(s.role_names - known)]
