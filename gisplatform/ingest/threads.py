"""Pipelining with one helper thread: a producer ahead of the caller, or a consumer behind it.

GDAL, Arrow, shapely and libpq release the GIL, so reading the next batch, or the
database storing the previous one, overlaps the caller's own work.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


def _put[T](channel: queue.Queue[T | _End], item: T | _End, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; whether it was put."""
    while not stop.is_set():
        try:
            channel.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


@contextmanager
def prefetched[T](items: Iterator[T], depth: int = 2) -> Iterator[Iterator[T]]:
    """``items`` produced by a helper thread up to ``depth`` ahead of the consumer.

    Leaving the context stops and joins the thread; an error of the producer is
    raised in the consumer.
    """
    ready: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(ready, item, stop):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            _put(ready, _End(exc), stop)
        else:
            _put(ready, _End(), stop)

    def consume() -> Iterator[T]:
        while True:
            item = ready.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    thread = threading.Thread(target=produce, name="gisplatform-read", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()


@contextmanager
def in_background[T](handle: Callable[[T], None], depth: int = 2) -> Iterator[Callable[[T], None]]:
    """A ``submit(item)``: a helper thread runs ``handle(item)`` for each, in order.

    The first error of ``handle`` is raised by the next ``submit`` or on leaving the
    context, which waits for the items submitted so far; items after an error, or
    after the caller failed, are dropped.
    """
    pending: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    errors: list[BaseException] = []
    abandoned = threading.Event()

    def work() -> None:
        while not isinstance(item := pending.get(), _End):
            if errors or abandoned.is_set():
                continue  # keep draining, so that no submit blocks
            try:
                handle(item)
            except BaseException as exc:  # raised in the caller's thread
                errors.append(exc)

    def submit(item: T) -> None:
        if errors:
            raise errors[0]
        pending.put(item)

    thread = threading.Thread(target=work, name="gisplatform-write", daemon=True)
    thread.start()
    try:
        yield submit
    except BaseException:
        abandoned.set()
        raise
    finally:
        pending.put(_End())
        thread.join()
    if errors:
        raise errors[0]
