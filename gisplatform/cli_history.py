"""``gisplatform history restore LAYER FID --to VERSION``: a feature back as it was."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console

from gisplatform.i18n import message

history_app = typer.Typer(help="The change history of features.", no_args_is_help=True)
console = Console(soft_wrap=True)


@history_app.command("restore")
def restore_command(
    layer: Annotated[str, typer.Argument(help="layer name, e.g. shelters")],
    fid: Annotated[int, typer.Argument(help="feature id")],
    to: Annotated[int, typer.Option("--to", min=1, help="the version to bring back")],
    actor: Annotated[
        str | None, typer.Option(help="who is recorded in the history (default: your login)")
    ] = None,
) -> None:
    """Bring a feature back to an earlier version (recorded in the history as a new change)."""
    from gisplatform.registry import load_registry
    from gisplatform.settings import Settings
    from gisplatform.store.database import connect, database_url
    from gisplatform.store.restore import restore_feature

    settings = Settings()
    spec = load_registry(settings.layers_dir).get(layer)
    with connect(database_url(settings)) as conn:
        done = restore_feature(
            conn,
            spec,
            fid,
            to,
            actor or f"cli:{getpass.getuser()}",
            settings.layer_schema,
            settings.history_schema,
        )
        conn.commit()
    text = message(
        "history_restored", layer=layer, fid=fid, version=to, new_version=done.new_version
    )
    console.print(str(text + (" " + str(message("history_recreated")) if done.recreated else "")))
