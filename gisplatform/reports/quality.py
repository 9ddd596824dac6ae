"""``/reports/quality``: the staff data-quality view of the layers residents report on.

Derived from the registry and the report kinds: for every layer a kind points at (and the
signed-in reader may see), the features never verified on site or verified more than N days
ago (when the layer declares ``inspection`` fields), and those with two or more reports in
the last N days (N: ``GISPLATFORM_REPORTS_QUALITY_DAYS``). Read as the reader's own database
role: the layer through its audience view, the reports through the row-level policy of the
roles that handle them. HTML (uk/en) or JSON; ``Cache-Control: no-store``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from psycopg import AsyncConnection, sql

from gisplatform.errors import SignInFailed
from gisplatform.i18n import message
from gisplatform.ogcapi import queries
from gisplatform.ogcapi.auth import request_audience
from gisplatform.ogcapi.deps import FormatDep, Lang, LangDep, base_url, check_parameters
from gisplatform.ogcapi.html import render_page
from gisplatform.ogcapi.htmlvalues import day, number
from gisplatform.ogcapi.routing import read_pool
from gisplatform.registry import Audience, LayerSpec
from gisplatform.reports.published import published_kinds
from gisplatform.reports.store import handler_db_role
from gisplatform.store.audiences import current_reader

PATH = "/reports/quality"
#: this many reports of one feature within the period make it "repeated"
REPEATED = 2
REQUESTS = ("reports", "requests")
PUBLIC_VIEW = ("reports", "public_requests")
NO_STORE = {"Cache-Control": "no-store"}


async def staff_audience(
    audience: Annotated[Audience, Depends(request_audience)],
) -> Audience:
    """The signed-in reader; 401 for the public."""
    if audience.is_anonymous:
        raise SignInFailed(message("quality_sign_in"))
    return audience


StaffDep = Annotated[Audience, Depends(staff_audience)]


@dataclass(frozen=True)
class Finding:
    """One feature to check and why."""

    layer: str
    feature_id: int
    label: str | None
    never_verified: bool
    inspected_on: date | None
    days_since: int | None
    stale: bool
    reports: int

    @property
    def repeated(self) -> bool:
        """Two or more reports in the period."""
        return self.reports >= REPEATED


def reported_layers(request: Request) -> list[LayerSpec]:
    """The layers report kinds point at that the reader may see, in registry order."""
    pointed = {k.layer for k in published_kinds(request.app.state) if k.layer}
    return [s for s in request.app.state.registry.list(current_reader()) if s.name in pointed]


def _column(spec: LayerSpec, name: str | None) -> sql.Composable:
    """``t.<name>`` when the reader sees that field, else NULL."""
    visible = {f.name for f in spec.fields_for(current_reader())}
    if name is None or name not in visible:
        return sql.SQL("NULL")
    return sql.SQL("t.{}").format(sql.Identifier(name))


def findings_query(spec: LayerSpec) -> sql.Composed:
    """The layer's features to check, as the reader: parameters (repeated fids, days)."""
    inspection = spec.inspection
    inspected = _column(spec, inspection.date_field if inspection else None)
    never: sql.Composable = sql.SQL("FALSE")
    if inspection is not None:
        never = sql.SQL("({} IS NULL)").format(inspected)
        if inspection.verified_field is not None:
            verified = _column(spec, inspection.verified_field)
            never = sql.SQL("({} IS NOT TRUE OR {} IS NULL)").format(verified, inspected)
    return sql.SQL(
        "SELECT t.fid, {label}::text, {never}, {inspected}, current_date - {inspected}"
        " FROM {view} AS t WHERE {never} OR t.fid = ANY(%s) OR current_date - {inspected} > %s"
        " LIMIT 5000"
    ).format(
        label=_column(spec, spec.style.label_field),
        never=never,
        inspected=inspected,
        view=queries.view(spec),
    )


#: reports per feature of one layer in the period (rejected ones do not count)
COUNTS = sql.SQL(
    "SELECT feature_id, count(*) FROM {} WHERE layer = %s AND status <> 'rejected'"
    " AND created_at >= now() - make_interval(days => %s) GROUP BY feature_id"
)


async def report_counts(
    request: Request, audience: Audience, layers: list[str], days: int
) -> dict[str, dict[str, int]]:
    """Reports per feature of each layer in the last ``days`` days.

    Counted in the reader's handler role (row-level security: the kinds they handle, in
    every state), or from the public view (moderated reports) when they handle none.
    """
    state = request.app.state
    role = handler_db_role(state.report_kinds, state.registry, audience.roles)
    table = sql.Identifier(*REQUESTS) if role else sql.Identifier(*PUBLIC_VIEW)
    found: dict[str, dict[str, int]] = {}
    async with state.pool.connection() as conn, conn.transaction():
        if role:
            await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        for layer in layers:
            cursor = await conn.execute(COUNTS.format(table), [layer, days])
            found[layer] = {str(r[0]): int(r[1]) for r in await cursor.fetchall() if r[0]}
    return found


async def findings(
    conn: AsyncConnection[Any], spec: LayerSpec, counts: dict[str, int], days: int
) -> list[Finding]:
    """The layer's features to check, most reported first, then the longest unchecked."""
    repeated = [int(fid) for fid, n in counts.items() if n >= REPEATED and fid.isdigit()]
    cursor = await conn.execute(findings_query(spec), [repeated, days])
    found = [
        Finding(
            layer=spec.name,
            feature_id=int(row[0]),
            label=row[1],
            never_verified=bool(row[2]),
            inspected_on=row[3],
            days_since=row[4],
            stale=row[4] is not None and row[4] > days,
            reports=counts.get(str(row[0]), 0),
        )
        for row in await cursor.fetchall()
    ]
    return sorted(found, key=lambda f: (-f.reports, -(f.days_since or 10**6), f.feature_id))


def _reasons(one: Finding, days: int, lang: Lang) -> list[str]:
    found = []
    if one.never_verified:
        found.append(message("quality_never").get(lang))
    if one.stale and one.days_since is not None:
        found.append(message("quality_stale", days=number(one.days_since, lang)).get(lang))
    if one.repeated:
        found.append(message("quality_repeated", n=one.reports, days=days).get(lang))
    return found


def _json(request: Request, layers: dict[str, list[Finding]], days: int) -> dict[str, Any]:
    root = base_url(request)
    return {
        "days": days,
        "repeated": REPEATED,
        "layers": {
            name: [
                {
                    **{k: v for k, v in asdict(one).items() if k != "inspected_on"},
                    "inspected_on": one.inspected_on.isoformat() if one.inspected_on else None,
                    "repeated": one.repeated,
                    "url": f"{root}/collections/{name}/items/{one.feature_id}",
                }
                for one in found
            ]
            for name, found in layers.items()
        },
    }


def _sections(
    request: Request,
    specs: list[LayerSpec],
    layers: dict[str, list[Finding]],
    days: int,
    lang: Lang,
) -> list[dict[str, Any]]:
    root = base_url(request)
    sections = []
    for spec in specs:
        rows = [
            {
                "label": one.label or f"№ {one.feature_id}",
                "url": f"{root}/collections/{spec.name}/items/{one.feature_id}?f=html&lang={lang}",
                "why": _reasons(one, days, lang),
                "inspected": day(one.inspected_on, lang) if one.inspected_on else "—",
                "reports": number(one.reports, lang),
            }
            for one in layers[spec.name]
        ]
        note = "" if spec.inspection else message("quality_no_inspection").get(lang)
        sections.append({"title": spec.title.get(lang), "rows": rows, "note": note})
    return sections


def build_quality_router() -> APIRouter:
    """``GET /reports/quality`` (JSON or HTML)."""
    router = APIRouter()

    @router.get(PATH, summary="data quality of reported layers (staff)")
    async def quality(
        request: Request, audience: StaffDep, f: FormatDep, lang: LangDep
    ) -> Response:
        check_parameters(request, {"f", "lang"})
        days: int = request.app.state.settings.reports_quality_days
        specs = reported_layers(request)
        layers: dict[str, list[Finding]] = {}
        counts = await report_counts(request, audience, [s.name for s in specs], days)
        async with read_pool(request).connection() as conn:
            for spec in specs:
                layers[spec.name] = await findings(conn, spec, counts[spec.name], days)
        if f == "html":
            words = {
                key: message(f"quality_{key}").get(lang)
                for key in ("col_feature", "col_why", "col_inspected", "col_reports")
            }
            response = await render_page(
                request,
                "quality.html",
                lang,
                title=message("quality_title").get(lang),
                intro=message("quality_intro", days=days, repeated=REPEATED).get(lang),
                sections=_sections(request, specs, layers, days, lang),
                cols=words,
                nothing=message("quality_none").get(lang),
                map_hint=message("quality_map_hint").get(lang),
            )
            response.headers.update(NO_STORE)
            return response
        return Response(
            orjson.dumps(_json(request, layers, days)),
            media_type="application/json",
            headers={**NO_STORE, "Content-Language": lang},
        )

    return router
