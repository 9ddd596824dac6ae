"""QGIS (Debian's ``python3-qgis``, headless) signs in and loads a restricted layer over OAPIF.

``scripts/bootstrap.sh`` installs ``python3-qgis`` and ``qgis-providers``; QGIS runs with the
system Python it belongs to, in a subprocess (tests/qgis_probe.py) with a profile of its own.
The layer, the role that may read it and the expected fields all come from the registry; the
expected count from PostGIS.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from gisplatform.demo import load_demo
from gisplatform.registry import Access, Audience, FieldType, LayerRegistry, LayerSpec
from gisplatform.registry.writes import layer_writers, writable_fields
from gisplatform.store.accounts import Accounts
from tests.conftest import make_settings
from tests.edit_helpers import PASSWORD as EDIT_PASSWORD
from tests.edit_helpers import edit_layer, edit_site, point_in, valid_properties
from tests.ogcapi_helpers import live_server

pytestmark = [pytest.mark.db, pytest.mark.slow]

SYSTEM_PYTHON = "/usr/bin/python3"
PROBE = Path(__file__).with_name("qgis_probe.py")
LOGIN = "qgis-check"
PASSWORD = "qgis-check-password-1"


def _restricted(registry: LayerRegistry) -> tuple[LayerSpec, str]:
    """The first restricted layer with named roles, and one of its roles."""
    for spec in registry:
        if spec.access is Access.RESTRICTED and spec.roles:
            return spec, str(spec.roles[0])
    raise AssertionError("the registry has no restricted layer with roles")


@pytest.fixture(scope="module")
def account(demo_db_url: str, registry: LayerRegistry) -> dict[str, str]:
    spec, role = _restricted(registry)
    with psycopg.connect(demo_db_url) as conn:
        conn.execute("DELETE FROM auth.users WHERE login = %s", [LOGIN])
        accounts = Accounts(conn, registry.role_names)
        accounts.add(LOGIN, [role], PASSWORD)
        token = accounts.create_token(LOGIN, "qgis", None)
        conn.commit()
    return {"layer": spec.name, "role": role, "token": token}


@pytest.fixture(scope="module")
def root(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with live_server(demo_db_url, registry) as (url, _):
        yield url


def _run_probe(tmp_path: Path, probe: Path, args: dict[str, Any]) -> dict[str, Any]:
    """Run ``probe`` with the system Python of QGIS; the JSON it printed last."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),  # QGIS writes nothing outside the test's folders
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }
    done = subprocess.run(
        [SYSTEM_PYTHON, str(probe), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _qgis(tmp_path: Path, root: str, layer: str, auth: str, **extra: str) -> dict[str, Any]:
    profile = tmp_path / f"profile-{auth}"
    profile.mkdir()
    args = {"url": root + "/ogc", "layer": layer, "profile": str(profile), "auth": auth, **extra}
    return _run_probe(tmp_path, PROBE, args)


def _count(url: str, layer: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("gis", layer)))
        found = row.fetchone()
    assert found is not None
    return int(found[0])


def _expected_fields(spec: LayerSpec, role: str) -> set[str]:
    reader = Audience(signed_in=True, roles=frozenset({role}))
    return {f.name for f in spec.fields_for(reader)}


def test_system_qgis_is_installed() -> None:
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, "python3-qgis is missing: run scripts/bootstrap.sh"


def test_qgis_basic_auth_config_loads_the_restricted_layer(
    tmp_path: Path, root: str, account: dict[str, str], demo_db_url: str, registry: LayerRegistry
) -> None:
    spec = registry.get(account["layer"])
    seen = _qgis(tmp_path, root, spec.name, "basic", login=LOGIN, password=PASSWORD)
    assert seen["valid"], seen
    assert seen["how"] == "Basic auth config"
    expected = _count(demo_db_url, spec.name)
    assert expected > 0
    assert seen["count"] == expected and seen["read"] == expected
    fields = _expected_fields(spec, account["role"])
    assert fields and set(seen["fields"]) - {"id"} == fields, seen["fields"]


def test_qgis_without_credentials_cannot_load_the_restricted_layer(
    tmp_path: Path, root: str, account: dict[str, str]
) -> None:
    seen = _qgis(tmp_path, root, account["layer"], "none")
    assert seen["valid"] is False


def test_qgis_with_a_wrong_password_cannot_load_it(
    tmp_path: Path, root: str, account: dict[str, str]
) -> None:
    seen = _qgis(tmp_path, root, account["layer"], "basic", login=LOGIN, password="wrong-one")
    assert seen["valid"] is False


def test_qgis_sends_a_personal_token_as_a_bearer_header(
    tmp_path: Path, root: str, account: dict[str, str], demo_db_url: str, registry: LayerRegistry
) -> None:
    spec = registry.get(account["layer"])
    seen = _qgis(tmp_path, root, spec.name, "header", token=account["token"])
    assert seen["valid"], seen
    # QGIS >= 3.24 has the "API header" auth method; 3.22 (Debian 12) sends it another way
    major_minor = tuple(int(p) for p in seen["version"].split("-")[0].split(".")[:2])
    expected_how = "APIHeader auth config" if major_minor >= (3, 24) else "request preprocessor"
    assert seen["how"] == expected_how
    assert seen["count"] == _count(demo_db_url, spec.name)
    assert set(seen["fields"]) - {"id"} == _expected_fields(spec, account["role"])


EDIT_PROBE = Path(__file__).with_name("qgis_edit_probe.py")
#: the first QGIS whose OAPIF provider edits (Features Part 4: OPTIONS, POST, PATCH, DELETE)
QGIS_EDITS_FROM = (3, 32)


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split("-")[0].split(".")[:2]
    return int(major), int(minor)


def _enum_change(spec: LayerSpec, role: str) -> tuple[str, Any]:
    """A writable enum field of ``spec`` and a value other than the first of its values."""
    field = next(
        f
        for f in writable_fields(spec, role)
        if f.type is FieldType.ENUM and len(f.values) > 1 and not f.required
    )
    return field.name, field.values[-1].value


def test_qgis_edits_a_layer_over_oapif_where_it_can(
    tmp_path: Path, server_url: str, registry: LayerRegistry
) -> None:
    """QGIS >= 3.32 adds, moves, changes and deletes a feature through its own OAPIF provider,
    and history names the signed-in account; an older QGIS finds the layer read-only (its
    editors use a ``--db-login`` database login instead, tests/test_db_login.py)."""
    spec = edit_layer(registry)
    role = layer_writers(registry, spec)[0]
    # h11, as GISPLATFORM_HTTP_PROTOCOL=h11 serves: QGIS 3.32-3.40.7 needs "Location" spelled so
    # (QGIS issue 61729); httptools sends it in lower case (the nginx proxy restores it)
    with edit_site(server_url, registry, "gisplatform_qgis_edit", http="h11") as site:
        # QGIS (3.40) learns an OAPIF layer's fields from its first features: a layer with data
        load_demo(site.db_url, registry, make_settings(site.db_url).layer_schema)
        login = site.logins[role]
        field, value = _enum_change(spec, role)
        centre = point_in(registry)["coordinates"]
        args = {
            "url": site.url + "/ogc",
            "layer": spec.name,
            "profile": str(tmp_path / "profile-edit"),
            "login": login,
            "password": EDIT_PASSWORD,
            "properties": valid_properties(spec),
            "point": centre,
            "moved": [centre[0] + 0.001, centre[1] + 0.001],
            "change": {"field": field, "value": value},
        }
        Path(args["profile"]).mkdir()
        seen = _run_probe(tmp_path, EDIT_PROBE, args)
        assert seen["valid"], seen
        if _version(seen["version"]) < QGIS_EDITS_FROM:
            assert seen["capabilities"] == [] and "edit" not in seen, seen
            return
        assert set(seen["capabilities"]) == {
            "add",
            "change_attributes",
            "change_geometries",
            "delete",
        }
        done = seen["edit"]
        assert done["added"] and done["moved"] and done["changed"] and done["deleted"], done
        with psycopg.connect(site.db_url) as conn:
            rows = conn.execute(
                "SELECT fid, operation, changed_by, changed_fields FROM history.feature_changes "
                "WHERE layer = %s AND changed_by = %s ORDER BY id",
                [spec.name, login],
            ).fetchall()
        assert [r[1] for r in rows] == ["INSERT", "UPDATE", "UPDATE", "DELETE"], rows
        assert len({r[0] for r in rows}) == 1
        assert "geom" in rows[1][3] and field in rows[2][3], rows
        with psycopg.connect(site.db_url) as conn:
            left = conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE fid = %s").format(
                    sql.Identifier("gis", spec.name)
                ),
                [rows[0][0]],
            ).fetchone()
        assert left == (0,)  # deleted through QGIS
