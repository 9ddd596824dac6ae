"""The ``import`` and ``export`` CLI commands (registered by ``gisplatform.cli``).

Exit status of ``import``: 0 when every row was loaded, 2 when some rows were
rejected but the valid ones were loaded (``--skip-invalid``), 1 on failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from gisplatform.errors import GisPlatformError
from gisplatform.i18n import Text, message
from gisplatform.ingest.area import area_of_interest, territory
from gisplatform.ingest.crs import AreaOfInterest
from gisplatform.ingest.errors import RowsRejected
from gisplatform.ingest.export import export_layer
from gisplatform.ingest.importer import ImportResult, import_file
from gisplatform.ingest.load import Mode
from gisplatform.ingest.options import ImportOptions, ImportTimeouts
from gisplatform.registry import load_registry
from gisplatform.settings import Settings
from gisplatform.store.database import connect, database_url

console = Console(stderr=True)


class RichReporter:
    """Progress of an import as a rich progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, task: str, total: int | None = None) -> None:
        """Finish the previous stage and show a new one."""
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total or 1)
        self.task = self.progress.add_task(task, total=total)

    def advance(self, amount: int) -> None:
        """Move the current stage forward."""
        if self.task is not None:
            self.progress.advance(self.task, amount)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        result[key.strip()] = rest.strip()
    return result


def summary_data(result: ImportResult) -> dict[str, object]:
    """The import's outcome as plain data (``--json``)."""
    c = result.counts
    return {
        "layer": result.layer,
        "file": str(result.file),
        "dry_run": result.dry_run,
        "read": result.read,
        "valid": result.valid,
        "rejected": result.rejected,
        "outside": result.outside,
        "warnings": len(result.warnings),
        "inserted": c.inserted,
        "updated": c.updated,
        "unchanged": c.unchanged,
        "deleted": c.deleted,
        "seconds": round(result.seconds, 3),
        "import_id": result.import_id,
    }


def _summary(result: ImportResult) -> Table:
    title = message("import_summary", layer=result.layer)
    table = Table(
        title=str(title + message("dry_run_note") if result.dry_run else title),
        show_header=False,
    )
    table.add_column("what")
    table.add_column("rows", justify="right", no_wrap=True)
    data = summary_data(result)
    for name in ("read", "valid", "rejected", "outside", "inserted", "updated", "unchanged"):
        table.add_row(str(message(f"summary_{name}")), f"{data[name]:,}")
    table.add_row(str(message("summary_deleted")), f"{data['deleted']:,}")
    table.add_row(str(message("summary_time")), f"{result.seconds:.1f} s")
    return table


def import_command(
    layer: Annotated[str, typer.Argument(help="layer to import into")],
    file: Annotated[
        Path,
        typer.Argument(
            help="Shapefile (.shp/.zip), GeoPackage, GeoJSON, FlatGeobuf, KML, CSV or XLSX"
        ),
    ],
    mode: Annotated[Mode, typer.Option(help="append, upsert (by natural key) or replace")] = (
        Mode.APPEND
    ),
    source_layer: Annotated[str | None, typer.Option(help="layer inside the file")] = None,
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="SOURCE_COLUMN=FIELD (repeatable)")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="FIELD=VALUE for every row (repeatable)")
    ] = None,
    source_crs: Annotated[
        str | None, typer.Option(help="CRS of the file when it has none, e.g. EPSG:5564")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="validate and merge, then roll back")] = False,
    report: Annotated[Path | None, typer.Option(help="CSV of rejected rows and reasons")] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="load the valid rows; rejected ones go to --report")
    ] = False,
    repair: Annotated[bool, typer.Option(help="make invalid geometries valid")] = False,
    x: Annotated[str | None, typer.Option("--x", "--lon", help="x / longitude column")] = None,
    y: Annotated[str | None, typer.Option("--y", "--lat", help="y / latitude column")] = None,
    wkt: Annotated[str | None, typer.Option(help="WKT geometry column")] = None,
    dms_columns: Annotated[
        str | None, typer.Option(help="LAT,LON columns holding DMS text, e.g. Широта,Довгота")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding, e.g. cp1251")] = None,
    aoi: Annotated[
        str | None,
        typer.Option(
            help="area of interest min_lon,min_lat,max_lon,max_lat "
            "(default: the hromada's boundary, or its profile's extent)"
        ),
    ] = None,
    no_aoi: Annotated[bool, typer.Option(help="do not check the area of interest")] = False,
    inside_hromada: Annotated[
        bool,
        typer.Option(
            help="keep only features that touch the hromada (its boundary layer, else the "
            "profile's extent); the rest are counted as outside, not rejected"
        ),
    ] = False,
    buffer_m: Annotated[
        float, typer.Option(min=0, help="with --inside-hromada: widen the boundary by metres")
    ] = 0.0,
    swap_xy: Annotated[bool, typer.Option(help="swap x and y of every coordinate")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the summary as JSON on standard output")
    ] = False,
) -> None:
    """Import a file into a layer: every row validated, all or nothing."""
    dms: tuple[str, str] | None = None
    if dms_columns:
        parts = [p.strip() for p in dms_columns.split(",")]
        if len(parts) != 2:
            raise typer.BadParameter("expected LAT,LON", param_hint="--dms-columns")
        dms = (parts[0], parts[1])
    if buffer_m and not inside_hromada:
        raise typer.BadParameter("needs --inside-hromada", param_hint="--buffer-m")
    try:
        settings = Settings()
        registry = load_registry(settings.layers_dir)
        spec = registry.get(layer)
        url = database_url(settings)
        area: AreaOfInterest | None = AreaOfInterest.parse(aoi) if aoi else None
        keep_inside = None
        if inside_hromada or not (aoi or no_aoi):
            with connect(url) as conn:
                if inside_hromada:
                    keep_inside = territory(conn, registry, settings.layer_schema, buffer_m)
                elif area is None:
                    area = area_of_interest(conn, registry, settings.layer_schema)
        options = ImportOptions(
            mode=mode,
            source_layer=source_layer,
            mapping=_pairs(map_ or [], "--map"),
            constants=_pairs(set_ or [], "--set"),
            source_crs=source_crs,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            repair=repair,
            x=x,
            y=y,
            wkt=wkt,
            dms=dms,
            encoding=encoding,
            area=area,
            keep_inside=keep_inside,
            swap_xy=swap_xy,
            report=report,
            timeouts=ImportTimeouts(
                settings.import_lock_timeout_s,
                settings.import_statement_timeout_s,
                settings.import_idle_timeout_s,
            ),
        )
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:>9,.0f}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            result = import_file(
                url,
                spec,
                file,
                options,
                settings.layer_schema,
                settings.history_schema,
                RichReporter(progress),
            )
    except RowsRejected as exc:
        console.print(f"[red]{message('import_failed')}[/red]: {exc}")
        if report is not None:
            console.print(message("report_written", path=report))
        if any(
            isinstance(p.message, Text) and p.message.key == "outside_area" for p in exc.problems
        ):
            console.print(message("hint_inside_hromada"))
        raise typer.Exit(1) from None
    except GisPlatformError as exc:
        console.print(f"[red]{message('import_failed')}[/red]: {exc}")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(summary_data(result), ensure_ascii=False))
    else:
        console.print(_summary(result))
    if result.outside:
        where = keep_inside.description if keep_inside else message("the_hromada")
        console.print(message("left_outside", count=result.outside, where=where))
    for warning in result.warnings[:20]:
        console.print(f"[yellow]{message('warning')}[/yellow] {warning}")
    for problem in result.problems[:20]:
        console.print(f"[yellow]{message('rejected')}[/yellow] {problem}")
    if result.problems:
        console.print(message("rejected_listed", count=result.rejected, path=report))
    raise typer.Exit(result.exit_code)


def export_command(
    layer: Annotated[str, typer.Argument(help="layer to export")],
    out: Annotated[Path, typer.Argument(help="output file (.gpkg .geojson .shp .fgb .csv)")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="gpkg, geojson, shp, fgb or csv (default: from the extension)"
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(help="FIELD=VALUE filter (repeatable; same field twice = either)"),
    ] = None,
    crs: Annotated[str | None, typer.Option(help="target CRS, e.g. EPSG:5564")] = None,
) -> None:
    """Export a layer to a file."""
    try:
        settings = Settings()
        spec = load_registry(settings.layers_dir).get(layer)
        count = export_layer(
            database_url(settings),
            spec,
            out,
            schema=settings.layer_schema,
            fmt=fmt,
            where=where or [],
            crs=crs,
        )
    except GisPlatformError as exc:
        console.print(f"[red]{message('export_failed')}[/red]: {exc}")
        raise typer.Exit(1) from None
    console.print(message("exported", count=count, layer=layer, path=out))
