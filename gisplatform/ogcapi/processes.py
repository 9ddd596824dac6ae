"""OGC API – Processes under ``/ogc``: pygeoapi's handlers behind our FastAPI routes.

pygeoapi is used as a library: one ``pygeoapi.api.API`` per app (``app.state.processes_api``),
built from the generated config on the first processes request (or by
:func:`install_processes_api`), and its ``pygeoapi.api.processes`` handlers, which return
``(headers, status, content)``. pygeoapi is imported lazily, inside functions.

Before pygeoapi sees an execution request, the router checks it: a JSON body only (415),
at most :data:`MAX_BODY_BYTES` (413), a JSON object whose ``inputs`` is an object (400),
no ``subscriber`` outside the configured prefixes (400). The handlers run on a thread pool
of the processes' own (the analyses on the run pool behind it), in the request's context:
a run reads the caller's audience (:func:`gisplatform.store.audiences.current_view`) and a
job belongs to the caller's login (:data:`gisplatform.analyses.audience.CALLER`). Every
error leaves in the OGC exception shape the rest of the API uses. The analyses connect as
their own login (``GISPLATFORM_ANALYSES_DATABASE_URL``), never as the owner.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import psycopg
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gisplatform.analyses.audience import CALLER
from gisplatform.analyses.processes import decode_text
from gisplatform.analyses.runs import RunPool
from gisplatform.i18n import Text, message
from gisplatform.ogcapi import errors
from gisplatform.ogcapi.auth import current_reader
from gisplatform.ogcapi.deps import base_url
from gisplatform.ogcapi.pygeoapi_config import build_config, validate
from gisplatform.registry import ANONYMOUS, LayerRegistry
from gisplatform.settings import Settings
from gisplatform.store.database import analyses_database_url
from gisplatform.store.jobs import JobStore

log = logging.getLogger("gisplatform.processes")

_P1 = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
PROCESSES_CONFORMANCE: list[str] = [
    _P1 + "core",
    _P1 + "ogc-process-description",
    _P1 + "json",
    _P1 + "oas30",
    _P1 + "job-list",
    _P1 + "dismiss",
]
#: largest execution request body (bytes)
MAX_BODY_BYTES = 64 * 1024
#: seconds a refused (429) or unavailable (503) caller is asked to wait
RETRY_AFTER_S = 10
#: handler threads beyond the run pool's capacity (descriptions, job status)
_SPARE_HANDLERS = 4
_BUILD_LOCK = threading.Lock()


class ProcessesAPI:
    """pygeoapi's API and the pools our processes run on."""

    def __init__(self, api: Any, runs: RunPool, url: str) -> None:
        self.api = api
        self.runs = runs
        #: the database URL the analyses and the jobs use (the analyses' login)
        self.url = url
        self.handlers = ThreadPoolExecutor(
            runs.capacity + _SPARE_HANDLERS, thread_name_prefix="gisplatform-processes-http"
        )

    def close(self) -> None:
        """Stop the pools (running analyses finish)."""
        self.runs.close()
        self.handlers.shutdown(wait=False, cancel_futures=True)


def build_processes_api(
    settings: Settings, registry: LayerRegistry, root_url: str, url: str | None = None
) -> ProcessesAPI:
    """pygeoapi's API serving our processes at ``root_url`` (the ``…/ogc`` URL).

    ``url`` is the database URL the analyses and the job store use, by default the
    analyses' login of ``settings`` (temp tables, the owner's graph and weights functions,
    the jobs; see :mod:`gisplatform.analyses.access`).
    """
    from pygeoapi.api import API  # type: ignore[import-untyped]

    from gisplatform.analyses.processes import ProcessSource, register_source

    url = url or analyses_database_url(settings)
    runs = RunPool(settings.process_workers, settings.process_queue)
    key = register_source(
        ProcessSource(
            url,
            registry,
            runs,
            JobStore(url, settings.jobs_ttl),
            deadline_s=settings.process_deadline,
            subscribers=settings.subscriber_prefixes,
        )
    )
    config = build_config(root_url, key)
    validate(config)
    api = API(config, {})
    # pygeoapi logs request data (inputs: a resident's position) and job ids (capabilities)
    logging.getLogger("pygeoapi").setLevel(logging.CRITICAL)
    return ProcessesAPI(api, runs, url)


def install_processes_api(app: FastAPI, root_url: str) -> ProcessesAPI:
    """Build the processes API for ``app`` once and keep it on ``app.state.processes_api``."""
    with _BUILD_LOCK:
        existing: ProcessesAPI | None = getattr(app.state, "processes_api", None)
        if existing is not None:
            return existing
        built = build_processes_api(app.state.settings, app.state.registry, root_url)
        app.state.processes_api = built
        return built


async def _api(request: Request) -> ProcessesAPI:
    api: ProcessesAPI | None = getattr(request.app.state, "processes_api", None)
    if api is None:
        api = await run_in_threadpool(install_processes_api, request.app, base_url(request))
    return api


def problem(
    request: Request, status: int, code: str, description: str | Text, retry: bool = False
) -> JSONResponse:
    """An error in the API's one exception shape (:func:`errors.problem`), in the request's
    language; ``retry`` adds ``Retry-After``."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if retry else None
    return errors.problem(request, status, code, description, headers)


def _api_request(request: Request, api: Any, body: bytes) -> Any:
    """pygeoapi's request for ``request``, answered as JSON (its HTML needs its own assets)."""
    from pygeoapi.api import APIRequest

    headers = [(k, v) for k, v in request.scope["headers"] if k != b"accept"]
    headers.append((b"accept", b"application/json"))
    query = "&".join(
        part
        for part in request.scope.get("query_string", b"").decode("latin-1").split("&")
        if part and not part.startswith("f=")
    )
    scope = {**request.scope, "headers": headers, "query_string": query.encode("latin-1")}
    api_request = APIRequest(Request(scope, request.receive), api.locales)
    api_request._data = body
    return api_request


async def _call(request: Request, handler_name: str, *args: str, body: bytes = b"") -> Response:
    from pygeoapi.api import processes as handlers

    processes = await _api(request)
    api_request = _api_request(request, processes.api, body)
    handler = partial(getattr(handlers, handler_name), processes.api, api_request, *args)
    loop = asyncio.get_running_loop()
    CALLER.set(getattr(request.state, "audience", ANONYMOUS))
    context = contextvars.copy_context()  # the audience and the caller, for the handler
    try:
        headers, status, content = await loop.run_in_executor(
            processes.handlers, context.run, handler
        )
    except psycopg.Error as err:
        log.warning("processes: database unavailable (%s)", type(err).__name__)
        return problem(request, 503, "ServiceUnavailable", message("database_unavailable"), True)
    status = int(status)
    headers = dict(headers)
    if status >= 400:
        return _error(request, status, content)
    if status != 201:
        headers.pop("Location", None)  # a synchronous run is no job
    headers.setdefault("Content-Type", "application/json")
    return Response(content, status_code=status, headers=headers)


def _error(request: Request, status: int, content: Any) -> JSONResponse:
    """pygeoapi's exception body in our shape; 5xx descriptions stay generic."""
    try:
        body = json.loads(content)
    except (TypeError, ValueError):
        body = {}
    code = str(body.get("code", "ServerError")) if isinstance(body, dict) else "ServerError"
    said = str(body.get("description", "")) if isinstance(body, dict) else ""
    description: str | Text = decode_text(said) or said
    if status == 500:
        description = message("internal_error")
    return problem(request, status, code, description, retry=status in (429, 503))


async def _read_body(request: Request) -> bytes | JSONResponse:
    """The body, or a 413 problem once it grows past :data:`MAX_BODY_BYTES`."""
    too_large = problem(
        request, 413, "PayloadTooLarge", message("body_too_large", limit=MAX_BODY_BYTES)
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json"


def _check_execute(request: Request, body: bytes, subscribers: tuple[str, ...]) -> Response | None:
    """A 400 problem for a body that is not an execute request we accept, else None."""

    def bad(key: str) -> JSONResponse:
        return problem(request, 400, "InvalidParameterValue", message(key))

    try:
        data = json.loads(body)
    except ValueError:
        return bad("body_not_json")
    if not isinstance(data, dict):
        return bad("body_not_object")
    if not isinstance(data.get("inputs", {}), dict):
        return bad("inputs_not_object")
    subscriber = data.get("subscriber")
    if subscriber is not None:
        if not isinstance(subscriber, dict):
            return bad("subscriber_not_object")
        urls = [v for k, v in subscriber.items() if k.endswith("Uri")]
        allowed = all(isinstance(u, str) and u.startswith(subscribers) for u in urls)
        if not subscribers or not allowed:
            return bad("subscriber_refused")
    return None


def hidden_processes(request: Request) -> set[str]:
    """Processes reading a layer the publication kill switch withdrew from the request's
    audience: unlisted and unknown, like the layer. (A layer the registry keeps from the
    audience leaves its processes listed; a run refuses it, naming the layer.)"""
    from gisplatform.analyses.processes import AnalysisProcessor

    withdrawn = current_reader().withdrawn
    if not withdrawn:
        return set()
    return {
        kind.SPEC.id
        for kind in AnalysisProcessor.__subclasses__()
        if withdrawn.intersection(kind.SPEC.layers)
    }


def _unknown_process(request: Request) -> JSONResponse:
    return problem(request, 404, "NoSuchProcess", message("process_not_found"))


def _without(response: Response, hidden: set[str]) -> Response:
    """The process list less ``hidden`` ones."""
    if response.status_code != 200 or not hidden:
        return response
    document = json.loads(bytes(response.body))
    document["processes"] = [p for p in document.get("processes", []) if p.get("id") not in hidden]
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(json.dumps(document), status_code=200, headers=headers)


def build_processes_router() -> APIRouter:
    """Routes relative to ``/ogc``: processes, execution, jobs, results, dismissal."""
    router = APIRouter(tags=["processes"])

    @router.get("/processes", summary="processes offered")
    async def processes(request: Request) -> Response:
        return _without(await _call(request, "describe_processes"), hidden_processes(request))

    @router.get("/processes/{processId}", summary="process description")
    async def process(request: Request, processId: str) -> Response:
        if processId in hidden_processes(request):
            return _unknown_process(request)
        return await _call(request, "describe_processes", processId)

    @router.post(
        "/processes/{processId}/execution",
        summary="execute a process (synchronous; asynchronous with Prefer: respond-async)",
        openapi_extra={"x-per-process": True},
        responses={
            201: {"description": "job created (Prefer: respond-async); Location names it"},
            413: {},
            415: {},
            429: {},
        },
    )
    async def execute(request: Request, processId: str) -> Response:
        if not _is_json(request):
            return problem(request, 415, "UnsupportedMediaType", message("execute_needs_json"))
        body = await _read_body(request)
        if isinstance(body, Response):
            return body
        if processId in hidden_processes(request):
            return _unknown_process(request)
        subscribers: tuple[str, ...] = request.app.state.settings.subscriber_prefixes
        refused = _check_execute(request, body, subscribers)
        if refused is not None:
            return refused
        return await _call(request, "execute_process", processId, body=body)

    @router.get("/jobs", summary="jobs (none are listed: a job is reached by its id)")
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
