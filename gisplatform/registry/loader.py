"""Read layer definition files and report every problem with file and field path."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gisplatform.errors import LayerSpecError
from gisplatform.registry.hromada import PROFILE_FILE, HromadaProfile, load_profile
from gisplatform.registry.registry import LayerRegistry
from gisplatform.registry.spec import LayerSpec
from gisplatform.registry.yamlfile import read_yaml


def _field_path(data: Any, loc: Iterable[int | str]) -> str:
    """Turn a pydantic error location into ``fields[3](readiness).values[1].uk``."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = ""
            if isinstance(node, list) and 0 <= item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("name"), str):
                    label = f"({node['name']})"
            else:
                node = None
            parts.append(f"[{item}]{label}")
        else:
            node = node.get(item) if isinstance(node, dict) else None
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def parse_layer(data: Any, source: str) -> LayerSpec:
    """Validate one definition already parsed from YAML."""
    if not isinstance(data, dict):
        raise LayerSpecError([(source, "(top level)", "a layer definition must be a mapping")])
    try:
        return LayerSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            problems.append((source, _field_path(data, error["loc"]), message))
        raise LayerSpecError(problems) from None


def load_layer_file(path: Path) -> LayerSpec:
    """Read and validate one ``layers/*.yaml`` file."""
    data = read_yaml(path)
    spec = parse_layer(data, str(path))
    if spec.name != path.stem:
        raise LayerSpecError(
            [(str(path), "name", f"layer name '{spec.name}' must match the file name")]
        )
    return spec


def layer_files(directory: Path) -> list[Path]:
    """The layer definition files of a layers directory, in name order.

    Files whose name starts with ``_`` are not layers (the hromada profile).
    """
    files = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
    return sorted(f for f in files if not f.name.startswith("_"))


def load_registry(directory: Path) -> LayerRegistry:
    """Load every definition in ``directory``; report all problems of all files at once."""
    if not directory.is_dir():
        raise LayerSpecError([(str(directory), "(directory)", "layers directory not found")])
    specs: list[LayerSpec] = []
    problems: list[tuple[str, str, str]] = []
    hromada: HromadaProfile | None = None
    if (directory / PROFILE_FILE).is_file():
        try:
            hromada = load_profile(directory / PROFILE_FILE)
        except LayerSpecError as exc:
            problems.extend(exc.problems)
    for path in layer_files(directory):
        try:
            specs.append(load_layer_file(path))
        except LayerSpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise LayerSpecError(problems)
    if not specs:
        raise LayerSpecError([(str(directory), "(directory)", "no layer definitions found")])
    registry = LayerRegistry(specs, hromada)
    if hromada is not None and hromada.boundary_layer not in registry:
        raise LayerSpecError(
            [
                (
                    str(directory / PROFILE_FILE),
                    "boundary_layer",
                    f"no layer '{hromada.boundary_layer}' in {directory}",
                )
            ]
        )
    return registry
