"""`gisplatform export` never writes restricted fields to files others can read."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gisplatform.ingest import ImportOptions, import_file
from gisplatform.ingest.export import is_public
from gisplatform.registry import Access, LayerRegistry
from tests.ingest_helpers import run_cli, shelter, write_geojson

pytestmark = [pytest.mark.db]


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what a shell usually has: new files 0644
    try:
        yield
    finally:
        os.umask(previous)


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}


@pytest.mark.usefixtures("open_umask")
@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".fgb", ".csv"])
def test_exports_with_non_public_fields_are_owner_only(
    suffix: str, clean_db: str, registry: LayerRegistry, tmp_path: Path
) -> None:
    spec = registry.get("shelters")
    hidden = [f.name for f in spec.fields if f not in spec.fields_for(Access.PUBLIC)]
    assert hidden and not is_public(spec)  # the layer has fields the public may not read
    source = write_geojson(tmp_path / "in.geojson", [shelter("M-1")])
    import_file(clean_db, spec, source, ImportOptions())
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli(clean_db, "export", spec.name, str(out / f"shelters{suffix}"))
    assert done.exit_code == 0, done.output
    modes = _modes(out)
    assert modes and all(mode == 0o600 for mode in modes.values()), modes
    (tmp_path / "after.txt").write_text("umask restored")
    assert stat.S_IMODE((tmp_path / "after.txt").stat().st_mode) == 0o644


@pytest.mark.usefixtures("open_umask")
def test_exports_of_wholly_public_layers_keep_the_umask(
    clean_db: str, registry: LayerRegistry, tmp_path: Path
) -> None:
    public = [spec for spec in registry.list(Access.PUBLIC) if is_public(spec)]
    assert public
    for spec in public[:2]:
        out = tmp_path / spec.name
        out.mkdir()
        done = run_cli(clean_db, "export", spec.name, str(out / f"{spec.name}.geojson"))
        assert done.exit_code == 0, done.output
        assert set(_modes(out).values()) == {0o644}
