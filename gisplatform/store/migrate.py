"""Bring the database in line with ``layers/``: idempotent, transactional, never silently lossy.

Alembic compares the registry's SQLAlchemy models with the live schema; the
constraints (named by a hash of their definition) and the triggers are
reconciled here. Anything that would drop data (a table, a column, a type
change) is refused unless ``allow_drop`` is given, and the refusal lists it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from psycopg import sql
from pyproj import CRS
from pyproj.enums import WktVersion
from sqlalchemy import Connection, MetaData, Table, create_engine, inspect
from sqlalchemy import text as sa_text

from gisplatform.access.publication.store import (
    PUBLICATION_SCHEMA,
    ensure_publication_schema,
    restore_barriers,
)
from gisplatform.analyses.access import ensure_analysis_access
from gisplatform.errors import MigrationRefused
from gisplatform.registry import LayerRegistry, LayerSpec
from gisplatform.registry.hromada import BASE_CRS
from gisplatform.reports.kinds import ReportKinds, load_report_kinds
from gisplatform.reports.marks import apply_marks
from gisplatform.reports.store import REPORTS_SCHEMA, ensure_reports_schema, handler_db_roles
from gisplatform.settings import Settings
from gisplatform.store.accounts import AUTH_SCHEMA, ensure_auth_schema
from gisplatform.store.audiences import PUBLIC_SCHEMA, view_audiences
from gisplatform.store.database import driver_execute as execute
from gisplatform.store.database import role_logins, sqlalchemy_url
from gisplatform.store.db_logins import DB_LOGIN_GROUP, sync_all
from gisplatform.store.history_access import apply_history_functions
from gisplatform.store.jobs import JOBS_SCHEMA, ensure_jobs_schema
from gisplatform.store.models import (
    build_metadata,
    layer_checks,
    layer_indexes,
    natural_key_name,
)
from gisplatform.store.roles import ANALYSIS_SCHEMA, ensure_roles, transfer_ownership
from gisplatform.store.views import apply_views, owned_view_schemas, plan_views
from gisplatform.store.writers import apply_write_grants, writer_db_roles

log = logging.getLogger(__name__)

SYSTEM_EXTENSIONS = ("postgis",)
_PREFIX = "gisplatform_"


@dataclass
class MigrationPlan:
    """What a migration does; empty when the database already matches the registry."""

    create_schemas: list[str] = field(default_factory=list)
    create_tables: list[str] = field(default_factory=list)
    add_columns: list[str] = field(default_factory=list)
    alter_columns: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    drops: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[str]:
        """Every step of the plan as a readable line."""
        return [
            *(f"create schema {s}" for s in self.create_schemas),
            *(f"create table {t}" for t in self.create_tables),
            *(f"add column {c}" for c in self.add_columns),
            *self.alter_columns,
            *self.constraints,
            *self.indexes,
            *(f"install triggers on {t}" for t in self.triggers),
            *self.views,
            *(f"DROP {d}" for d in self.drops),
        ]

    @property
    def is_empty(self) -> bool:
        """True when nothing needs to change."""
        return not self.changes


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # Indexes and constraints are reconciled by name below; spatial indexes belong to geoalchemy2.
    return type_ not in ("index", "unique_constraint", "foreign_key_constraint")


def _history_sql(schema: str) -> sql.Composed:
    template = resources.files("gisplatform.sql").joinpath("history.sql").read_text("utf-8")
    # The file holds no other braces than {history}; escape none, substitute that one.
    return sql.SQL(template).format(
        history=sql.Identifier(schema), db_logins=sql.Literal(DB_LOGIN_GROUP)
    )


def _existing_constraints(conn: Connection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        sa_text(
            "SELECT c.conname, c.contype FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = :schema AND t.relname = :table AND c.contype IN ('c', 'u')"
        ),
        {"schema": schema, "table": table},
    )
    return {str(name): str(kind) for name, kind in rows}


def _existing_indexes(conn: Connection, schema: str, table: str) -> set[str]:
    """The registry-declared indexes on a table (named ``ix_…``; others are not ours)."""
    rows = conn.execute(
        sa_text(
            "SELECT indexname FROM pg_indexes WHERE schemaname = :schema "
            "AND tablename = :table AND indexname LIKE 'ix\\_%'"
        ),
        {"schema": schema, "table": table},
    )
    return {str(name) for (name,) in rows}


def _existing_triggers(conn: Connection, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        sa_text(
            "SELECT tg.tgname FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = :schema AND t.relname = :table AND NOT tg.tgisinternal"
        ),
        {"schema": schema, "table": table},
    )
    return {name for (name,) in rows}


#: name -> (when, transition tables, level, WHEN condition, function in the history schema).
#: The columns default to the stamps an INSERT gets, so the insert stamp runs only when
#: a client sends a value of its own (and a bulk insert pays no per-row PL/pgSQL call).
_CLIENT_STAMPED = (
    "(NEW.created_at IS DISTINCT FROM now() OR NEW.updated_at IS DISTINCT FROM now() "
    "OR NEW.version IS DISTINCT FROM 1)"
)
TRIGGERS = {
    "gisplatform_stamp_insert": ("BEFORE INSERT", "", "ROW", _CLIENT_STAMPED, "stamp_row"),
    "gisplatform_stamp_update": ("BEFORE UPDATE", "", "ROW", "", "stamp_row"),
    "gisplatform_history_insert": (
        "AFTER INSERT",
        "REFERENCING NEW TABLE AS new_rows",
        "STATEMENT",
        "",
        "record_insert",
    ),
    "gisplatform_history_update": (
        "AFTER UPDATE",
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "STATEMENT",
        "",
        "record_update",
    ),
    "gisplatform_history_delete": (
        "AFTER DELETE",
        "REFERENCING OLD TABLE AS old_rows",
        "STATEMENT",
        "",
        "record_delete",
    ),
    "gisplatform_history_truncate": ("BEFORE TRUNCATE", "", "STATEMENT", "", "record_delete"),
    "gisplatform_revision": (
        "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE",
        "",
        "STATEMENT",
        "",
        "touch_layer",
    ),
}


class _Migrator:
    """Plans and (optionally) applies one migration inside one connection/transaction."""

    def __init__(
        self, conn: Connection, registry: LayerRegistry, settings: Settings, kinds: ReportKinds
    ) -> None:
        self.conn = conn
        self.registry = registry
        self.kinds = kinds
        self.schema = settings.layer_schema
        self.history = settings.history_schema
        self.metadata: MetaData = build_metadata(registry, self.schema)
        self.plan = MigrationPlan()

    def table(self, spec: LayerSpec) -> Table:
        return self.metadata.tables[f"{self.schema}.{spec.name}"]

    def diff(self) -> None:
        inspector = inspect(self.conn)
        for schema in (self.schema, self.history):
            if not inspector.has_schema(schema):
                self.plan.create_schemas.append(schema)
        existing = (
            set(inspector.get_table_names(schema=self.schema))
            if self.schema not in self.plan.create_schemas
            else set()
        )
        for spec in self.registry:
            if spec.name not in existing:
                self.plan.create_tables.append(spec.name)
        for name in sorted(existing - {s.name for s in self.registry}):
            rows = self._row_count(name)
            self.plan.drops.append(f"table {self.schema}.{name} ({rows} rows)")
        if existing:
            self._diff_columns(existing)
        for spec in self.registry:
            if spec.name in existing:
                self._diff_constraints(spec)
            self._diff_indexes(spec, exists=spec.name in existing)
            self._diff_triggers(spec, exists=spec.name in existing)
        self.plan.views = plan_views(self.conn, self.registry, self.schema)

    def _row_count(self, table: str) -> int:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self.schema, table))
        row = execute(self.conn, query).fetchone()
        return int(row[0]) if row else 0

    def _diff_columns(self, existing: set[str]) -> None:
        context = MigrationContext.configure(
            self.conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, parent: (
                    type_ != "schema" or name == self.schema
                ),
                "include_object": _include_object,
                "compare_type": True,
            },
        )
        for diff in compare_metadata(context, self.metadata):
            entries = diff if isinstance(diff, list) else [diff]
            for entry in entries:
                self._classify(entry, existing)

    def _classify(self, entry: tuple[Any, ...], existing: set[str]) -> None:
        kind = entry[0]
        if kind == "add_column" and entry[2] in existing:
            self.plan.add_columns.append(f"{entry[1]}.{entry[2]}.{entry[3].name}")
        elif kind == "remove_column":
            self.plan.drops.append(f"column {entry[1]}.{entry[2]}.{entry[3].name}")
        elif kind == "modify_type":
            _, _, table, column, _, old, new = entry
            self.plan.drops.append(
                f"column {self.schema}.{table}.{column}: type change {old} -> {new} "
                "(values may be lost)"
            )
        elif kind == "modify_nullable":
            _, _, table, column, _, _old, new = entry
            word = "optional" if new else "required"
            self.plan.alter_columns.append(f"make {self.schema}.{table}.{column} {word}")

    def _diff_constraints(self, spec: LayerSpec) -> None:
        existing = _existing_constraints(self.conn, self.schema, spec.name)
        wanted = {c.name for c in layer_checks(spec)} | {natural_key_name(spec)}
        for name in sorted(wanted - existing.keys()):
            self.plan.constraints.append(f"add constraint {spec.name}.{name}")
        for name in sorted(existing.keys() - wanted):
            if name.startswith(("ck_", "uq_")):
                self.plan.constraints.append(f"drop constraint {spec.name}.{name}")

    def _diff_indexes(self, spec: LayerSpec, exists: bool) -> None:
        present = _existing_indexes(self.conn, self.schema, spec.name) if exists else set()
        wanted = {i.name for i in layer_indexes(spec)}
        for name in sorted(wanted - present):
            self.plan.indexes.append(f"create index {spec.name}.{name}")
        for name in sorted(present - wanted):
            self.plan.indexes.append(f"drop index {spec.name}.{name}")

    def _diff_triggers(self, spec: LayerSpec, exists: bool) -> None:
        present = _existing_triggers(self.conn, self.schema, spec.name) if exists else set()
        ours = {name for name in present if name.startswith(_PREFIX)}
        if ours != set(TRIGGERS):
            self.plan.triggers.append(spec.name)

    def apply(self) -> None:
        for schema in self.plan.create_schemas:
            execute(
                self.conn, sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
            )
        execute(self.conn, _history_sql(self.history))
        ensure_jobs_schema(self.conn)
        ensure_auth_schema(self.conn)
        # before the views: the public ones read the withdrawals
        ensure_publication_schema(self.conn, self.history, PUBLIC_SCHEMA)
        ops = Operations(MigrationContext.configure(self.conn))
        for name in self.plan.create_tables:
            self.table(self.registry.get(name)).create(self.conn)
        for entry in self.plan.add_columns:
            _, table_name, column_name = entry.split(".")
            column = self.metadata.tables[f"{self.schema}.{table_name}"].c[column_name]
            self._add_column(ops, table_name, column)
        for line in self.plan.alter_columns:
            _, qualified, word = line.split(" ")
            _, table_name, column_name = qualified.split(".")
            ops.alter_column(
                table_name, column_name, nullable=word == "optional", schema=self.schema
            )
        for line in self.plan.constraints:
            self._apply_constraint(line)
        for line in self.plan.indexes:
            self._apply_index(line)
        for table_name in self.plan.triggers:
            self._install_triggers(table_name)
        apply_views(self.conn, self.registry, self.schema, self.history, self.plan.views)
        restore_barriers(self.conn)
        ensure_analysis_access(self.conn, self.registry, self.schema, self.history)
        apply_write_grants(self.conn, self.registry, self.schema)
        apply_history_functions(self.conn, self.registry, self.schema, self.history)
        ensure_reports_schema(self.conn, self.kinds, self.registry, self.history)
        apply_marks(self.conn, self.kinds, self.registry)  # the truth loop's marks

    def _add_column(self, ops: Operations, table_name: str, column: Any) -> None:
        copy = column._copy()
        has_rows = bool(self._row_count(table_name))
        if not column.nullable and column.server_default is None and has_rows:
            raise MigrationRefused(
                [
                    f"cannot add required column {table_name}.{column.name} without a "
                    "default to a table that has rows; give the field a default"
                ]
            )
        ops.add_column(table_name, copy, schema=self.schema)

    def _apply_constraint(self, line: str) -> None:
        action, _, target = line.split(" ")
        table_name, name = target.split(".")
        table = sql.Identifier(self.schema, table_name)
        if action == "drop":
            query = sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}")
            execute(self.conn, query.format(table, sql.Identifier(name)))
            return
        spec = self.registry.get(table_name)
        if name == natural_key_name(spec):
            columns = sql.SQL(", ").join(map(sql.Identifier, spec.natural_key))
            ddl = sql.SQL("ADD CONSTRAINT {} UNIQUE ({})").format(sql.Identifier(name), columns)
        else:
            # The expression is generated from the validated spec (models.field_checks).
            check = next(c for c in layer_checks(spec) if c.name == name)
            # the expression is not a format string: a pattern's {n,m} must stay as it is
            ddl = sql.SQL("ADD CONSTRAINT {} CHECK ({})").format(
                sql.Identifier(name), sql.SQL(check.expression)
            )
        execute(self.conn, sql.SQL("ALTER TABLE {} {}").format(table, ddl))

    def _apply_index(self, line: str) -> None:
        action, _, target = line.split(" ")
        table_name, name = target.split(".")
        if action == "drop":
            query = sql.SQL("DROP INDEX {}").format(sql.Identifier(self.schema, name))
            execute(self.conn, query)
            return
        index = next(i for i in layer_indexes(self.registry.get(table_name)) if i.name == name)
        # expression and condition are generated from the validated spec (models.layer_indexes)
        where = sql.SQL(" WHERE " + index.where) if index.where else sql.SQL("")
        query = sql.SQL("CREATE INDEX {} ON {} ({}){}").format(
            sql.Identifier(name),
            sql.Identifier(self.schema, table_name),
            sql.SQL(index.expression),
            where,
        )
        execute(self.conn, query)

    def _install_triggers(self, table_name: str) -> None:
        table = sql.Identifier(self.schema, table_name)
        existing = _existing_triggers(self.conn, self.schema, table_name)
        for obsolete in sorted(n for n in existing - set(TRIGGERS) if n.startswith(_PREFIX)):
            query = sql.SQL("DROP TRIGGER {} ON {}").format(sql.Identifier(obsolete), table)
            execute(self.conn, query)
        for name, (when, transition, level, condition, function) in TRIGGERS.items():
            condition = f"WHEN {condition} " if condition else ""
            query = sql.SQL(
                "CREATE OR REPLACE TRIGGER {name} " + when + " ON {table} " + transition + " "
                "FOR EACH " + level + " " + condition + "EXECUTE FUNCTION {function}()"
            ).format(
                name=sql.Identifier(name),
                table=table,
                function=sql.Identifier(self.history, function),
            )
            execute(self.conn, query)


def ensure_srids(conn: Connection, codes: tuple[int, ...]) -> list[int]:
    """Add offered EPSG codes that this PostGIS's ``spatial_ref_sys`` lacks (e.g. 9856).

    The definition comes from PROJ's database through pyproj (no lossy PROJ string);
    returns the codes added.
    """
    rows = execute(
        conn, sql.SQL("SELECT srid FROM spatial_ref_sys WHERE srid = ANY(%s)"), [list(codes)]
    ).fetchall()
    present = {int(row[0]) for row in rows}
    added = []
    for code in codes:
        if code in present:
            continue
        crs = CRS.from_epsg(code)
        execute(
            conn,
            sql.SQL(
                "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                "VALUES (%s, 'EPSG', %s, %s, %s) ON CONFLICT (srid) DO NOTHING"
            ),
            # PostGIS 3 resolves EPSG codes through PROJ; srtext is the fallback.
            [code, code, crs.to_wkt(WktVersion.WKT1_GDAL), ""],
        )
        added.append(code)
    return added


def ensure_extensions(conn: Connection) -> None:
    """Create PostGIS (and pgRouting where installed) if the database lacks them."""
    conn.execute(sa_text("CREATE EXTENSION IF NOT EXISTS postgis"))
    available = conn.execute(
        sa_text("SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'")
    ).first()
    if available:
        conn.execute(sa_text("CREATE EXTENSION IF NOT EXISTS pgrouting"))


def migrate(
    url: str,
    registry: LayerRegistry,
    settings: Settings,
    allow_drop: bool = False,
    dry_run: bool = False,
) -> MigrationPlan:
    """Plan the migration and apply it in one transaction (unless ``dry_run``).

    ``url`` is the administrator's (:func:`gisplatform.store.database.admin_url`): the
    migration creates the roles of :mod:`gisplatform.store.roles` and, on the embedded
    cluster, runs the rest as the owner role.

    Raises :class:`MigrationRefused` listing what would be dropped when the plan
    drops anything and ``allow_drop`` is false. Dropping is never automatic even
    with the flag: dropped tables and columns are kept in the history only.
    """
    engine = create_engine(sqlalchemy_url(url), future=True)
    try:
        with engine.begin() as conn:
            conn.execute(sa_text("SELECT pg_advisory_xact_lock(hashtext('gisplatform.migrate'))"))
            logins = role_logins(settings)
            staff = [a.role for a in view_audiences(registry) if not a.is_public]
            kinds = load_report_kinds(settings.report_kinds_dir, registry, only_known=True)
            # writer and report-handler roles have the audience roles' shape (NOLOGIN); only
            # the API becomes them
            writers = [*writer_db_roles(registry), *handler_db_roles(kinds, registry)]
            ensure_roles(_driver(conn), logins, staff, writers)
            ensure_extensions(conn)
            offered = registry.hromada.offered_crs if registry.has_hromada else BASE_CRS
            for code in ensure_srids(conn, offered):
                log.info("migrate: added EPSG:%d to spatial_ref_sys", code)
            if logins.owner_role is not None:
                _become_owner(conn, settings, logins.owner_role, registry)
            migrator = _Migrator(conn, registry, settings, kinds)
            migrator.diff()
            plan = migrator.plan
            if plan.drops and not allow_drop:
                raise MigrationRefused(plan.drops)
            if dry_run:
                conn.rollback()
                return plan
            migrator.apply()
            if logins.owner_role is not None:
                conn.execute(sa_text("RESET ROLE"))  # back to the administrator: roles
            sync_all(_driver(conn), registry, settings.layer_schema)
            if allow_drop:
                _apply_drops(conn, settings.layer_schema, plan.drops)
            for line in plan.changes:
                log.info("migrate: %s", line)
            return plan
    finally:
        engine.dispose()


def _driver(conn: Connection) -> psycopg.Connection:
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def _become_owner(
    conn: Connection, settings: Settings, owner: str, registry: LayerRegistry
) -> None:
    """Hand the owner role the platform's objects, then run the rest of the migration as it.

    Everything the migration creates after this belongs to the owner, not the superuser.
    """
    driver = _driver(conn)
    # jobs and auth too: a migration before the owner role existed made them the superuser's
    schemas = [
        settings.layer_schema,
        settings.history_schema,
        *owned_view_schemas(),
        *(a.schema for a in view_audiences(registry)),
        JOBS_SCHEMA,
        ANALYSIS_SCHEMA,
        AUTH_SCHEMA,
        PUBLICATION_SCHEMA,
        REPORTS_SCHEMA,
    ]
    transfer_ownership(driver, owner, schemas)
    database = sql.Identifier(str(driver.info.dbname))
    role = sql.Identifier(owner)
    execute(conn, sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(database, role))
    execute(conn, sql.SQL("SET LOCAL ROLE {}").format(role))


def _apply_drops(conn: Connection, schema: str, drops: list[str]) -> None:
    for line in drops:
        kind, target = line.split(" ", 1)
        qualified_name = target.split(" ", 1)[0].rstrip(":")
        parts = qualified_name.split(".")
        if kind == "table":
            execute(conn, sql.SQL("DROP TABLE {}").format(sql.Identifier(parts[0], parts[1])))
        elif kind == "column" and "type change" in target:
            raise MigrationRefused([f"{line} — change the type by hand with a USING clause"])
        elif kind == "column":
            query = sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(
                sql.Identifier(parts[0], parts[1]), sql.Identifier(parts[2])
            )
            execute(conn, query)
