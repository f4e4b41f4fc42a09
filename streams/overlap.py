"""Overlap decoding and inference: a decoder thread runs ahead, detector workers run side by side, and the frames
still reach the (sequential) tracker, memory and rules in their order.

PyAV and onnxruntime both release the GIL while they work, so on two cores one frame is decoded while another is
detected. Only speed changes: every frame gets the detections of its own pixels (or, with a ``ChangeGate``, of
the last frame the detector saw, when nothing changed since), in order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from detector.change import ChangeGate
from detector.detections import Detections
from streams.frames import Frame
from streams.rate import AnalysisRate

_END = object()


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(items: Iterable, ahead: int = 2) -> Iterator:
    """Iterate ``items`` in a background thread, at most ``ahead`` items ahead of the consumer. An exception of
    ``items`` is raised in the consumer after the items before it, as it would be without the thread; a consumer
    that stops early stops the thread and closes ``items``.

    >>> list(prefetch(range(5)))
    [0, 1, 2, 3, 4]
    """
    slots: queue.Queue = queue.Queue(maxsize=max(1, ahead))
    stop = threading.Event()
    source = iter(items)

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    break
        except BaseException as exc:  # handed to the consumer, where it belongs
            put(_Raised(exc))
        finally:
            if stop.is_set() and hasattr(source, "close"):
                source.close()
            put(_END)

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def detect_in_order(frames: Iterable[Frame], detect: Callable[[np.ndarray], Detections], workers: int = 1,
                    gate: ChangeGate | None = None, seconds: dict[str, float] | None = None,
                    rate: AnalysisRate | None = None, drain: Callable[[], bool] | None = None,
                    ) -> Iterator[tuple[Frame, Detections]]:
    """(frame, detections) in frame order, with up to ``workers`` detections running at once. ``gate`` lets
    unchanged frames reuse the detections of the last frame the detector saw. ``rate`` (an adaptive rate) drops
    the frames it does not want, before detection and again before they are yielded (its verdict on earlier
    frames can come while they are detected); while ``drain()`` is true every frame is yielded before the next is
    read. ``seconds["decode"]`` and ``seconds["detect"]`` get the time spent waiting for frames and for
    detections."""
    waits = seconds if seconds is not None else {"decode": 0.0, "detect": 0.0}
    pending: deque[tuple[Frame, Future]] = deque()
    last: Future | None = None
    source = _waited(frames, waits)
    failure: Exception | None = None
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="detect") as pool:
        try:
            try:
                for frame in source:
                    if rate is not None and not rate.wants(frame.t):
                        continue
                    changed = gate is None or gate.needs_inference(frame.image, frame.t)
                    if changed or last is None:
                        last = pool.submit(detect, frame.image)
                    pending.append((frame, last))
                    while pending and (len(pending) > workers or pending[0][1].done() or (drain and drain())):
                        yield from _wanted(_result(pending.popleft(), waits), rate)
            except Exception as exc:  # the frames before it are analysed first, as without threads
                failure = exc
            while pending:
                yield from _wanted(_result(pending.popleft(), waits), rate)
            if failure is not None:
                raise failure
        finally:
            source.close()  # an early stop ends the decoder thread too
            for _, future in pending:
                future.cancel()


def _wanted(item: tuple[Frame, Detections], rate: AnalysisRate | None) -> Iterator[tuple[Frame, Detections]]:
    if rate is None or rate.wants(item[0].t):
        yield item


def _result(item: tuple[Frame, Future], waits: dict[str, float]) -> tuple[Frame, Detections]:
    frame, future = item
    start = time.perf_counter()
    detections = future.result()
    waits["detect"] += time.perf_counter() - start
    return frame, detections


def _waited(frames: Iterable[Frame], waits: dict[str, float]) -> Iterator[Frame]:
    iterator = iter(frames)
    try:
        while True:
            start = time.perf_counter()
            try:
                frame = next(iterator)
            except StopIteration:
                return
            finally:
                waits["decode"] += time.perf_counter() - start
            yield frame
    finally:
        if hasattr(iterator, "close"):
            iterator.close()
