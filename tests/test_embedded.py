"""Real tests of the embedded PostgreSQL + PostGIS cluster (no mocks)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gisplatform.errors import ConfigurationError
from gisplatform.settings import Settings
from gisplatform.store.embedded import (
    FALLBACK_ROOT,
    LOGIN_ROLES,
    EmbeddedCluster,
    find_postgres_bin_dir,
)
from tests.conftest import LAYERS_DIR

pytestmark = pytest.mark.db


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_scratch() -> Path:
    """A fresh directory under /tmp that other users (the ``postgres`` user) can traverse."""
    path = Path(tempfile.mkdtemp(prefix="gisplatform-test-", dir="/tmp"))
    path.chmod(0o755)
    return path


def own_cluster_settings(path: Path, **extra: object) -> Settings:
    """Settings of an embedded cluster of its own in ``path`` (no DATABASE_URL)."""
    return Settings(  # type: ignore[call-arg]
        DATABASE_URL=None,
        api_database_url=None,
        analyses_database_url=None,
        data_dir=path / "data",
        db_port=free_port(),
        layers_dir=LAYERS_DIR,
        **extra,
    )


def cli_env(settings: Settings, **extra: str) -> dict[str, str | None]:
    """The environment under which the CLI works on ``settings``' embedded cluster."""
    return {
        "DATABASE_URL": None,
        "GISPLATFORM_API_DATABASE_URL": None,
        "GISPLATFORM_DATA_DIR": str(settings.data_dir),
        "GISPLATFORM_DB_PORT": str(settings.db_port),
        "GISPLATFORM_LAYERS_DIR": str(LAYERS_DIR),
        "GISPLATFORM_LANG": "en",
        "COLUMNS": "300",
        **extra,
    }


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    """A directory the ``postgres`` user can traverse (pytest's own tmp dir is 0700 root)."""
    path = make_scratch()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    """One cluster shared by the tests that only need a running server."""
    path = make_scratch()
    embedded = EmbeddedCluster(path / "data", free_port())
    yield embedded
    embedded.stop()
    shutil.rmtree(path, ignore_errors=True)


def wait_gone(pid: int, timeout_s: float = 10.0) -> None:
    """Wait until ``pid`` has exited (a zombie counts as exited)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not exit")


def test_bin_dir_has_postgis() -> None:
    bin_dir = find_postgres_bin_dir()
    assert (bin_dir / "postgres").is_file()
    assert (bin_dir / "initdb").is_file()


def test_start_status_and_postgis(cluster: EmbeddedCluster) -> None:
    before = cluster.status()
    assert not before.running
    assert before.url is None

    url = cluster.start()
    assert url.startswith("postgresql://gisplatform:")
    assert f"@127.0.0.1:{cluster.port}/gisplatform" in url

    after = cluster.status()
    assert after.running
    assert after.url == url
    assert after.port == cluster.port
    assert after.bin_dir is not None and after.pg_version == after.bin_dir.parent.name

    info = json.loads(cluster.conn_file.read_text())
    assert set(info) == {"user", "password", "host", "port", "db", "roles"}
    assert set(info["roles"]) == set(LOGIN_ROLES)
    assert len(set(info["roles"].values()) | {info["password"]}) == len(LOGIN_ROLES) + 1
    assert info["port"] == cluster.port
    assert cluster.conn_file.stat().st_mode & 0o777 == 0o600

    with psycopg.connect(url) as conn:
        version = conn.execute("SELECT postgis_full_version()").fetchone()
        assert version is not None and "POSTGIS=" in version[0]
        row = conn.execute(
            "SELECT ST_AsText(g), ST_SRID(g), ST_X(g), ST_Y(g)"
            " FROM (SELECT ST_GeomFromGeoJSON(%s) AS g) AS t",
            ['{"type": "Point", "coordinates": [33.4746, 50.7515]}'],
        ).fetchone()
        assert row == ("POINT(33.4746 50.7515)", 4326, 33.4746, 50.7515)
        settings = conn.execute(
            "SELECT current_setting('listen_addresses'), current_setting('shared_buffers'),"
            " current_setting('unix_socket_directories'), current_setting('fsync'),"
            " current_setting('archive_mode'), current_setting('wal_level')"
        ).fetchone()
        # the only socket is private to the server's user (pgBackRest connects through it)
        socket_dir = str(cluster.socket_dir)
        assert settings == ("127.0.0.1", "256MB", socket_dir, "on", "on", "replica")
        assert cluster.socket_dir.stat().st_mode & 0o777 == 0o700
        assert (cluster.backup_repo / "backup" / cluster.stanza).is_dir()


def test_start_twice_is_idempotent_and_fast(cluster: EmbeddedCluster) -> None:
    url = cluster.start()
    started = time.monotonic()
    assert cluster.start() == url
    assert time.monotonic() - started < 2.0


def test_stop_then_start_keeps_data(cluster: EmbeddedCluster) -> None:
    url = cluster.start()
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS kept (id int PRIMARY KEY, geom geometry)")
        conn.execute("INSERT INTO kept VALUES (1, 'SRID=4326;POINT(33.47 50.75)')")
    cluster.stop()
    assert not cluster.status().running
    cluster.stop()  # stopping a stopped cluster is a no-op
    assert cluster.start() == url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT id, ST_AsText(geom) FROM kept").fetchall() == [
            (1, "POINT(33.47 50.75)")
        ]


def test_recovers_from_killed_postmaster(cluster: EmbeddedCluster) -> None:
    url = cluster.start()
    pid_file = cluster.pgdata / "postmaster.pid"
    pid = int(pid_file.read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid)
    assert pid_file.exists()
    assert not cluster.status().running
    assert cluster.start() == url
    assert cluster.status().running
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (1,)


def test_taken_port_gives_clear_error(scratch_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ConfigurationError, match=rf"port {port}.*GISPLATFORM_DB_PORT"):
            EmbeddedCluster(scratch_dir / "data", port).start()


def test_concurrent_starts_share_one_cluster(scratch_dir: Path) -> None:
    data_dir, port = scratch_dir / "data", free_port()
    code = (
        "import sys; from pathlib import Path;"
        "from gisplatform.store.embedded import EmbeddedCluster as C;"
        "print(C(Path(sys.argv[1]), int(sys.argv[2])).start())"
    )
    cmd = [sys.executable, "-c", code, str(data_dir), str(port)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        urls = [proc.communicate(timeout=60)[0].strip() for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0]
        assert urls[0] == urls[1] != ""
    finally:
        EmbeddedCluster(data_dir, port).stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to 'postgres'")
def test_unreachable_data_dir_is_relocated(scratch_dir: Path) -> None:
    """A clone under a 0700 directory (root's home) still gets a working cluster."""
    private = scratch_dir / "private"
    private.mkdir(mode=0o700)
    embedded = EmbeddedCluster(private / "data", free_port())
    assert embedded.data_dir.is_relative_to(FALLBACK_ROOT)
    assert "lives in" in (private / "data" / "CLUSTER-LOCATION.txt").read_text()
    try:
        with psycopg.connect(embedded.start()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert embedded.status().data_dir == embedded.data_dir
    finally:
        embedded.stop()
        shutil.rmtree(embedded.data_dir, ignore_errors=True)
