"""``gisplatform db replica start | stop | status``: a streaming replica of the embedded cluster."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from gisplatform.i18n import message
from gisplatform.settings import Settings
from gisplatform.store.embedded import EmbeddedCluster

replica_app = typer.Typer(
    help="A streaming replica of the embedded cluster, for reads.", no_args_is_help=True
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

PortOption = Annotated[
    int | None, typer.Option("--port", help="Replica port (default GISPLATFORM_REPLICA_PORT).")
]


def _say(key: str, /, **values: object) -> str:
    return str(message(key, **values))


def _primary(settings: Settings) -> EmbeddedCluster:
    from gisplatform.log import configure_logging
    from gisplatform.store.database import embedded_cluster

    configure_logging(settings.log_level, settings.log_json)
    if not settings.uses_embedded_db:
        err_console.print(_say("replica_external"))
        raise typer.Exit(2)
    return embedded_cluster(settings)


def _print_status(settings: Settings, port: int, as_json: bool) -> None:
    from gisplatform.store.replica import replica_status

    status = replica_status(_primary(settings), port)
    if as_json:
        sys.stdout.write(json.dumps(status.as_json(), indent=2) + "\n")
    else:
        console.print(f"{_say('status_running')}:  {_say('yes' if status.running else 'no')}")
        console.print(f"{_say('status_port')}: {status.port}")
        console.print(f"{_say('status_data_dir')}: {status.data_dir}")
        if status.running:
            console.print(
                _say(
                    "replica_lag",
                    replay=status.replay_lsn,
                    primary=status.primary_lsn,
                    lag_bytes=status.lag_bytes,
                    lag_seconds=status.lag_seconds,
                )
            )
            console.print(_say("replica_api_url", url=status.api_url))
    if not status.running:
        raise typer.Exit(3)


@replica_app.command("start")
def replica_start(port: PortOption = None) -> None:
    """Make the replica (pg_basebackup, first time) and start it streaming from the primary."""
    from gisplatform.store.replica import start_replica

    settings = Settings()
    port = port or settings.embedded_replica_port
    start_replica(_primary(settings), port)
    console.print(f"[green]✓[/green] {_say('replica_started', port=port)}")
    _print_status(settings, port, False)


@replica_app.command("stop")
def replica_stop(port: PortOption = None) -> None:
    """Stop the replica (its data stays: start resumes streaming)."""
    from gisplatform.store.replica import stop_replica

    settings = Settings()
    stop_replica(_primary(settings), port or settings.embedded_replica_port)
    console.print(f"[green]✓[/green] {_say('replica_stopped')}")


@replica_app.command("status")
def replica_status_command(
    port: PortOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Whether the replica runs, its lag behind the primary and its URL for the API.

    Exit status 3 when it is not running.
    """
    settings = Settings()
    _print_status(settings, port or settings.embedded_replica_port, as_json)
