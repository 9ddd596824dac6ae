"""Where process runs execute: a bounded pool of their own, one connection per run, a deadline.

The pool has ``workers`` threads and room for ``queue`` more runs waiting; a run offered to a
full pool is refused at once (:class:`QueueFull`, answered 429), so analyses can never take
the threads that serve the map, the features and the tiles. Every run gets a connection of
its own whose statements stop at the deadline, and the whole run is cancelled when it
passes (``statement_timeout`` bounds one statement, the timer the sum of them).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")


class QueueFull(Exception):
    """Every worker is busy and the queue is full."""


class RunPool:
    """``workers`` threads for process runs and at most ``queue`` runs waiting for one."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="gisplatform-process")

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn(*args)`` on the pool in the caller's context (its audience, its login);
        QueueFull when no slot is free."""
        if not self._slots.acquire(blocking=False):
            raise QueueFull
        try:
            future = self._executor.submit(contextvars.copy_context().run, fn, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def close(self) -> None:
        """Stop taking runs; the running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)


@contextmanager
def run_connection(url: str, deadline_s: float) -> Iterator[psycopg.Connection[Any]]:
    """A connection for one run: statements and the whole run stop after ``deadline_s``.

    When the deadline passes the running statement is cancelled (QueryCanceled).
    """
    timeout_ms = max(1, int(deadline_s * 1000))
    with psycopg.connect(
        url, options=f"-c statement_timeout={timeout_ms}", connect_timeout=5
    ) as conn:
        timer = threading.Timer(deadline_s, conn.cancel_safe)
        timer.daemon = True
        timer.start()
        try:
            yield conn
        finally:
            timer.cancel()
