"""Checks of the production deployment: docker-compose.prod.yml and the files it mounts.

Like tests/test_compose.py (whose helpers it uses), no Docker engine is needed: the file is
validated against the Compose Specification JSON Schema and by ``docker-compose config``,
and what the deployment relies on is asserted directly: the replica copies and streams the
primary through a replication login and slot, the platform reads from the replica and
writes to the primary with several workers, and only the proxy is published. The proxy's
nginx configuration itself runs in tests/test_proxy_cache.py.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import yaml

from tests.test_compose import (
    PROD_COMPOSE_FILE,
    ROOT,
    TEST_ENV,
    MissingVariableError,
    _command,
    _compose_cli,
    interpolate,
    parse_env_example,
    used_variables,
)

PROD_ENV = {**TEST_ENV, "GISPLATFORM_REPLICATION_PASSWORD": "repl-s3cret-for-tests"}
NGINX_TEMPLATE = ROOT / "docker" / "nginx" / "templates" / "default.conf.template"
# ${NAME} in the nginx template: what the image's envsubst replaces
_TEMPLATE_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


@pytest.fixture(scope="module")
def prod_text() -> str:
    return PROD_COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def raw_prod(prod_text: str) -> dict[str, Any]:
    doc = yaml.safe_load(prod_text)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def prod(raw_prod: dict[str, Any]) -> dict[str, Any]:
    result = interpolate(raw_prod, PROD_ENV)
    assert isinstance(result, dict)
    return result


def _validator() -> jsonschema.protocols.Validator:
    import json

    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text("utf-8"))
    return jsonschema.Draft201909Validator(schema)


def test_prod_file_valid_against_compose_spec(
    raw_prod: dict[str, Any], prod: dict[str, Any]
) -> None:
    validator = _validator()
    for doc in (raw_prod, prod):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
        )
    broken = interpolate(raw_prod, PROD_ENV)
    broken["services"]["replica"]["depends_on"]["db"]["condition"] = "healthy"
    assert not validator.is_valid(broken)


def test_services(prod: dict[str, Any]) -> None:
    assert set(prod["services"]) == {"db", "replica", "backup", "migrate", "app", "proxy"}
    for name, service in prod["services"].items():
        if name != "migrate":
            assert service["restart"] in {"always", "unless-stopped"}, name
    published = {name for name, s in prod["services"].items() if s.get("ports")}
    assert published == {"proxy"}, "only the proxy may be reachable from outside"


def test_every_mounted_file_is_in_the_repo(prod: dict[str, Any]) -> None:
    mounts = [
        v.split(":")[0]
        for service in prod["services"].values()
        for v in service.get("volumes", [])
        if v.startswith("./")
    ]
    assert mounts
    for source in mounts:
        assert (ROOT / source).exists(), f"{source} is mounted but not in the repo"


def test_passwords_are_required(prod_text: str, raw_prod: dict[str, Any]) -> None:
    used = used_variables(prod_text)
    for name in (
        "POSTGRES_PASSWORD",
        "GISPLATFORM_API_PASSWORD",
        "GISPLATFORM_REPLICATION_PASSWORD",
    ):
        assert used[name] == {":?"}, f"{name} must be required"
        assert parse_env_example()[name][0] == "", f".env.example must not suggest a {name}"
        with pytest.raises(MissingVariableError, match=name):
            interpolate(raw_prod, {k: v for k, v in PROD_ENV.items() if k != name})


def test_replica_streams_from_db_through_a_slot(prod: dict[str, Any]) -> None:
    services = prod["services"]
    db, replica = services["db"], services["replica"]
    assert replica["image"] == db["image"]
    assert replica["depends_on"]["db"]["condition"] == "service_healthy"
    data = {v.split(":")[0] for v in replica["volumes"]} & set(prod["volumes"])
    assert data == {"replicadata"}, "the replica keeps its own copy"
    assert not data & {v.split(":")[0] for v in db["volumes"]}
    mounted = {v.split(":")[1]: v.split(":")[0] for v in replica["volumes"]}
    script_path = replica["entrypoint"][-1]
    script = (ROOT / mounted[script_path]).read_text(encoding="utf-8")
    slot = replica["environment"]["REPLICATION_SLOT"]
    assert slot and "--create-slot" in script and "--if-not-exists" in script
    for option in ("--slot=", "--write-recovery-conf", "--wal-method=stream"):
        assert option in script, option
    assert "PG_VERSION" in script, "a later start must not copy the primary again"
    assert script.rstrip().endswith('exec docker-entrypoint.sh "$@"')
    assert "hot_standby=on" in replica["command"]
    assert replica["environment"]["PRIMARY_HOST"] == "db"
    assert (
        replica["environment"]["REPLICATION_PASSWORD"]
        == db["environment"]["REPLICATION_PASSWORD"]
        == PROD_ENV["GISPLATFORM_REPLICATION_PASSWORD"]
    )
    # the primary makes the replication login and lets it connect for replication
    init = next(v for v in db["volumes"] if v.endswith(":/docker-entrypoint-initdb.d:ro"))
    sql = "".join(
        p.read_text(encoding="utf-8") for p in sorted((ROOT / init.split(":")[0]).glob("*.sh"))
    )
    assert "REPLICATION PASSWORD" in sql and "host replication $role all scram-sha-256" in sql
    assert any(c.startswith("max_slot_wal_keep_size=") for c in db["command"])


def test_app_reads_replica_writes_primary_with_workers(prod: dict[str, Any]) -> None:
    app = prod["services"]["app"]
    env = app["environment"]
    primary = urlsplit(env["DATABASE_URL"])
    assert (primary.hostname, unquote(primary.password or "")) == (
        "db",
        PROD_ENV["POSTGRES_PASSWORD"],
    )
    api = urlsplit(env["GISPLATFORM_API_DATABASE_URL"])
    replicas = [urlsplit(u) for u in env["GISPLATFORM_REPLICA_URLS"].split(",")]
    assert [r.hostname for r in replicas] == ["replica"]
    for url in (api, *replicas):
        assert url.username == "gisplatform_api", "the server reads as the read-only login"
        assert unquote(url.password or "") == PROD_ENV["GISPLATFORM_API_PASSWORD"]
        assert url.path == "/" + PROD_ENV["POSTGRES_DB"]
    command = _command(app)
    assert command[:2] == ["gisplatform", "serve"]
    assert command[command.index("--workers") + 1] == "2"
    assert command[command.index("--port") + 1] == "8000"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "replica" in app["depends_on"]
    assert env["GISPLATFORM_FORWARDED_ALLOW_IPS"], "client addresses come from the proxy"
    migrate = prod["services"]["migrate"]
    assert _command(migrate)[-3:] == ["gisplatform", "db", "migrate"]
    assert migrate["environment"]["DATABASE_URL"] == env["DATABASE_URL"]


def test_workers_are_configurable(raw_prod: dict[str, Any]) -> None:
    doc = interpolate(raw_prod, {**PROD_ENV, "GISPLATFORM_WORKERS": "4"})
    command = _command(doc["services"]["app"])
    assert command[command.index("--workers") + 1] == "4"


def test_proxy_renders_the_template_for_the_app(prod: dict[str, Any]) -> None:
    proxy = prod["services"]["proxy"]
    assert proxy["image"].startswith("nginx:"), "the official nginx image"
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    assert proxy["ports"] == ["8000:80"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in proxy["volumes"]}
    templates = ROOT / mounts["/etc/nginx/templates"]
    assert NGINX_TEMPLATE.parent == templates.resolve()
    # the image's default server would answer Host: localhost: the template replaces it
    assert [p.name for p in templates.glob("*.template")] == ["default.conf.template"]
    env = proxy["environment"]
    needed = set(_TEMPLATE_VAR.findall(NGINX_TEMPLATE.read_text(encoding="utf-8")))
    assert needed and needed <= set(env), f"not set for the template: {needed - set(env)}"
    assert env["GISPLATFORM_UPSTREAM"] == "app:8000"
    assert "8000" in prod["services"]["app"]["expose"]
    assert env["NGINX_LISTEN"] == "80"
    assert mounts[env["NGINX_CACHE_DIR"]] in prod["volumes"], "the cache lives in a volume"
    assert env["NGINX_TILE_CACHE_TTL"] == "60s"


def test_prod_compose_cli_config(tmp_path: Path) -> None:
    cli = _compose_cli()
    assert cli is not None, "no docker compose CLI: scripts/bootstrap.sh installs docker-compose"
    env_file = tmp_path / "prod.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in PROD_ENV.items()), encoding="utf-8")
    proc_env = {k: v for k, v in os.environ.items() if k not in parse_env_example()}
    done = subprocess.run(
        [*cli, "-f", str(PROD_COMPOSE_FILE), "--project-directory", str(ROOT),
         "--env-file", str(env_file), "config"],
        capture_output=True, text=True, env=proc_env, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert resolved["services"]["app"]["environment"]["GISPLATFORM_REPLICA_URLS"] == (
        "postgresql://gisplatform_api:api-s3cret-for-tests@replica:5432/romny"
    )
    assert set(resolved["services"]) == {"db", "replica", "backup", "migrate", "app", "proxy"}
