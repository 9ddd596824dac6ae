"""Reading the registry's YAML files, with problems that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gisplatform.errors import LayerSpecError


def read_yaml(path: Path) -> Any:
    """The parsed content of ``path``; a :class:`LayerSpecError` naming it otherwise."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LayerSpecError([(str(path), "(file)", f"cannot read: {exc}")]) from None
    except yaml.YAMLError as exc:
        raise LayerSpecError([(str(path), "(file)", f"not valid YAML: {exc}")]) from None
