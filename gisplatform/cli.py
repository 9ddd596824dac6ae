"""The ``gisplatform`` command line: one entry point, logging configured here only."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Column, Table

from gisplatform.access.oidc_cli import oidc_app
from gisplatform.access.publication.cli import publish_app
from gisplatform.accounts_cli import tokens_app, users_app
from gisplatform.cli_backup import backup_command, backups_command, restore_command
from gisplatform.cli_history import history_app
from gisplatform.cli_replica import replica_app
from gisplatform.errors import GisPlatformError, LayerSpecError
from gisplatform.i18n import current_language, locale_language, message, set_language
from gisplatform.ingest.commands import export_command, import_command
from gisplatform.log import configure_logging
from gisplatform.registry import LayerRegistry, LayerSpec, load_registry
from gisplatform.settings import Settings

app = typer.Typer(
    help="gisplatform — municipal GIS data platform (Роменська громада demo).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
layers_app = typer.Typer(help="Layer definitions in layers/*.yaml.", no_args_is_help=True)
db_app = typer.Typer(help="The PostGIS database (embedded or DATABASE_URL).", no_args_is_help=True)
app.add_typer(layers_app, name="layers")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(publish_app, name="publish")
app.add_typer(oidc_app, name="oidc")
app.add_typer(history_app, name="history")
reports_app = typer.Typer(help="Residents' report kinds in reports/*.yaml.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")
app.command("import")(import_command)
app.command("export")(export_command)
db_app.command("backup")(backup_command)
db_app.command("backups")(backups_command)
db_app.command("restore")(restore_command)
db_app.add_typer(replica_app, name="replica")

console = Console(soft_wrap=True)


def say(key: str, /, **values: object) -> str:
    """The catalogue's message ``key`` in the command's language."""
    return str(message(key, **values))


err_console = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _registry(settings: Settings) -> LayerRegistry:
    return load_registry(settings.layers_dir)


@app.callback()
def _root(
    layers_dir: Annotated[
        Path | None, typer.Option(help="Directory of layer definitions (default: ./layers).")
    ] = None,
) -> None:
    set_language(locale_language())
    if layers_dir is not None:
        import os

        os.environ["GISPLATFORM_LAYERS_DIR"] = str(layers_dir)


# --- layers ---------------------------------------------------------------------------------


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@layers_app.command("list")
def layers_list(as_json: JsonOption = False) -> None:
    """List the layers with their geometry, access level and field count."""
    registry = _registry(_settings())
    rows = [
        {
            "name": spec.name,
            "title": {"uk": spec.title.uk, "en": spec.title.en},
            "geometry": spec.geometry.value,
            "access": spec.access.value,
            "fields": len(spec.fields),
            "theme": spec.theme,
        }
        for spec in registry
    ]
    if as_json:
        _print_json(rows)
        return

    # the name is what a user types next: never wrapped or cut, whatever the width;
    # titles wrap instead (all of it, in both languages, is in --json)
    def fixed(header: str, width: int = 0) -> Column:
        return Column(header, no_wrap=True, overflow="ignore", min_width=width or None)

    table = Table(
        fixed("name", max(len(spec.name) for spec in registry)),
        fixed("geometry"),
        fixed("access"),
        fixed("fields"),
        Column("title"),
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    for spec in registry:
        table.add_row(
            spec.name,
            spec.geometry.value,
            spec.access.value,
            str(len(spec.fields)),
            spec.title.uk,
        )
    console.print(table)


@layers_app.command("validate")
def layers_validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or directories (default: layers dir).")
    ] = None,
) -> None:
    """Validate layer definitions; every problem names its file and field path."""
    from gisplatform.registry.hromada import PROFILE_FILE, load_profile
    from gisplatform.registry.loader import layer_files, load_layer_file, role_problems
    from gisplatform.registry.roles import ROLES_FILE, RoleSpec, load_roles

    settings = _settings()
    files: list[Path] = []
    for path in paths or [settings.layers_dir]:
        files.extend(layer_files(path) if path.is_dir() else [path])
    problems: list[tuple[str, str, str]] = []
    specs: list[LayerSpec] = []
    for file in files:
        try:
            specs.append(load_layer_file(file))
        except LayerSpecError as exc:
            problems.extend(exc.problems)
    if not files:
        problems.append((str(paths), "(directory)", "no layer definitions found"))
    profiles = [d / PROFILE_FILE for d in paths or [settings.layers_dir] if d.is_dir()]
    for profile in [p for p in profiles if p.is_file()]:
        try:
            load_profile(profile)
        except LayerSpecError as exc:
            problems.extend(exc.problems)
    roles: tuple[RoleSpec, ...] = ()
    for directory in {p.parent for p in files}:
        if (directory / ROLES_FILE).is_file():
            try:
                roles += load_roles(directory / ROLES_FILE)
            except LayerSpecError as exc:
                problems.extend(exc.problems)
    for directory in {p.parent for p in files}:
        mine = [s for s in specs if (directory / f"{s.name}.yaml").is_file()]
        if (directory / ROLES_FILE).is_file():
            problems.extend(role_problems(directory, mine, roles))
    for source, field_path, problem in problems:
        err_console.print(f"[red]✗[/red] {source}: [bold]{field_path}[/bold]: {problem}")
    if problems:
        err_console.print(say("spec_problems", count=len(problems), files=len(files)))
        raise typer.Exit(1)
    try:
        LayerRegistry(specs)
    except LayerSpecError as exc:
        for _, name, problem in exc.problems:
            err_console.print(f"[red]✗[/red] {say('layer_word')} {name}: {problem}")
        raise typer.Exit(1) from None
    console.print(f"[green]✓[/green] {say('specs_valid', count=len(specs))}")


@reports_app.command("validate")
def reports_validate() -> None:
    """Validate the report kinds against the layers and roles; problems name file and field."""
    from gisplatform.errors import ReportKindError
    from gisplatform.reports.kinds import load_report_kinds

    settings = _settings()
    try:
        kinds = load_report_kinds(settings.report_kinds_dir, _registry(settings))
    except ReportKindError as exc:
        for source, field_path, problem in exc.problems:
            err_console.print(f"[red]✗[/red] {source}: [bold]{field_path}[/bold]: {problem}")
        raise typer.Exit(1) from None
    console.print(f"[green]✓[/green] {say('report_kinds_valid', count=len(kinds))}")


@reports_app.command("schema")
def reports_schema() -> None:
    """Print the JSON Schema of a report kind file (reports/report.schema.json)."""
    from gisplatform.reports.kinds import report_schema_text

    sys.stdout.write(report_schema_text())


@layers_app.command("schema")
def layers_schema() -> None:
    """Print the JSON Schema of a layer definition (for editors' YAML validation)."""
    from gisplatform.registry.schema import layer_json_schema

    sys.stdout.write(json.dumps(layer_json_schema(), ensure_ascii=False, indent=2) + "\n")


# --- db -------------------------------------------------------------------------------------


@db_app.command("start")
def db_start() -> None:
    """Create (if needed) and start the embedded PostGIS cluster."""
    from gisplatform.store.database import admin_url

    settings = _settings()
    if not settings.uses_embedded_db:
        console.print(say("external_nothing_to_start"))
        return
    admin_url(settings)
    console.print(f"[green]✓[/green] {say('database_running', port=settings.db_port)}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostGIS cluster."""
    from gisplatform.store.database import embedded_cluster

    settings = _settings()
    if not settings.uses_embedded_db:
        console.print(say("external_not_managed"))
        return
    embedded_cluster(settings).stop()
    console.print(f"[green]✓[/green] {say('database_stopped')}")


#: what db status prints, in order (labels from the catalogue: status_<key>)
_STATUS_KEYS = (
    "data_dir",
    "version",
    "port",
    "read_only_url",
    "owner_url",
    "admin_url",
    "db_login_url",
)


@db_app.command("status")
def db_status(
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Show the owner's and admin's passwords.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Where the database runs and the read-only URL to paste into QGIS or psql.

    Exit status 3 when the embedded database is not running.
    """
    from gisplatform.store.status import database_report

    report = database_report(_settings(), show_secrets)
    if as_json:
        _print_json(report)
        if report["running"] is False:
            raise typer.Exit(3)
        return
    kind = say("status_external" if report["database"] == "external" else "status_embedded")
    console.print(f"{say('status_database')}: {kind}")
    if report["running"] is not None:
        console.print(f"{say('status_running')}:  {say('yes' if report['running'] else 'no')}")
    for key in _STATUS_KEYS:
        if report.get(key) is not None:
            console.print(f"{say('status_' + key)}: {report[key]}")
    if report["running"] is False:
        raise typer.Exit(3)


@db_app.command("migrate")
def db_migrate(
    allow_drop: Annotated[
        bool, typer.Option("--allow-drop", help="Allow dropping tables/columns not in layers/.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
) -> None:
    """Create or update the layer tables from layers/*.yaml (idempotent)."""
    from gisplatform.store.database import admin_url
    from gisplatform.store.migrate import migrate

    settings = _settings()
    registry = _registry(settings)
    plan = migrate(admin_url(settings), registry, settings, allow_drop=allow_drop, dry_run=dry_run)
    if plan.is_empty:
        console.print(f"[green]✓[/green] {say('database_up_to_date')}")
        return
    for line in plan.changes:
        console.print(f"  {line}")
    done = say("changes_planned" if dry_run else "changes_applied", count=len(plan.changes))
    console.print(f"[green]✓[/green] {done}")


# --- demo -----------------------------------------------------------------------------------


@app.command("demo")
def demo(
    reset: Annotated[
        bool, typer.Option("--reset", help="Replace layers that already hold data.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Load into an external DATABASE_URL too (fake data!)."),
    ] = False,
) -> None:
    """Start the database if needed, migrate, load the Romny demo data, print a summary.

    Only into the embedded cluster: an external ``DATABASE_URL`` may be a real city's
    database, so demo (and ``--reset``, which deletes rows) refuse it without ``--force``.
    """
    from gisplatform.demo import layer_counts, load_demo
    from gisplatform.store.database import admin_url, database_url
    from gisplatform.store.migrate import migrate

    settings = _settings()
    if not settings.uses_embedded_db and not force:
        err_console.print(f"[red]{say('error_word')}:[/red] {say('demo_external')}")
        raise typer.Exit(2)
    registry = _registry(settings)
    migrate(admin_url(settings), registry, settings)
    url = database_url(settings)
    with console.status(say("loading_demo")) as status:
        results = load_demo(
            url,
            registry,
            settings.layer_schema,
            reset=reset,
            progress=lambda name: status.update(say("loading_layer", name=name)),
            reports_dir=settings.report_kinds_dir,
        )
    counts = layer_counts(url, registry, settings.layer_schema)
    lang = current_language()
    table = Table(
        say("col_layer"),
        say("col_title"),
        say("col_access"),
        say("col_rows"),
        say("col_this_run"),
        title=say("demo_title", hromada=registry.hromada.short_name.get(lang)),
    )
    for spec in registry:
        loaded = next(r for r in results if r.layer == spec.name).loaded
        table.add_row(
            spec.name,
            spec.title.get(lang),
            spec.access.value,
            f"{counts[spec.name]:,}",
            say("demo_loaded" if loaded else "demo_kept"),
        )
    console.print(table)
    console.print(say("total_features", count=f"{sum(counts.values()):,}"))


@app.command("map")
def map_export(
    out: Annotated[Path, typer.Argument(help="HTML file to write.")],
    layers: Annotated[
        str | None, typer.Option(help="Comma-separated public layers (default: all public).")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the page: uk or en.")] = "uk",
) -> None:
    """Write a self-contained web map (assets and public data inline) that opens offline."""
    from gisplatform.store.database import database_url
    from gisplatform.webmap import export_static_map

    settings = _settings()
    names = [n.strip() for n in layers.split(",") if n.strip()] if layers else None
    export_static_map(database_url(settings), _registry(settings), out, names, lang)
    size = f"{out.stat().st_size / 1e6:.1f}"
    console.print(f"[green]✓[/green] {say('map_written', path=out, megabytes=size)}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="Server processes (default: one per core)."),
    ] = None,
) -> None:
    """Serve the web map (/), the OGC API (/ogc), health and metrics with uvicorn.

    Each worker gets a pool of GISPLATFORM_POOL_SIZE connections; workers × pool must fit in
    the database's connection budget, checked before any worker starts.
    """
    import os

    import uvicorn

    from gisplatform.ogcapi.workers import connection_budget, default_workers, pool_size_for

    settings = _settings()
    count = workers if workers is not None else default_workers()
    budget = connection_budget(settings)
    pool = pool_size_for(settings, count, budget)
    # the workers read their settings from the environment, as this process did
    os.environ["GISPLATFORM_POOL_SIZE"] = str(pool)
    console.print(say("serving_workers", workers=count, pool=pool, budget=budget))
    proxies = settings.forwarded_allow_ips
    uvicorn.run(
        "gisplatform.ogcapi.workers:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=count,
        log_config=None,
        # X-Forwarded-For/-Proto are believed from GISPLATFORM_FORWARDED_ALLOW_IPS only.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or "",
        # SIGTERM: stop accepting, let requests in flight finish for this long, then stop
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        http=settings.http_protocol,
    )


def main() -> None:
    """Console-script entry point: domain errors become one readable line and exit 1."""
    try:
        app()
    except LayerSpecError as exc:
        for file, field_path, problem in exc.problems:
            err_console.print(f"[red]{say('error_word')}:[/red] {file}: {field_path}: {problem}")
        sys.exit(1)
    except GisPlatformError as exc:
        err_console.print(f"[red]{say('error_word')}:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
