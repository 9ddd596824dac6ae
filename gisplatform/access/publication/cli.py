"""``gisplatform publish withdraw|restore|status``: the kill switch from the command line.

It connects as the owner (like ``users``); the actor recorded is the operating-system user.
Running servers follow within ``GISPLATFORM_PUBLICATION_REFRESH_S`` (the public views at once).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from gisplatform.access.publication.store import (
    Publication,
    PublicationError,
    check_target,
    parse_area,
)
from gisplatform.i18n import message
from gisplatform.registry import load_registry
from gisplatform.settings import Settings

publish_app = typer.Typer(
    help="Publication kill switch: withdraw a layer, a field or an area from the public.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)

FieldOption = Annotated[
    str | None, typer.Option("--field", help="Only this field of the layer (public ones).")
]
AreaOption = Annotated[
    str | None,
    typer.Option(
        "--area",
        help="Only the features intersecting this area: WKT, or a GeoJSON file (lon/lat).",
    ),
]


def actor() -> str:
    """Who runs the command: the operating-system user (recorded with ``via = cli``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@contextmanager
def _publication() -> Iterator[Publication]:
    from gisplatform.store.database import connect, database_url

    settings = Settings()
    registry = load_registry(settings.layers_dir)
    with connect(database_url(settings)) as conn:
        yield Publication(conn, registry)
        conn.commit()


@publish_app.command("withdraw")
def withdraw(
    layer: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (e.g. the order's number).")],
    field: FieldOption = None,
    area: AreaOption = None,
) -> None:
    """Withdraw a layer, one of its fields or its features in an area from the public at once.

    Signed-in staff keep seeing them. Recorded with who, when and why.
    """
    with _publication() as publication:
        target = check_target(
            publication.registry, layer, field, parse_area(area) if area else None
        )
        ident = publication.withdraw(target, reason, actor())
    console.print(
        f"[green]✓[/green] {message('publish_withdrawn', id=ident, what=_what(layer, field, area))}"
    )


@publish_app.command("restore")
def restore(
    layer: str,
    field: FieldOption = None,
    area: AreaOption = None,
    ident: Annotated[
        int | None, typer.Option("--id", help="The withdrawal's number (publish status).")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (optional).")] = None,
) -> None:
    """Publish again what ``withdraw`` took away (the same layer, field or area, or --id)."""
    with _publication() as publication:
        if ident is not None:
            found = [w for w in publication.listing() if w.id == ident and w.layer == layer]
        else:
            target = check_target(
                publication.registry, layer, field, parse_area(area) if area else None
            )
            found = publication.matching(target)
        if not found:
            raise PublicationError(
                message("publish_nothing_to_restore", what=_what(layer, field, area))
            )
        publication.restore([w.id for w in found], actor(), reason)
    console.print(f"[green]✓[/green] {message('publish_restored', what=_what(layer, field, area))}")


@publish_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    log: Annotated[int, typer.Option("--log", help="Also show this many audit-log events.")] = 0,
) -> None:
    """The withdrawals in force: number, layer, field or area, who, when, why."""
    with _publication() as publication:
        found = publication.listing()
        events = publication.log(log) if log else []
    if as_json:
        document = {
            "withdrawals": [w.as_json() for w in found],
            "log": [e.as_json() for e in events],
        }
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    if not found:
        console.print(str(message("publish_nothing_withdrawn")))
    for w in found:
        scope = f"field={w.field}" if w.field else "area" if w.area else "layer"
        sys.stdout.write(
            f"{w.id}\t{w.layer}\t{scope}\t{w.actor}\t"
            f"{w.withdrawn_at.isoformat(timespec='seconds')}\t{w.reason}\n"
        )
    for e in events:
        sys.stdout.write(
            f"{e.at.isoformat(timespec='seconds')}\t{e.action}\t{e.layer}\t"
            f"{e.field or ''}\t{e.actor}\t{e.reason or ''}\n"
        )


def _what(layer: str, field: str | None, area: str | None) -> str:
    if field:
        return f"{layer}.{field}"
    return f"{layer} ({message('publish_area_word')})" if area else layer
