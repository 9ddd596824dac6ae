"""Every example command of the README (beyond the two set-up commands) runs, as a user runs it.

The commands are read from the README's ``sh`` blocks and run with the installed
``gisplatform`` command in a scratch folder (the repository's ``data/`` beside them), against
a database holding the Romny demo data, in an 80-column pipe.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import shapely
from psycopg import sql

from gisplatform.demo import load_demo
from gisplatform.ingest.dms import parse_coordinate
from gisplatform.registry import LayerRegistry
from gisplatform.settings import PROJECT_ROOT
from gisplatform.store.migrate import migrate
from tests.conftest import _database_url, make_settings

README = PROJECT_ROOT / "README.md"
GISPLATFORM = Path(sys.executable).parent / "gisplatform"
REGISTER = PROJECT_ROOT / "data" / "sources" / "sumy" / "geographic-names-sumy.geojson"


def readme_commands() -> list[str]:
    """The ``gisplatform …`` lines of the README's ``sh`` blocks, continuations joined."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("gisplatform "):
                commands.append(" ".join(line.split()))
    return commands


@pytest.fixture(scope="module")
def demo_url(server_url: str, registry: LayerRegistry) -> str:
    """A database of its own with the demo data (the examples write to it)."""
    url = _database_url(server_url, "readme_examples")
    migrate(url, registry, make_settings(url))
    load_demo(url, registry, "gis")
    return url


def _run(command: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "GISPLATFORM_LAYERS_DIR": str(PROJECT_ROOT / "layers"),
        "COLUMNS": "80",
    }
    argv = [str(GISPLATFORM), *shlex.split(command)[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_readme_has_the_examples() -> None:
    commands = readme_commands()
    assert any(c.startswith("gisplatform import ") and "--inside-hromada" in c for c in commands)
    assert len(commands) >= 5


@pytest.mark.parametrize("command", readme_commands())
def test_readme_example_runs(command: str, demo_url: str, tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(PROJECT_ROOT / "data")
    done = _run(command, demo_url, tmp_path)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    if "--json" in command:
        json.loads(done.stdout)


def _inside_boundary(url: str) -> set[str]:
    """Registry numbers of the register's points inside the demo boundary (checked here)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            sql.SQL("SELECT ST_AsBinary(ST_Union(geom)) FROM {}").format(
                sql.Identifier("gis", "hromada_boundary")
            )
        ).fetchone()
    assert row is not None
    boundary = shapely.from_wkb(bytes(row[0]))
    features = json.loads(REGISTER.read_text(encoding="utf-8"))["features"]
    inside = set()
    for feature in features:
        props = feature["properties"]
        lon, lat = parse_coordinate(props["Довгота"])[0], parse_coordinate(props["Широта"])[0]
        point = shapely.Point(lon, lat)
        if boundary.intersects(point):
            inside.add(props["Реєстраційний номер"])
    return inside


def test_readme_import_keeps_the_hromada_and_counts_the_rest(demo_url: str, tmp_path: Path) -> None:
    (command,) = [c for c in readme_commands() if "--inside-hromada" in c]
    (tmp_path / "data").symlink_to(PROJECT_ROOT / "data")
    done = _run(command + " --json --report outside.csv", demo_url, tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    expected = _inside_boundary(demo_url)
    assert 0 < len(expected) < summary["read"] == 1328
    assert summary["valid"] == len(expected) and summary["rejected"] == 0
    assert summary["outside"] == summary["read"] - len(expected)
    assert f"{summary['outside']} feature(s) outside the hromada" in done.stderr
    with (tmp_path / "outside.csv").open(encoding="utf-8", newline="") as handle:
        report = list(csv.DictReader(handle))
    assert len(report) == summary["outside"]
    assert all(row["reason"].startswith("outside the hromada") for row in report)
    assert not {row["Реєстраційний номер"] for row in report} & expected
    with psycopg.connect(demo_url) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM gis.hydro_and_protected WHERE category = 'geographic_name'"
        ).fetchone()
    assert rows is not None and rows[0] >= len(expected)


def test_import_without_the_option_refuses_with_a_hint(demo_url: str, tmp_path: Path) -> None:
    (command,) = [c for c in readme_commands() if "--inside-hromada" in c]
    (tmp_path / "data").symlink_to(PROJECT_ROOT / "data")
    done = _run(command.replace(" --inside-hromada", ""), demo_url, tmp_path)
    assert done.returncode == 1
    said = " ".join(done.stderr.split())  # as read, whatever the terminal wrapped
    assert "outside the area of interest" in said and "add --inside-hromada" in said


def test_layers_list_shows_full_names_in_a_narrow_pipe(
    registry: LayerRegistry, tmp_path: Path, demo_url: str
) -> None:
    done = _run("gisplatform layers list", demo_url, tmp_path)
    assert done.returncode == 0
    names = [line.split()[0] for line in done.stdout.splitlines()[3:] if line[:2].strip()]
    assert names == [spec.name for spec in registry]
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    listed = json.loads(_run("gisplatform layers list --json", demo_url, tmp_path).stdout)
    assert [layer["name"] for layer in listed] == [spec.name for spec in registry]
