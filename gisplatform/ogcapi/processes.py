"""OGC API – Processes under ``/ogc``: pygeoapi's handlers behind our FastAPI routes.

pygeoapi is used as a library: one ``pygeoapi.api.API`` per app (``app.state.processes_api``),
built from the generated config on the first processes request (or by
:func:`install_processes_api`), and its ``pygeoapi.api.processes`` handlers, which return
``(headers, status, content)``. pygeoapi is imported lazily, inside functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from gisplatform.ogcapi.deps import base_url
from gisplatform.ogcapi.errors import request_id
from gisplatform.ogcapi.pygeoapi_config import build_config, jobs_dir, validate
from gisplatform.registry import LayerRegistry
from gisplatform.settings import Settings
from gisplatform.store.database import database_url

_P1 = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
PROCESSES_CONFORMANCE: list[str] = [
    _P1 + "core",
    _P1 + "ogc-process-description",
    _P1 + "json",
    _P1 + "oas30",
    _P1 + "job-list",
    _P1 + "dismiss",
]
_FAILED_PREFIX = "Error executing process: "

Handler = Callable[..., tuple[dict[str, str], int, Any]]


def build_processes_api(
    settings: Settings, registry: LayerRegistry, root_url: str, url: str | None = None
) -> Any:
    """A ``pygeoapi.api.API`` serving our processes at ``root_url`` (the ``…/ogc`` URL).

    ``url`` is the read-write database URL the analyses run on (they create temp tables),
    by default that of ``settings``.
    """
    from pygeoapi.api import API  # type: ignore[import-untyped]

    from gisplatform.analyses.processes import ProcessSource, register_source

    key = register_source(ProcessSource(url or database_url(settings), registry))
    config = build_config(root_url, key, jobs_dir(settings))
    validate(config)
    return API(config, {})


def install_processes_api(app: FastAPI, root_url: str) -> Any:
    """Build the processes API for ``app`` and keep it on ``app.state.processes_api``."""
    api = build_processes_api(app.state.settings, app.state.registry, root_url)
    app.state.processes_api = api
    return api


async def _api(request: Request) -> Any:
    api = getattr(request.app.state, "processes_api", None)
    if api is None:
        api = await run_in_threadpool(install_processes_api, request.app, base_url(request))
    return api


def _json_only(request: Request) -> Request:
    """The request as JSON-only (pygeoapi's HTML pages would need its own static assets)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"accept"]
    headers.append((b"accept", b"application/json"))
    query = "&".join(
        part
        for part in request.scope.get("query_string", b"").decode("latin-1").split("&")
        if part and not part.startswith("f=")
    )
    scope = {**request.scope, "headers": headers, "query_string": query.encode("latin-1")}
    return Request(scope, request.receive)


async def _call(request: Request, handler_name: str, *args: str) -> Response:
    from pygeoapi.api import APIRequest
    from pygeoapi.api import processes as handlers

    api = await _api(request)
    api_request = await APIRequest.from_starlette(_json_only(request), api.locales)
    handler: Handler = getattr(handlers, handler_name)
    headers, status, content = await run_in_threadpool(handler, api, api_request, *args)
    headers = dict(headers)
    status, content = _internal_errors(request, int(status), content, headers)
    headers.setdefault("Content-Type", "application/json")
    return Response(content, status_code=status, headers=headers)


def _internal_errors(
    request: Request, status: int, content: Any, headers: dict[str, str]
) -> tuple[int, Any]:
    """pygeoapi answers every failed run with 400; unexpected failures become 500."""
    from gisplatform.analyses.processes import INTERNAL_ERROR

    if status != 400 or not isinstance(content, str | bytes):
        return status, content
    try:
        body = json.loads(content)
    except ValueError:
        return status, content
    if not isinstance(body, dict) or body.get("description") != _FAILED_PREFIX + INTERNAL_ERROR:
        return status, content
    rid = request_id(request)
    headers["X-Request-ID"] = rid
    problem = {"code": "ServerError", "description": INTERNAL_ERROR, "status": 500}
    return 500, json.dumps({**problem, "requestId": rid})


def build_processes_router() -> APIRouter:
    """Routes relative to ``/ogc``: processes, execution, jobs, results, dismissal."""
    router = APIRouter(tags=["processes"])

    @router.get("/processes", summary="processes offered")
    async def processes(request: Request) -> Response:
        return await _call(request, "describe_processes")

    @router.get("/processes/{processId}", summary="process description")
    async def process(request: Request, processId: str) -> Response:
        return await _call(request, "describe_processes", processId)

    @router.post(
        "/processes/{processId}/execution",
        summary="execute a process (synchronous; asynchronous with Prefer: respond-async)",
    )
    async def execute(request: Request, processId: str) -> Response:
        return await _call(request, "execute_process", processId)

    @router.get("/jobs", summary="jobs")
    async def jobs(request: Request) -> Response:
        return await _call(request, "get_jobs")

    @router.get("/jobs/{jobId}", summary="job status")
    async def job(request: Request, jobId: str) -> Response:
        return await _call(request, "get_jobs", jobId)

    @router.get("/jobs/{jobId}/results", summary="job results")
    async def results(request: Request, jobId: str) -> Response:
        return await _call(request, "get_job_result", jobId)

    @router.delete("/jobs/{jobId}", summary="dismiss a job")
    async def dismiss(request: Request, jobId: str) -> Response:
        return await _call(request, "delete_job", jobId)

    return router
