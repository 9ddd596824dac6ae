"""The restore drill as a script: RPO and RTO of a point-in-time recovery of the embedded cluster.

An embedded cluster with the Romny demo in ``/tmp/gisplatform-bench-restore`` (port 54394):
a full backup, edits A, the moment T, edits B and a dropped layer table, then
``gisplatform db restore --to-time T --force``. Checks that every layer table's md5 equals the
one at T and prints the RTO (wall time of the restore command) and the RPO (what was lost at T:
nothing; the bound for a lost disk: ``archive_timeout``).

    .venv/bin/python bench/bench_restore.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gisplatform.registry import load_registry  # noqa: E402
from gisplatform.settings import Settings  # noqa: E402
from gisplatform.store.database import database_url  # noqa: E402
from gisplatform.store.embedded import ARCHIVE_TIMEOUT_S  # noqa: E402

GISPLATFORM = Path(sys.executable).with_name("gisplatform")
WORK_DIR = Path("/tmp/gisplatform-bench-restore")
PORT = 54394


def fingerprints(url: str, names: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    with psycopg.connect(url) as conn:
        for name in names:
            exists = conn.execute("SELECT to_regclass(%s)", [f"gis.{name}"]).fetchone()
            if not exists or exists[0] is None:
                found[name] = None
                continue
            row = conn.execute(
                sql.SQL(
                    "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
                ).format(sql.Identifier("gis", name))
            ).fetchone()
            found[name] = row[0] if row else None
    return found


def main() -> None:
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    WORK_DIR.mkdir(parents=True)
    WORK_DIR.chmod(0o755)  # the cluster runs as postgres when we are root
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        GISPLATFORM_DATA_DIR=str(WORK_DIR / "data"),
        GISPLATFORM_DB_PORT=str(PORT),
        GISPLATFORM_LAYERS_DIR=str(ROOT / "layers"),
        GISPLATFORM_LANG="en",
    )
    os.environ.update(env)
    os.environ.pop("DATABASE_URL", None)

    def cli(*args: str) -> str:
        done = subprocess.run([str(GISPLATFORM), *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"gisplatform {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    try:
        cli("demo")
        settings = Settings()
        names = [spec.name for spec in load_registry(settings.layers_dir)]
        url = database_url(settings)
        began = time.monotonic()
        cli("db", "backup", "--type", "full")
        backup_s = time.monotonic() - began
        with psycopg.connect(url, autocommit=True) as conn:
            for name in names[:2]:
                conn.execute(
                    sql.SQL("DELETE FROM {t} WHERE ctid = (SELECT min(ctid) FROM {t})").format(
                        t=sql.Identifier("gis", name)
                    )
                )
            time.sleep(1)
            row = conn.execute("SELECT now()").fetchone()
            assert row is not None
            moment = row[0]
            at_t = fingerprints(url, names)
            time.sleep(1)
            conn.execute(
                sql.SQL("DELETE FROM {t} WHERE ctid = (SELECT max(ctid) FROM {t})").format(
                    t=sql.Identifier("gis", names[2])
                )
            )
            conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier("gis", names[-1])))
        began = time.monotonic()
        out = cli("db", "restore", "--to-time", moment.isoformat(), "--force")
        rto = time.monotonic() - began
        restored = fingerprints(database_url(settings), names)
        same = restored == at_t
        print(out.strip())
        print(
            f"\nrestore drill: {len(names)} layer tables, state at T "
            f"{'IDENTICAL' if same else 'DIFFERENT'} (md5 of every table)\n"
            f"full backup of the demo: {backup_s:.1f} s\n"
            f"RTO: {rto:.1f} s (db restore --to-time, command start to a promoted, "
            "serving cluster)\n"
            f"RPO: 0 s at T (every commit up to T restored, none after); a lost disk loses at "
            f"most archive_timeout = {ARCHIVE_TIMEOUT_S} s of writes"
        )
        if not same:
            raise SystemExit(1)
    finally:
        subprocess.run([str(GISPLATFORM), "db", "stop"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
