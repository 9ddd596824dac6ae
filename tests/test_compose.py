"""Checks of the container deployment: docker-compose.yml, .env.example, Dockerfile.

Docker Engine is not needed: the Compose file is validated against the Compose
Specification JSON Schema (tests/data/compose-spec.json), and the properties the
deployment relies on are asserted directly. When a ``docker-compose`` or
``docker compose`` CLI is on PATH, its offline ``config`` check runs too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROD_COMPOSE_FILE = ROOT / "docker-compose.prod.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "compose-spec.json"
SCHEMA_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"

# Variables Compose itself reads from .env; they need not appear in the file.
COMPOSE_OWN_VARIABLES = {"COMPOSE_PROJECT_NAME"}

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME; $$ escapes.
_VAR_RE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)

TEST_ENV = {
    "POSTGRES_PASSWORD": "s3cret-for-tests",
    "GISPLATFORM_API_PASSWORD": "api-s3cret-for-tests",
    "POSTGRES_USER": "hromada",
    "POSTGRES_DB": "romny",
}


class MissingVariableError(ValueError):
    """A ``${VAR:?message}`` or ``${VAR?message}`` whose variable is not set."""


def _interpolate_str(text: str, env: Mapping[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["braced"] or m["bare"]
        value = env.get(name)
        op, arg = m["op"], m["arg"] or ""
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset else str(value)
        if op in (":?", "?"):
            if unset:
                raise MissingVariableError(f"{name}: {arg}")
            return str(value)
        return value or ""

    return _VAR_RE.sub(repl, text)


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    """Apply Compose variable interpolation to every string in a loaded YAML tree."""
    if isinstance(node, str):
        return _interpolate_str(node, env)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


def used_variables(text: str) -> dict[str, set[str | None]]:
    """Variable names referenced in ``text``, each with the operators it is used with."""
    found: dict[str, set[str | None]] = {}
    for m in _VAR_RE.finditer(text):
        if m["escaped"]:
            continue
        found.setdefault(m["braced"] or m["bare"], set()).add(m["op"])
    return found


def parse_env_example() -> dict[str, tuple[str, str]]:
    """KEY -> (value, comment lines right above it) from .env.example."""
    entries: dict[str, tuple[str, str]] = {}
    comment: list[str] = []
    for raw in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            comment = []
        elif line.startswith("#"):
            comment.append(line.lstrip("#").strip())
        else:
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=value: {raw!r}"
            assert key not in entries, f".env.example: {key} listed twice"
            entries[key.strip()] = (value.strip(), " ".join(comment))
            comment = []
    return entries


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            word, _, args = full.partition(" ")
            instructions.append((word.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def raw_compose(compose_text: str) -> dict[str, Any]:
    doc = yaml.safe_load(compose_text)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any]) -> dict[str, Any]:
    result = interpolate(raw_compose, TEST_ENV)
    assert isinstance(result, dict)
    return result


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    # The file names draft 2019-09 by a URI jsonschema does not recognise
    # ("http://.../draft/2019-09/schema#"), so pick that draft explicitly.
    assert "2019-09" in schema["$schema"]
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def _command(service: Mapping[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return cmd.split() if isinstance(cmd, str) else list(cmd)


# --- the Compose Specification ---------------------------------------------------


def test_vendored_schema_is_unmodified() -> None:
    digest = hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest()
    assert digest == SCHEMA_SHA256, "tests/data/compose-spec.json changed; see tests/data/README.md"


def test_compose_file_valid_against_compose_spec(
    validator: jsonschema.protocols.Validator,
    raw_compose: dict[str, Any],
    compose: dict[str, Any],
) -> None:
    for doc in (raw_compose, compose):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
        )


def test_schema_catches_mistakes(
    validator: jsonschema.protocols.Validator, compose: dict[str, Any]
) -> None:
    """The validation is not vacuous: typical slips are rejected."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["app"]["depends_on"]["db"]["condition"] = "healthy"
    assert not validator.is_valid(broken)
    broken = json.loads(json.dumps(compose))
    broken["services"]["app"]["helthcheck"] = {"test": ["NONE"]}
    assert not validator.is_valid(broken)


# --- what the deployment relies on -----------------------------------------------


def test_database_url_points_at_db_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    db_env = services["db"]["environment"]
    for name in ("app", "migrate"):
        url = urlsplit(services[name]["environment"]["DATABASE_URL"])
        assert url.scheme in {"postgresql", "postgresql+psycopg"}
        assert url.hostname == "db", f"{name} must reach the db service by its name"
        assert url.port in (None, 5432)
        assert unquote(url.username or "") == db_env["POSTGRES_USER"] == TEST_ENV["POSTGRES_USER"]
        assert (
            unquote(url.password or "")
            == db_env["POSTGRES_PASSWORD"]
            == TEST_ENV["POSTGRES_PASSWORD"]
        )
        assert url.path == "/" + db_env["POSTGRES_DB"] == "/" + TEST_ENV["POSTGRES_DB"]


def test_database_url_uses_defaults_when_unset(raw_compose: dict[str, Any]) -> None:
    doc = interpolate(raw_compose, {"POSTGRES_PASSWORD": "pw", "GISPLATFORM_API_PASSWORD": "a"})
    url = urlsplit(doc["services"]["app"]["environment"]["DATABASE_URL"])
    assert (url.username, url.hostname, url.path) == ("gisplatform", "db", "/gisplatform")
    api = urlsplit(doc["services"]["app"]["environment"]["GISPLATFORM_API_DATABASE_URL"])
    assert (api.username, api.password, api.hostname, api.path) == (
        "gisplatform_api",
        "a",
        "db",
        "/gisplatform",
    )
    assert doc["services"]["app"]["ports"] == ["8000:8000"]


def test_db_service(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    # the official PostGIS image with pgBackRest added (docker/pgbackrest/Dockerfile)
    assert db["build"]["args"]["POSTGIS_IMAGE"].startswith("postgis/postgis:")
    dockerfile = (ROOT / db["build"]["context"] / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM ${POSTGIS_IMAGE}" in dockerfile and "pgbackrest" in dockerfile
    assert (ROOT / db["build"]["context"] / "pgbackrest.conf").is_file()
    assert "archive_mode=on" in db["command"]
    assert any(c.startswith("archive_command=pgbackrest ") for c in db["command"])
    health = db["healthcheck"]
    test = health["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    volume, _, target = db["volumes"][0].partition(":")
    assert volume in compose["volumes"], "database files must live in a named volume"
    assert target == "/var/lib/postgresql/data"
    assert db.get("restart") in {"always", "unless-stopped"}


def test_backup_service_shares_data_repository_and_socket(compose: dict[str, Any]) -> None:
    services = compose["services"]
    backup, db = services["backup"], services["db"]
    assert backup["image"] == db["image"]
    assert set(backup["volumes"]) == set(db["volumes"])
    targets = {v.partition(":")[2] for v in backup["volumes"]}
    assert {"/var/lib/postgresql/data", "/var/lib/pgbackrest", "/var/run/postgresql"} <= targets
    assert backup["depends_on"]["db"]["condition"] == "service_healthy"
    script = backup["command"][0]
    assert "stanza-create" in script and "backup --type=" in script


def test_app_waits_for_healthy_db_and_migrations(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app = services["app"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    migrators = [
        name
        for name, svc in services.items()
        if _command(svc)[-3:] == ["gisplatform", "db", "migrate"]
    ]
    assert migrators == ["migrate"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"].get("restart", "no") == "no"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["image"] == app["image"], "migrate must run the app's image"


def test_app_service(compose: dict[str, Any]) -> None:
    app = compose["services"]["app"]
    build = app["build"]
    assert build in (".", "./") or (
        build.get("context") in (".", "./")
        and build.get("dockerfile", "Dockerfile") == "Dockerfile"
    )
    assert _command(app) == ["gisplatform", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert app["restart"] in {"always", "unless-stopped", "on-failure"}
    health = app["healthcheck"]
    assert "/healthz" in " ".join(health["test"]) and "8000" in " ".join(health["test"])


def test_app_port_is_configurable(raw_compose: dict[str, Any]) -> None:
    assert raw_compose["services"]["app"]["ports"] == ["${GISPLATFORM_PORT:-8000}:8000"]
    doc = interpolate(raw_compose, {**TEST_ENV, "GISPLATFORM_PORT": "8080"})
    assert doc["services"]["app"]["ports"] == ["8080:8000"]


# --- variables and secrets --------------------------------------------------------


def test_every_variable_is_documented(compose_text: str) -> None:
    documented = parse_env_example()
    used = set(used_variables(compose_text))
    assert used, "docker-compose.yml is expected to be configurable"
    assert used <= set(documented), f"undocumented in .env.example: {used - set(documented)}"
    # .env.example serves both deployments (docker-compose.prod.yml: tests/test_compose_prod.py)
    used |= set(used_variables(PROD_COMPOSE_FILE.read_text(encoding="utf-8")))
    unused = set(documented) - used - COMPOSE_OWN_VARIABLES
    assert not unused, f".env.example lists variables the compose file ignores: {unused}"
    for key, (_, comment) in documented.items():
        assert comment, f".env.example: {key} has no comment"


def test_password_has_no_default(compose_text: str, raw_compose: dict[str, Any]) -> None:
    ops = used_variables(compose_text)["POSTGRES_PASSWORD"]
    assert ops == {":?"}, "POSTGRES_PASSWORD must be required (${POSTGRES_PASSWORD:?...})"
    assert parse_env_example()["POSTGRES_PASSWORD"][0] == ""
    for env in ({"GISPLATFORM_API_PASSWORD": "a"}, {"POSTGRES_PASSWORD": ""}):
        with pytest.raises(MissingVariableError, match="POSTGRES_PASSWORD"):
            interpolate(raw_compose, env)
    with pytest.raises(MissingVariableError, match="GISPLATFORM_API_PASSWORD"):
        interpolate(raw_compose, {"POSTGRES_PASSWORD": "pw"})
    assert "POSTGRES_PASSWORD" not in DOCKERFILE.read_text(encoding="utf-8")


def test_interpolation_helper() -> None:
    env = {"A": "1", "E": ""}
    assert _interpolate_str("${A:-x} ${B:-x} ${E:-x} ${E-x} $A $$A", env) == "1 x x  1 $A"
    with pytest.raises(MissingVariableError):
        _interpolate_str("${E:?need E}", env)
    assert _interpolate_str("${E?need E}", env) == ""


# --- image -----------------------------------------------------------------------


def test_dockerfile_multistage_non_root() -> None:
    instructions = dockerfile_instructions()
    args = {
        k: v
        for word, rest in instructions
        if word == "ARG" and "=" in rest
        for k, _, v in [rest.partition("=")]
    }
    froms = [rest for word, rest in instructions if word == "FROM"]
    assert len(froms) >= 2, "expected a multi-stage build"
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], ""), f.split()[0]) for f in froms]
    assert bases[-1] == "python:3.12-slim"
    assert "python:3.12-slim" in bases[:-1], "the build stage should use the same base"

    final = instructions[max(i for i, (w, _) in enumerate(instructions) if w == "FROM") :]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}

    cmds = [rest for word, rest in final if word == "CMD"]
    assert cmds and json.loads(cmds[-1]) == [
        "gisplatform",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    runs = " ".join(rest for word, rest in instructions if word == "RUN")
    assert re.search(r"pip install (\S+ )*\.(\s|$)", runs), "the package is installed with pip"


def test_dockerignore_excludes_local_state() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".git", ".venv", ".gisplatform", ".env", ".pytest_cache", "node_modules"):
        assert needed in patterns, f".dockerignore should exclude {needed}"


# --- a real Compose CLI, when one is installed ------------------------------------


def _compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False, timeout=60
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    exe = shutil.which("docker-compose")
    return [exe] if exe else None


def test_compose_cli_config(tmp_path: Path) -> None:
    cli = _compose_cli()
    assert cli is not None, "no docker compose CLI: scripts/bootstrap.sh installs docker-compose"
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in TEST_ENV.items()), encoding="utf-8")
    empty_env = tmp_path / "empty.env"
    empty_env.write_text("", encoding="utf-8")
    proc_env = {k: v for k, v in os.environ.items() if k not in parse_env_example()}

    def run(env: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, "-f", str(COMPOSE_FILE), "--project-directory", str(ROOT),
             "--env-file", str(env), "config"],
            capture_output=True, text=True, env=proc_env, check=False, timeout=120,
        )  # fmt: skip

    ok = run(env_file)
    assert ok.returncode == 0, ok.stderr
    resolved = yaml.safe_load(ok.stdout)
    assert resolved["services"]["app"]["environment"]["DATABASE_URL"] == (
        "postgresql://hromada:s3cret-for-tests@db:5432/romny"
    )
    missing = run(empty_env)
    assert missing.returncode != 0
    assert "POSTGRES_PASSWORD" in missing.stderr


def test_every_path_the_dockerfile_copies_exists() -> None:
    """Sources of the build context exist; sources of a stage are made by that stage."""
    stages: dict[str, list[str]] = {}
    current = ""
    for word, args in dockerfile_instructions():
        if word == "FROM":
            current = args.split(" AS ")[-1].strip() if " AS " in args else args
            stages[current] = []
        elif word == "RUN":
            stages[current].append(args)
        elif word == "COPY":
            parts = args.split()
            stage = next((p.split("=", 1)[1] for p in parts if p.startswith("--from=")), None)
            sources = [p for p in parts if not p.startswith("--")][:-1]
            for source in sources:
                if stage is None:
                    assert (ROOT / source.rstrip("/")).exists(), f"COPY {source}: not in the repo"
                else:  # made by the stage: one of its steps (or a script it runs) names the path
                    scripts = [
                        ROOT / word_
                        for run in stages[stage]
                        for word_ in run.split()
                        if word_.endswith(".sh")
                    ]
                    relative = source.removeprefix("/src/").rstrip("/")
                    said = [*stages[stage], *(s.read_text(encoding="utf-8") for s in scripts)]
                    made = any(source.rstrip("/") in text or relative in text for text in said)
                    assert made, f"COPY --from={stage} {source}: no step of {stage} makes it"
