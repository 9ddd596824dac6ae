"""A private PostgreSQL + PostGIS cluster in a data directory, run from the system's binaries.

Layout of ``data_dir``: ``pgdata/`` (the cluster), ``connection.json`` (mode 0600: the
superuser's password and, under ``roles``, those of the platform's login roles, see
:mod:`gisplatform.store.roles`),
``postgresql.log`` and ``.lock`` (serialises ``start``/``stop`` across processes). PostgreSQL
refuses to run as root, so under euid 0 the server runs as the ``postgres`` system user.

When pgBackRest is installed the cluster archives its WAL with it (``archive_mode = on``,
``archive_timeout`` bounds the loss window) into a repository, ``backups/`` in the data
directory unless another is given; ``pgbackrest/pgbackrest.conf`` (one stanza, named after the
database) is written at each start, and ``run/`` holds the server's Unix socket (mode 0700),
which pgBackRest connects through. See :mod:`gisplatform.store.backup`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from gisplatform.errors import ConfigurationError, DatabaseUnavailable
from gisplatform.i18n import message
from gisplatform.store.roles import ANALYSES_ROLE, API_ROLE, OWNER_ROLE

#: login roles the embedded cluster keeps a generated password for
LOGIN_ROLES = (OWNER_ROLE, API_ROLE, ANALYSES_ROLE)

log = logging.getLogger(__name__)

PG_LIB_ROOT = Path("/usr/lib/postgresql")
PG_SHARE_ROOT = Path("/usr/share/postgresql")
SUPERUSER = "gisplatform"
HOST = "127.0.0.1"
_SERVICE_USER = "postgres"
_DB_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_START_TIMEOUT_S = 60
_SETTINGS = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",
    "shared_buffers": "256MB",
    "effective_cache_size": "2GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "max_connections": "100",
    "max_worker_processes": "4",
    "max_parallel_workers": "2",
    "max_parallel_workers_per_gather": "1",
    "fsync": "on",
    "synchronous_commit": "on",
    "logging_collector": "off",
    "wal_level": "replica",
    "max_wal_senders": "5",
    "hot_standby": "on",
    "unix_socket_permissions": "0700",
    # WAL a stopped replica's slot may hold back before the primary lets it go
    "max_slot_wal_keep_size": "2GB",
}
#: longest Unix socket path the kernel accepts (sun_path, including the NUL)
_SOCKET_PATH_MAX = 107
#: bounds the WAL that an unfinished segment can hold back from the archive (the RPO)
ARCHIVE_TIMEOUT_S = 60


@dataclass(frozen=True)
class ClusterStatus:
    """What ``EmbeddedCluster.status`` reports."""

    running: bool
    data_dir: Path
    port: int
    url: str | None
    pg_version: str | None
    bin_dir: Path | None


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.name)) or (0,)


def find_postgres_bin_dir() -> Path:
    """Return the newest ``/usr/lib/postgresql/<v>/bin`` whose version has PostGIS installed."""
    versions = sorted(
        (d for d in PG_LIB_ROOT.glob("*") if (d / "bin" / "postgres").is_file()),
        key=_version_key,
        reverse=True,
    )
    if not versions:
        raise ConfigurationError(
            "no PostgreSQL server found under /usr/lib/postgresql: "
            "apt-get install postgresql postgresql-postgis (or run scripts/bootstrap.sh)"
        )
    for d in versions:
        if (PG_SHARE_ROOT / d.name / "extension" / "postgis.control").is_file():
            return d / "bin"
    newest = versions[0].name
    raise ConfigurationError(
        f"PostGIS is not installed for PostgreSQL {newest}: "
        f"apt-get install postgresql-{newest}-postgis-3 (or run scripts/bootstrap.sh)"
    )


FALLBACK_ROOT = Path("/var/lib/gisplatform/clusters")


def _postgres_can_enter(path: Path) -> bool:
    """True when the ``postgres`` user can traverse ``path`` (its nearest existing ancestor)."""
    user = pwd.getpwnam(_SERVICE_USER)
    existing = next(p for p in (path, *path.parents) if p.exists())
    probe = subprocess.run(
        ["test", "-x", str(existing)],
        check=False,
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=os.getgrouplist(user.pw_name, user.pw_gid),
    )
    return probe.returncode == 0


def _reachable_data_dir(requested: Path) -> Path:
    """Where the cluster really lives.

    As root the server runs as ``postgres``, which cannot enter a clone under a
    0700 home directory. Then the cluster lives under :data:`FALLBACK_ROOT`, in a
    folder named after the requested path, and a note in the requested folder
    says where.
    """
    if os.geteuid() != 0:
        return requested
    try:
        if _postgres_can_enter(requested):
            return requested
    except KeyError:
        return requested  # no postgres user: start() reports the missing package
    digest = hashlib.sha1(str(requested).encode()).hexdigest()[:10]
    fallback = FALLBACK_ROOT / f"{requested.parent.name or 'root'}-{digest}"
    requested.mkdir(parents=True, exist_ok=True)
    (requested / "CLUSTER-LOCATION.txt").write_text(
        f"The 'postgres' user cannot enter {requested}; the embedded cluster lives in {fallback}\n",
        encoding="utf-8",
    )
    FALLBACK_ROOT.mkdir(parents=True, exist_ok=True)
    FALLBACK_ROOT.chmod(0o755)
    FALLBACK_ROOT.parent.chmod(0o755)
    log.debug("embedded cluster relocated to %s (postgres cannot enter %s)", fallback, requested)
    return fallback


class EmbeddedCluster:
    """A PostgreSQL + PostGIS cluster owned by the platform, listening on 127.0.0.1 only."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        db_name: str = "gisplatform",
        backup_repo: Path | None = None,
        *,
        archive: bool = True,
    ) -> None:
        if not _DB_NAME_RE.match(db_name):
            raise ConfigurationError(f"invalid database name {db_name!r}")
        self.requested_dir = data_dir.expanduser().absolute()
        self.data_dir = _reachable_data_dir(self.requested_dir)
        self.port = port
        self.db_name = db_name
        self.pgdata = self.data_dir / "pgdata"
        self.conn_file = self.data_dir / "connection.json"
        self.log_file = self.data_dir / "postgresql.log"
        self.lock_file = self.data_dir / ".lock"
        self.backup_repo = (
            backup_repo.expanduser().absolute() if backup_repo else self.data_dir / "backups"
        )
        self.backup_dir = self.data_dir / "pgbackrest"
        self.backup_conf = self.backup_dir / "pgbackrest.conf"
        #: the pgBackRest stanza of this cluster
        self.stanza = db_name
        self.socket_dir = self._socket_dir()
        self._archive = archive

    # -- public interface -------------------------------------------------------------------

    def start(self) -> str:
        """Create (initdb) and start the cluster as needed; ensure the database and extensions.

        Returns a ``postgresql://`` URL. Safe to call repeatedly and from several processes.
        """
        bin_dir = self._cluster_bin_dir_checked() or find_postgres_bin_dir()
        self._prepare_data_dir()
        with self._locked():
            pid = self._postmaster_pid(clean=True)
            if pid is None:
                self._check_port_free(self.port)
                if not (self.pgdata / "PG_VERSION").is_file():
                    self._initdb(bin_dir)
                self._write_settings()
                self._start_server(bin_dir)
                port = self.port
            else:
                port = self._running_port() or self.port
                if port != self.port:
                    log.warning("embedded cluster already runs on port %d, not %d", port, self.port)
            url = self._url(port)
            self._ensure_role_passwords()
            self._ensure_database(port)
            self._ensure_stanza()
        return url

    @property
    def archiving(self) -> bool:
        """True when the cluster archives WAL with pgBackRest (the program is installed)."""
        return self._archive and shutil.which("pgbackrest") is not None

    def superuser_password(self) -> str:
        """The superuser's password (pgBackRest logs in with it through the socket)."""
        return str(self._connection()["password"])

    def run_tool(self, args: list[str], env: dict[str, str] | None = None) -> str:
        """Run a PostgreSQL or pgBackRest program as the server's user; return its stdout."""
        return self._run_pg(args, extra_env=env)

    def wait_started(self) -> None:
        """Start the server in ``pgdata`` as it is (after a restore), without any set-up."""
        bin_dir = self._cluster_bin_dir_checked() or find_postgres_bin_dir()
        with self._locked():
            if self._postmaster_pid(clean=True) is None:
                self._check_port_free(self.port)
                self._write_settings()
                self._start_server(bin_dir)

    def role_passwords(self) -> dict[str, str]:
        """The generated password of each login role (``gisplatform db migrate`` sets them)."""
        roles = self._connection().get("roles")
        return {str(k): str(v) for k, v in roles.items()} if isinstance(roles, dict) else {}

    def login_url(self, role: str | None = None, port: int | None = None) -> str:
        """The URL to log in as ``role`` (one of :data:`LOGIN_ROLES`; None: the superuser)."""
        port = port or self._running_port() or self.port
        if role is None:
            return self._url(port)
        password = self.role_passwords().get(role)
        if password is None:
            raise ConfigurationError(
                f"{self.conn_file} holds no password for {role}; run `gisplatform db start`"
            )
        user, secret = quote(role, safe=""), quote(password, safe="")
        return f"postgresql://{user}:{secret}@{HOST}:{port}/{self.db_name}"

    def stop(self) -> None:
        """Stop the cluster (fast shutdown); a no-op when it is not running."""
        if not self.pgdata.is_dir():
            return
        with self._locked():
            if self._postmaster_pid() is None:
                return
            bin_dir = self._bin_dir_for_cluster() or find_postgres_bin_dir()
            log.info("stopping embedded PostgreSQL in %s", self.pgdata)
            pg_ctl = str(bin_dir / "pg_ctl")
            timeout = str(_START_TIMEOUT_S)
            self._run_pg(
                [pg_ctl, "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", timeout]
            )

    def status(self) -> ClusterStatus:
        """Report whether the cluster runs, and where."""
        running = self.pgdata.is_dir() and self._postmaster_pid() is not None
        port = (self._running_port() if running else None) or self.port
        version_file = self.pgdata / "PG_VERSION"
        pg_version = version_file.read_text().strip() if version_file.is_file() else None
        bin_dir = self._bin_dir_for_cluster()
        url = self._url(port) if running and self.conn_file.is_file() else None
        return ClusterStatus(running, self.data_dir, port, url, pg_version, bin_dir)

    # -- helpers ----------------------------------------------------------------------------

    def _service_user(self) -> pwd.struct_passwd | None:
        """The account the server runs as when we are root; None when we run it ourselves."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(_SERVICE_USER)
        except KeyError:
            raise ConfigurationError(
                "running as root needs the 'postgres' system user: apt-get install postgresql"
            ) from None

    def _run_pg(
        self, args: list[str], *, detach: bool = False, extra_env: dict[str, str] | None = None
    ) -> str:
        """Run a PostgreSQL program, as the ``postgres`` user when we are root."""
        user = self._service_user()
        groups = os.getgrouplist(user.pw_name, user.pw_gid) if user else None
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
        env.update(extra_env or {})
        log.debug("running %s", args)
        try:
            done = subprocess.run(
                args,
                check=True,
                cwd=self.data_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                start_new_session=detach,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=groups,
            )
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()
            raise DatabaseUnavailable(
                f"{Path(args[0]).name} {args[1] if len(args) > 1 else ''} failed: "
                + (detail[-1] if detail else f"exit {exc.returncode}")
            ) from exc
        return done.stdout

    def give_to_service_user(self, path: Path) -> None:
        """Make ``path`` the server's user's (when we are root)."""
        user = self._service_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    _give_to_service_user = give_to_service_user

    def _prepare_data_dir(self) -> None:
        """Create the data directory, owned by the server's user, and check it can reach it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self._service_user()
        if user is None:
            return
        self._give_to_service_user(self.data_dir)
        groups = os.getgrouplist(user.pw_name, user.pw_gid)

        def reachable(path: Path) -> bool:
            test = subprocess.run(
                ["test", "-x", str(path)],
                check=False,
                user=user.pw_uid,
                group=user.pw_gid,
                extra_groups=groups,
            )
            return test.returncode == 0

        if reachable(self.data_dir):
            return
        blocker = next(
            (p for p in reversed(self.data_dir.parents) if not reachable(p)), self.data_dir
        )
        raise ConfigurationError(
            f"the 'postgres' user cannot reach {self.data_dir} (blocked at {blocker}); "
            "choose another GISPLATFORM_DATA_DIR or chmod o+x the directories above it"
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.lock_file, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _pid_file_lines(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return []

    def _postmaster_pid(self, *, clean: bool = False) -> int | None:
        """The pid of this cluster's live postmaster, or None.

        With ``clean`` (only under the lock), a pid file whose pid now belongs to another
        process (reuse after a crash or reboot, or an unreaped zombie) is removed once no
        process still holds the old shared memory.
        """
        lines = self._pid_file_lines()
        if not lines or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return None  # dead: PostgreSQL itself recovers from such a pid file
        if str(self.pgdata).encode() in cmdline:
            return pid
        if not clean:
            return None
        self._wait_shared_memory_released(lines)
        log.warning("removing stale %s (pid %d is not its postmaster)", "postmaster.pid", pid)
        with contextlib.suppress(FileNotFoundError):
            (self.pgdata / "postmaster.pid").unlink()
        return None

    @staticmethod
    def _wait_shared_memory_released(lines: list[str], timeout_s: float = 15.0) -> None:
        """Wait until the crashed server's orphaned processes detach from its shared memory."""
        ids = lines[6].split() if len(lines) > 6 else []
        if len(ids) != 2:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                table = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
            except OSError:
                return
            attached = [row.split() for row in table if row.split()[1:2] == [ids[1]]]
            if not attached or attached[0][6] == "0":
                return
            time.sleep(0.2)
        raise DatabaseUnavailable(message("crashed_processes"))

    def _running_port(self) -> int | None:
        lines = self._pid_file_lines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def _cluster_bin_dir_checked(self) -> Path | None:
        """The binaries of an existing cluster's major version (None before initdb)."""
        version_file = self.pgdata / "PG_VERSION"
        if not version_file.is_file():
            return None
        version = version_file.read_text().strip()
        bin_dir = self._bin_dir_for_cluster()
        if bin_dir is None or not (bin_dir / "postgres").is_file():
            raise ConfigurationError(
                f"the cluster in {self.pgdata} needs PostgreSQL {version}: "
                f"apt-get install postgresql-{version} postgresql-{version}-postgis-3"
            )
        if not (PG_SHARE_ROOT / version / "extension" / "postgis.control").is_file():
            raise ConfigurationError(
                f"PostGIS is not installed for PostgreSQL {version}: "
                f"apt-get install postgresql-{version}-postgis-3"
            )
        return bin_dir

    def _bin_dir_for_cluster(self) -> Path | None:
        version_file = self.pgdata / "PG_VERSION"
        if not version_file.is_file():
            return None
        bin_dir = PG_LIB_ROOT / version_file.read_text().strip() / "bin"
        return bin_dir if bin_dir.is_dir() else None

    @staticmethod
    def _check_port_free(port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                raise ConfigurationError(
                    f"port {port} on {HOST} is already in use by another program; "
                    "set GISPLATFORM_DB_PORT to a free port"
                ) from None

    def _initdb(self, bin_dir: Path) -> None:
        """Create the cluster in a scratch directory, then move it into place."""
        log.info("creating embedded PostgreSQL cluster in %s", self.pgdata)
        scratch = self.data_dir / "pgdata.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        password = secrets.token_urlsafe(24)
        pwfile = self.data_dir / ".initdb-password"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self._give_to_service_user(pwfile)
        try:
            self._run_pg(
                [
                    *(str(bin_dir / "initdb"), "-D", str(scratch), "-U", SUPERUSER),
                    *(f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=peer"),
                    *("-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"),
                ]
            )
        finally:
            pwfile.unlink()
        with open(scratch / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# gisplatform: settings rewritten at each start\ninclude = 'gisplatform.conf'\n"
            )
        self._write_connection(password)
        scratch.rename(self.pgdata)

    def _ensure_role_passwords(self) -> None:
        """Generate the login roles' passwords once (clusters made before the roles too)."""
        info = self._connection()
        roles = self.role_passwords()
        if all(role in roles for role in LOGIN_ROLES):
            return
        for role in LOGIN_ROLES:
            roles.setdefault(role, secrets.token_urlsafe(24))
        self._write_connection(str(info["password"]), roles)

    def _write_connection(self, password: str, roles: dict[str, str] | None = None) -> None:
        info: dict[str, object] = {"user": SUPERUSER, "password": password, "host": HOST}
        info["port"] = self.port
        info["db"] = self.db_name
        if roles is None:
            roles = self.role_passwords() if self.conn_file.is_file() else {}
        info["roles"] = roles
        tmp = self.conn_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(info, fh, indent=2)
        tmp.replace(self.conn_file)

    def _connection(self) -> dict[str, object]:
        try:
            info: dict[str, object] = json.loads(self.conn_file.read_text())
        except FileNotFoundError:
            raise ConfigurationError(
                f"{self.conn_file} is missing, so the cluster in {self.pgdata} cannot be used; "
                "remove that data directory to start afresh"
            ) from None
        return info

    def _socket_dir(self) -> Path:
        """``run/`` in the data directory, or a short one in /tmp when that path is too long."""
        wanted = self.data_dir / "run"
        if len(str(wanted / f".s.PGSQL.{self.port}")) < _SOCKET_PATH_MAX:
            return wanted
        digest = hashlib.sha1(str(self.data_dir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"gisplatform-{digest}"

    def _write_settings(self) -> None:
        settings = {**_SETTINGS, "port": str(self.port)}
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self._give_to_service_user(self.socket_dir)
        # Called under the lock with no server running: a socket lock left by a killed
        # postmaster (whose pid may live on as a zombie) would stop the start.
        for stale in self.socket_dir.glob(".s.PGSQL.*"):
            stale.unlink(missing_ok=True)
        settings["unix_socket_directories"] = str(self.socket_dir)
        if self.archiving:
            self._write_backup_conf()
            command = ["pgbackrest", f"--config={self.backup_conf}", f"--stanza={self.stanza}"]
            settings["archive_mode"] = "on"
            settings["archive_command"] = shlex.join([*command, "archive-push"]) + " %p"
            settings["archive_timeout"] = str(ARCHIVE_TIMEOUT_S)
        text = "".join(f"{key} = '{value}'\n" for key, value in settings.items())
        path = self.pgdata / "gisplatform.conf"
        path.write_text("# written by gisplatform.store.embedded at each start\n" + text)
        self._give_to_service_user(path)
        self._ensure_local_password_login()
        info = self._connection()
        if info.get("port") != self.port or info.get("db") != self.db_name:
            self._write_connection(str(info["password"]))

    def _ensure_local_password_login(self) -> None:
        """Let the superuser log in through the socket with its password (for pgBackRest)."""
        hba = self.pgdata / "pg_hba.conf"
        line = f"local all {SUPERUSER} scram-sha-256  # gisplatform: pgBackRest\n"
        text = hba.read_text()
        if line not in text:
            hba.write_text(line + text)

    def _write_backup_conf(self) -> None:
        """pgBackRest's configuration: the repository, this cluster's stanza, logs and locks."""
        for path in (self.backup_dir, self.backup_repo):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._give_to_service_user(path)
        lines = [
            "# written by gisplatform.store.embedded at each start",
            "[global]",
            f"repo1-path={self.backup_repo}",
            "repo1-retention-full=2",
            "compress-type=lz4",
            "start-fast=y",
            "process-max=2",
            f"log-path={self.backup_dir / 'log'}",
            f"lock-path={self.backup_dir / 'lock'}",
            f"spool-path={self.backup_dir / 'spool'}",
            "log-level-console=warn",
            "log-level-file=info",
            "",
            f"[{self.stanza}]",
            f"pg1-path={self.pgdata}",
            f"pg1-port={self.port}",
            f"pg1-socket-path={self.socket_dir}",
            f"pg1-user={SUPERUSER}",
            f"pg1-database={self.db_name}",
        ]
        self.backup_conf.write_text("\n".join(lines) + "\n")
        self._give_to_service_user(self.backup_conf)

    def pgbackrest(self, *args: str) -> str:
        """Run ``pgbackrest`` with this cluster's configuration and stanza; return its stdout."""
        command = ["pgbackrest", f"--config={self.backup_conf}", f"--stanza={self.stanza}"]
        return self.run_tool([*command, *args], {"PGPASSWORD": self.superuser_password()})

    def _ensure_stanza(self) -> None:
        """Create the stanza in the repository once (WAL archiving waits for it)."""
        if not self.archiving or (self.backup_repo / "backup" / self.stanza).is_dir():
            return
        log.info("creating pgBackRest stanza %s in %s", self.stanza, self.backup_repo)
        # a cluster that was already running when archiving came (an upgrade) has no config
        # yet and not the new settings: it keeps serving, and backups start after a restart
        self._write_backup_conf()
        try:
            self.pgbackrest("stanza-create")
        except DatabaseUnavailable as exc:
            log.warning("backups not ready until the embedded database restarts: %s", exc)

    def _start_server(self, bin_dir: Path) -> None:
        log.info("starting embedded PostgreSQL on %s:%d", HOST, self.port)
        args = [str(bin_dir / "pg_ctl"), "start", "-D", str(self.pgdata), "-l", str(self.log_file)]
        args += ["-w", "-t", str(_START_TIMEOUT_S)]
        deadline = time.monotonic() + 15
        while True:
            try:
                self._run_pg(args, detach=True)
                return
            except DatabaseUnavailable as exc:
                tail = self._log_tail()
                if "could not bind" in tail or "Address already in use" in tail:
                    self._check_port_free(self.port)
                if "shared memory block" in tail and time.monotonic() < deadline:
                    time.sleep(0.5)  # a crashed server's children are still exiting
                    continue
                raise DatabaseUnavailable(f"{exc}; see {self.log_file}: {tail}") from exc

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-3:])

    def _url(self, port: int) -> str:
        info = self._connection()
        user, password = quote(str(info["user"]), safe=""), quote(str(info["password"]), safe="")
        return f"postgresql://{user}:{password}@{HOST}:{port}/{self.db_name}"

    def _ensure_database(self, port: int) -> None:
        """Create the database and the PostGIS (and pgRouting, when installed) extensions."""
        info = self._connection()

        def conninfo(dbname: str) -> str:
            return make_conninfo(
                host=HOST,
                port=port,
                user=str(info["user"]),
                password=str(info["password"]),
                dbname=dbname,
                connect_timeout=10,
            )

        with psycopg.connect(conninfo("postgres"), autocommit=True) as c:
            found = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.db_name])
            if found.fetchone() is None:
                log.info("creating database %s", self.db_name)
                c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db_name)))
        with psycopg.connect(conninfo(self.db_name), autocommit=True) as c:
            rows = c.execute(
                "SELECT name, installed_version FROM pg_available_extensions"
                " WHERE name IN ('postgis', 'pgrouting')"
            ).fetchall()
            available: dict[str, str | None] = dict(rows)
            for ext in ("postgis", "pgrouting"):
                if ext in available and available[ext] is None:
                    log.info("creating extension %s in %s", ext, self.db_name)
                    c.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext))
                    )
            if "pgrouting" not in available:
                log.info("pgRouting is not installed; routing analyses will be unavailable")
