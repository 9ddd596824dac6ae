"""The helper threads of the import pipeline: order, errors and shutdown."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from gisplatform.ingest.threads import in_background, prefetched


def test_prefetched_keeps_order_and_raises_the_producers_error() -> None:
    def items() -> Iterator[int]:
        yield from range(5)
        raise ValueError("row 6 is broken")

    got = []
    with pytest.raises(ValueError, match="row 6"), prefetched(items()) as stream:
        got.extend(stream)
    assert got == [0, 1, 2, 3, 4]


def test_prefetched_stops_its_thread_when_the_consumer_leaves_early() -> None:
    produced = []

    def items() -> Iterator[int]:
        for i in range(1000):
            produced.append(i)
            yield i

    with prefetched(items(), depth=2) as stream:
        assert next(stream) == 0
    assert len(produced) < 10
    assert not any(t.name == "gisplatform-read" for t in threading.enumerate())


def test_in_background_handles_every_item_in_order() -> None:
    handled: list[int] = []
    with in_background(handled.append) as submit:
        for i in range(100):
            submit(i)
    assert handled == list(range(100))


def test_in_background_raises_the_handlers_error_and_drops_the_rest() -> None:
    handled: list[int] = []

    def handle(item: int) -> None:
        if item == 3:
            raise RuntimeError("COPY failed at item 3")
        handled.append(item)

    with pytest.raises(RuntimeError, match="item 3"), in_background(handle) as submit:
        for i in range(100):
            submit(i)
    assert handled == [0, 1, 2]
    assert not any(t.name == "gisplatform-write" for t in threading.enumerate())


def test_in_background_drops_pending_items_when_the_caller_fails() -> None:
    handled: list[int] = []
    release = threading.Event()

    def handle(item: int) -> None:
        release.wait(5)
        handled.append(item)

    with pytest.raises(KeyboardInterrupt), in_background(handle, depth=2) as submit:
        for i in range(3):  # 0 is being handled, 1 and 2 wait
            submit(i)
        threading.Timer(0.2, release.set).start()  # item 0 ends after the caller failed
        raise KeyboardInterrupt
    assert handled == [0]
