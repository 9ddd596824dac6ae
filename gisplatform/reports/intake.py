"""What the report endpoints (the web form's and Open311's) share: the app's report kinds and
storing a checked submission for the request's sender."""

from __future__ import annotations

from typing import cast

from fastapi import Request

from gisplatform.reports.guard import client_hash
from gisplatform.reports.kinds import ReportKinds
from gisplatform.reports.submit import FieldNames, Stored, Submission, submit_report
from gisplatform.settings import ReportSettings


def request_kinds(request: Request) -> ReportKinds:
    """The report kinds the app loaded at start."""
    return cast(ReportKinds, request.app.state.report_kinds)


async def store_report(
    request: Request, report: Submission, key: bytes, limits: ReportSettings, names: FieldNames
) -> Stored:
    """Check and store ``report`` from this request's sender (rate-limited by the HMAC of
    its address under ``key``), in one transaction on the primary."""
    address = request.client.host if request.client else "-"
    async with request.app.state.primary_pool.connection() as conn:
        return await submit_report(
            conn,
            request.app.state.registry,
            request_kinds(request),
            report,
            client_hash(key, address),
            limits,
            names,
        )
