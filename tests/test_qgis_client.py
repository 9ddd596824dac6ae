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

from gisplatform.registry import Access, Audience, LayerRegistry, LayerSpec
from gisplatform.store.accounts import Accounts
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


def _qgis(tmp_path: Path, root: str, layer: str, auth: str, **extra: str) -> dict[str, Any]:
    profile = tmp_path / f"profile-{auth}"
    profile.mkdir()
    args = {"url": root + "/ogc", "layer": layer, "profile": str(profile), "auth": auth, **extra}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),  # QGIS writes nothing outside the test's folders
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }
    done = subprocess.run(
        [SYSTEM_PYTHON, str(PROBE), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


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
