"""pygeoapi's process manager for our processes: jobs in PostgreSQL, runs on our own pool.

Named in the generated config by dotted path (``server.manager.name``); its ``connection``
is the key of a registered :class:`~gisplatform.analyses.processes.ProcessSource`.

- Synchronous runs are executed on the run pool and never stored.
- Asynchronous runs get an unguessable id (the caller's capability) and are stored in the
  ``jobs`` schema until they expire; there is no job listing (``GET /jobs`` is empty). A
  signed-in caller's job is reached only when signed in as that login (results may hold
  staff data); it runs in that caller's audience, as does a synchronous run.
- A full pool refuses the run (429); inputs are validated before a job is created (400).
- ``subscriber`` callbacks only reach URLs under a configured prefix (the router refuses
  the others), posted with a timeout and no redirects.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from datetime import datetime
from typing import Any

import httpx
from pygeoapi.process.base import (  # type: ignore[import-untyped]
    BaseProcessor,
    JobNotFoundError,
    JobResultNotFoundError,
    ProcessorExecuteError,
)
from pygeoapi.process.manager.base import BaseManager  # type: ignore[import-untyped]
from pygeoapi.util import (  # type: ignore[import-untyped]
    DATETIME_FORMAT,
    JobStatus,
    ProcessExecutionMode,
    RequestedProcessExecutionMode,
    RequestedResponse,
    Subscriber,
)

from gisplatform.analyses.audience import CALLER
from gisplatform.analyses.processes import INTERNAL_ERROR, JSON, RunsBusy, source
from gisplatform.analyses.runs import QueueFull
from gisplatform.i18n import message
from gisplatform.store.jobs import StoredJob, new_job_id

log = logging.getLogger("gisplatform.processes")
#: seconds a callback may take
CALLBACK_TIMEOUT_S = 5.0
BUSY = message("analyses_busy")


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime(DATETIME_FORMAT)


def _job_dict(job_id: str, job: StoredJob) -> dict[str, Any]:
    return {
        "type": "process",
        "identifier": job_id,
        "process_id": job.process_id,
        "status": job.status,
        "message": job.message,
        "progress": job.progress,
        "created": _time(job.created),
        "started": _time(job.started),
        "updated": _time(job.updated),
        "finished": _time(job.finished),
        "mimetype": job.mimetype or JSON,
        "location": None,
    }


def _wants_async(mode: Any, job_control: list[str]) -> bool:
    if mode == RequestedProcessExecutionMode.respond_async:
        return ProcessExecutionMode.async_execute.value in job_control
    return ProcessExecutionMode.sync_execute.value not in job_control


class PostgresJobManager(BaseManager):  # type: ignore[misc]
    """Jobs in the ``jobs`` schema; runs on the registered source's pool."""

    def __init__(self, manager_def: dict[str, Any]) -> None:
        super().__init__(manager_def)
        self.output_dir = None  # results live in the job table, never in files
        self.source = source(str(manager_def["connection"]))
        self.store = self.source.jobs
        self.is_async = True
        self.supports_subscribing = bool(self.source.subscribers)

    # -- the job store -------------------------------------------------------------------

    def get_jobs(
        self, status: Any = None, limit: int | None = None, offset: int | None = None
    ) -> dict[str, Any]:
        """No listing: a job is reached only through its id (there is no sign-in yet)."""
        return {"jobs": [], "numberMatched": 0}

    def add_job(self, job_metadata: dict[str, Any]) -> str:
        job_id = str(job_metadata["identifier"])
        self.store.add(
            job_id,
            str(job_metadata["process_id"]),
            str(job_metadata["message"]),
            CALLER.get().login,
        )
        return job_id

    def update_job(self, job_id: str, update_dict: dict[str, Any]) -> bool:
        job = self.store.get(job_id, CALLER.get().login)
        if job is None:
            return False
        return self.store.update(
            job_id,
            str(update_dict.get("status", job.status)),
            str(update_dict.get("message", job.message)),
            int(update_dict.get("progress", job.progress)),
            update_dict.get("mimetype"),
        )

    def get_job(self, job_id: str) -> dict[str, Any]:
        job = self.store.get(job_id, CALLER.get().login)
        if job is None:
            raise JobNotFoundError()
        return _job_dict(job_id, job)

    def get_job_result(self, job_id: str) -> tuple[str | None, Any]:
        found = self.store.result(job_id, CALLER.get().login)
        if found is None:
            raise JobNotFoundError()
        status, mimetype, result = found
        if status != JobStatus.successful.value or result is None:
            raise JobResultNotFoundError()
        return mimetype or JSON, result

    def delete_job(self, job_id: str) -> bool:
        if not self.store.delete(job_id, CALLER.get().login):
            raise JobNotFoundError()
        return True

    # -- execution -----------------------------------------------------------------------

    def execute_process(
        self,
        process_id: str,
        data_dict: dict[str, Any],
        execution_mode: Any = None,
        requested_outputs: dict[str, Any] | None = None,
        subscriber: Subscriber | None = None,
        requested_response: str | None = RequestedResponse.raw.value,
    ) -> tuple[str, str, Any, JobStatus, dict[str, str] | None]:
        """Run ``process_id``: on the pool and waiting (sync), or as a stored job (async)."""
        processor = self.get_processor(process_id)
        processor.parse(data_dict or {})  # invalid inputs: 400 before any job exists
        job_control = processor.metadata.get("jobControlOptions", [])
        if _wants_async(execution_mode, job_control):
            job_id = new_job_id()
            login = CALLER.get().login
            self.store.add(job_id, process_id, "Job accepted and ready for execution", login)
            try:
                self.source.runs.submit(
                    self._run_job, processor, job_id, data_dict, subscriber, requested_response
                )
            except QueueFull:
                self.store.delete(job_id, login)
                raise RunsBusy(BUSY) from None
            applied = RequestedProcessExecutionMode.respond_async.value
            return job_id, JSON, None, JobStatus.accepted, {"Preference-Applied": applied}
        try:
            future: Future[tuple[str, Any]] = self.source.runs.submit(processor.execute, data_dict)
        except QueueFull:
            raise RunsBusy(BUSY) from None
        mimetype, outputs = future.result()
        if requested_response == RequestedResponse.document.value:
            outputs = {"outputs": [outputs]}
        headers = None
        if execution_mode != RequestedProcessExecutionMode.wait:
            headers = {"Preference-Applied": RequestedProcessExecutionMode.wait.value}
        return "", mimetype, outputs, JobStatus.successful, headers

    def _run_job(
        self,
        processor: BaseProcessor,
        job_id: str,
        data: dict[str, Any],
        subscriber: Subscriber | None,
        requested_response: str | None,
    ) -> None:
        """Run a stored job on a pool worker and keep its result (or failure)."""
        try:
            self.store.update(job_id, JobStatus.running.value, "Job running", 10)
            mimetype, outputs = processor.execute(data)
            if requested_response == RequestedResponse.document.value:
                outputs = {"outputs": [outputs]}
            self.store.update(
                job_id, JobStatus.successful.value, "Job complete", 100, mimetype, outputs
            )
            self._notify(subscriber.success_uri if subscriber else None, outputs)
        except ProcessorExecuteError as err:
            self._failed(job_id, err.message, subscriber)
        except Exception as err:
            log.error("job of %s failed: %s", processor.metadata["id"], type(err).__name__)
            self._failed(job_id, INTERNAL_ERROR.en, subscriber)

    def _failed(self, job_id: str, message: str, subscriber: Subscriber | None) -> None:
        try:
            self.store.update(job_id, JobStatus.failed.value, message, 100)
        except Exception as err:  # the database went away: the job expires unanswered
            log.error("job state not saved: %s", type(err).__name__)
        self._notify(subscriber.failed_uri if subscriber else None, {"message": message})

    def _notify(self, url: str | None, body: Any) -> None:
        if not url or not url.startswith(self.source.subscribers or ("\0",)):
            return
        try:
            httpx.post(url, json=body, timeout=CALLBACK_TIMEOUT_S, follow_redirects=False)
        except httpx.HTTPError as err:
            log.warning("job callback failed: %s", type(err).__name__)

    def __repr__(self) -> str:
        return f"<PostgresJobManager> {self.name}"
