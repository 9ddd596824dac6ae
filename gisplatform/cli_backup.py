"""``gisplatform db backup | backups | restore``: pgBackRest for the embedded cluster."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gisplatform.i18n import message
from gisplatform.settings import Settings
from gisplatform.store.embedded import EmbeddedCluster

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _say(key: str, /, **values: object) -> str:
    return str(message(key, **values))


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _cluster_or_exit(settings: Settings) -> EmbeddedCluster:
    from gisplatform.log import configure_logging
    from gisplatform.store.database import embedded_cluster

    configure_logging(settings.log_level, settings.log_json)
    if not settings.uses_embedded_db:
        err_console.print(_say("backup_external"))
        raise typer.Exit(2)
    return embedded_cluster(settings)


def _print_archive_state(settings: Settings) -> None:
    from gisplatform.store.backup import archive_state

    state = archive_state(_cluster_or_exit(settings))
    if state is None:
        return
    if state.last_archived_at is None:
        console.print(_say("archive_nothing_yet"))
        return
    ago = (datetime.now(UTC) - state.last_archived_at).total_seconds()
    console.print(
        _say(
            "archive_state",
            wal=state.last_archived_wal,
            at=state.last_archived_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            ago=f"{ago:.0f}",
            failed=state.failed_count,
            timeout=state.archive_timeout_s,
        )
    )


def backup_command(
    kind: Annotated[
        str, typer.Option("--type", help="full, diff (since the last full) or incr.")
    ] = "full",
) -> None:
    """Take a backup of the embedded cluster with pgBackRest (WAL is archived continuously)."""
    from gisplatform.store.backup import BACKUP_TYPES, take_backup

    settings = Settings()
    cluster = _cluster_or_exit(settings)
    if kind not in BACKUP_TYPES:
        err_console.print(_say("backup_bad_type", kind=kind))
        raise typer.Exit(2)
    made = take_backup(cluster, kind)
    seconds = (made.finished - made.started).total_seconds()
    console.print(
        "[green]✓[/green] "
        + _say(
            "backup_taken",
            label=made.label,
            kind=made.type,
            seconds=f"{seconds:.0f}",
            database=_size(made.database_bytes),
            stored=_size(made.repository_bytes),
        )
    )


def backups_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the backups in the repository with their sizes and times, and the WAL archive."""
    from gisplatform.store.backup import archive_state, list_backups

    settings = Settings()
    cluster = _cluster_or_exit(settings)
    found = list_backups(cluster)
    if as_json:
        state = archive_state(cluster)
        archive = None
        if state is not None:
            archive = {
                "last_archived_wal": state.last_archived_wal,
                "last_archived_at": state.last_archived_at.isoformat()
                if state.last_archived_at
                else None,
                "failed_count": state.failed_count,
                "archive_timeout_s": state.archive_timeout_s,
            }
        data = {
            "repository": str(cluster.backup_repo),
            "stanza": cluster.stanza,
            "backups": [b.as_json() for b in found],
            "archive": archive,
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    if not found:
        console.print(_say("backups_none", repo=cluster.backup_repo))
    else:
        table = Table(
            _say("col_backup"),
            _say("col_type"),
            _say("col_finished"),
            _say("col_seconds"),
            _say("col_database_size"),
            _say("col_stored"),
            title=_say("backups_title", repo=cluster.backup_repo),
        )
        for b in found:
            table.add_row(
                b.label,
                b.type,
                b.finished.strftime("%Y-%m-%d %H:%M:%S"),
                f"{(b.finished - b.started).total_seconds():.0f}",
                _size(b.database_bytes),
                _size(b.repository_bytes),
            )
        console.print(table)
    _print_archive_state(settings)


def restore_command(
    to_time: Annotated[
        str | None,
        typer.Option("--to-time", help="Moment to recover to (ISO 8601, e.g. 2026-12-01T20:15Z)."),
    ] = None,
    to_backup: Annotated[
        str | None, typer.Option("--to-backup", help="Label of a backup set (db backups).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a running database's data.")
    ] = False,
) -> None:
    """Restore the embedded cluster (latest state, a moment or a backup set) from the repository.

    Restores into a new data directory first, swaps it in and keeps the old one until the
    restored cluster has started. Exit status 2 when it refuses (a running database, no --force).
    """
    from gisplatform.store.backup import RestoreRefused, restore

    settings = Settings()
    cluster = _cluster_or_exit(settings)
    try:
        report = restore(cluster, to_time=to_time, to_backup=to_backup, force=force)
    except RestoreRefused as exc:
        err_console.print(f"[red]{_say('error_word')}:[/red] {exc}")
        raise typer.Exit(2) from None
    done = _say("restore_done", target=report.target, label=report.backup_label)
    console.print(f"[green]✓[/green] {done}")
    if report.recovery_stop:
        console.print(_say("restore_stop", line=report.recovery_stop))
    console.print(
        _say(
            "restore_rto",
            total=report.total_seconds,
            restore=report.restore_seconds,
            start=report.start_seconds,
        )
    )
    _print_archive_state(settings)
