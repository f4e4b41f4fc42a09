"""Segment parallelism for one long recording: worker processes decode and detect key-frame-aligned segments
(``streams.segments``) side by side, one decoder each; the main process merges them in order and runs the
sequential stages (view check, tracker, resting memory, rules, timers, evidence) over them, so the events are
exactly those of a whole-file run.

For other runners (a Ray cluster, ...), two pure functions with picklable arguments:

- ``streams.segments.plan_segments(path, count) -> list[Segment]``: the plan;
- ``detect_segment(source, analysis_fps, keyframes_only, segment, settings) -> SegmentResult``: one segment's
  sampled frames as ``(t, image, detections)`` in order, plus its ``Reading``; the detector of ``settings`` is
  loaded once per process. Merge the results in segment order with ``merge_segments`` (which also applies the
  camera's ``ChangeGate`` and raises the whole-file run's ``SourceError`` for a damaged or truncated file).

Images cross processes through ``multiprocessing.shared_memory``, one block per frame: a 1080p frame costs the
main process about 3 ms that way, 12 ms pickled through a pipe (measured on the 2-core bench machine). The workers
are spawned, so a script that uses ``SegmentWorkers`` needs the ``if __name__ == "__main__":`` guard (the
``streetorder`` command has it).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context, shared_memory

import numpy as np

from detector.change import ChangeGate
from detector.detections import Detections
from detector.load import Detector, load_detector
from models.taxonomy import Taxonomy
from streams.files import Reading, VideoFile
from streams.frames import Frame
from streams.segments import Segment, long_enough, plan_segments

SPLIT_FROM_S = 120.0  # shorter files go the threaded way: starting the worker processes costs a second or two
# with two workers the threaded path already keeps two cores busy, and segments cost more CPU (worker start-up, the
# images' transfer): measured on the 2-core machine, they only pay where one decoder thread and the main thread
# are the bound, i.e. with more cores
SEGMENTS_FROM_WORKERS = 3
SEGMENT_FRAMES = 16  # sampled frames per segment: about 100 MB of 1080p images held per segment in flight


@dataclass(frozen=True)
class DetectorSettings:
    """What a worker process needs to load the camera's detector (``detector.load.load_detector``)."""

    model: str
    backend: str = "onnxruntime"
    confidence: float = 0.25
    iou: float = 0.7
    imgsz: int = 640
    letterbox: str = "square"
    taxonomy: tuple[tuple[str, str], ...] = ()

    def load(self) -> Detector:
        return load_detector(self.model, self.backend, self.confidence, self.iou, self.imgsz,
                             Taxonomy(dict(self.taxonomy)), 1, self.letterbox)


@dataclass
class SegmentResult:
    """One segment's sampled frames as ``(t, image, detections)`` in order, what reading it found, and the
    seconds the worker spent decoding and detecting."""

    segment: Segment
    frames: list[tuple[float, np.ndarray | str, Detections]]
    reading: Reading
    seconds: dict[str, float] = field(default_factory=lambda: {"decode": 0.0, "detect": 0.0})


_detectors: dict[DetectorSettings, Detector] = {}  # per process: each model is loaded once


def detect_segment(source: str, analysis_fps: float, keyframes_only: bool, segment: Segment,
                   settings: DetectorSettings) -> SegmentResult:
    """Decode ``segment`` of the video file ``source`` and detect objects on each of its sampled frames."""
    if settings not in _detectors:
        _detectors[settings] = settings.load()
    detector = _detectors[settings]
    result = SegmentResult(segment, [], Reading())
    frames = VideoFile(source, analysis_fps, keyframes_only=keyframes_only).read(result.reading, segment)
    clock = time.perf_counter()
    for frame in frames:
        start = time.perf_counter()
        result.seconds["decode"] += start - clock
        result.frames.append((frame.t, frame.image, detector.detect(frame.image)))
        clock = time.perf_counter()
        result.seconds["detect"] += clock - start
    result.seconds["decode"] += time.perf_counter() - clock
    return result


def merge_segments(results: Iterable[SegmentResult], video: VideoFile, gate: ChangeGate | None = None
                   ) -> Iterator[tuple[Frame, Detections]]:
    """The frames of segment results (in segment order) as one whole-file run yields them, each with its
    detections (with ``gate``: those of the last frame the gate let through, when nothing changed since). A
    damaged or truncated file raises its ``SourceError`` after its readable frames."""
    index, last, readings = 0, None, []
    for result in results:
        readings.append(result.reading)
        for t, image, detections in result.frames:
            if gate is None or gate.needs_inference(image, t) or last is None:
                last = detections
            yield Frame(image, t, index, video.origin), last
            index += 1
        if result.reading.stopped:  # a whole-file run reads nothing after this
            break
    video.check_complete(readings)


class SegmentWorkers:
    """A pool of worker processes (spawned: each loads its own onnxruntime, one thread) that runs the segments of
    the long recordings of ``streetorder process``; shared by every camera of one run. ``settings_for`` gives a
    camera's detector settings."""

    def __init__(self, workers: int, settings_for: Callable, split_from_s: float | None = None,
                 segment_frames: int = SEGMENT_FRAMES):
        self.workers = workers
        self.settings_for = settings_for
        self.split_from_s = SPLIT_FROM_S if split_from_s is None else split_from_s
        self.segment_frames = segment_frames
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def for_process(cls, workers: int, settings_for: Callable) -> SegmentWorkers | None:
        """What ``streetorder process --workers N`` uses: segment workers from ``SEGMENTS_FROM_WORKERS`` on, else
        None (threads)."""
        return cls(workers, settings_for) if workers >= SEGMENTS_FROM_WORKERS else None

    def takes(self, camera, source) -> bool:
        """Whether ``camera``'s recording (``source``, probed) runs in segments: a fixed camera's video file of at
        least ``split_from_s`` whose detector keeps no state between frames."""
        stateless = getattr(camera.detect, "crop", None) != "zones"  # a zone crop follows the view, frame by frame
        return not camera.moving and stateless and long_enough(source, self.split_from_s)

    def frames(self, camera, video: VideoFile, gate: ChangeGate | None, seconds: dict[str, float]
               ) -> Iterator[tuple[Frame, Detections]]:
        """(frame, detections) of ``video`` in order, as ``streams.overlap.detect_in_order`` gives them."""
        per_segment = max(self.segment_frames / camera.analysis_fps, 1.0)
        count = max(self.workers, round((video.duration or 0.0) / per_segment))
        segments = plan_segments(video.path, count)
        settings = self.settings_for(camera)
        run = (str(video.path), camera.analysis_fps, camera.keyframes_only)
        yield from merge_segments(self._results(segments, run, settings, seconds), video, gate)

    def _results(self, segments: list[Segment], run: tuple, settings: DetectorSettings,
                 seconds: dict[str, float]) -> Iterator[SegmentResult]:
        """Results in segment order, at most one segment per worker (and one) in flight; the wait for each is
        shared between ``seconds["decode"]`` and ``["detect"]`` as the worker's own time was."""
        pool = self._start()
        pending: deque[Future] = deque()
        todo = iter(segments)
        try:
            while True:
                while len(pending) <= self.workers and (segment := next(todo, None)) is not None:
                    pending.append(pool.submit(_run_in_worker, *run, segment, settings))
                if not pending:
                    return
                start = time.perf_counter()
                result = _received(pending.popleft().result())
                waited = time.perf_counter() - start
                worked = sum(result.seconds.values()) or 1.0
                for stage in ("decode", "detect"):
                    seconds[stage] = seconds.get(stage, 0.0) + waited * result.seconds[stage] / worked
                yield result
        finally:
            for future in pending:  # an early stop: free what finished workers put in shared memory
                future.cancel()
                future.add_done_callback(_discard)

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _run_in_worker(source: str, analysis_fps: float, keyframes_only: bool, segment: Segment,
                   settings: DetectorSettings) -> SegmentResult:
    """``detect_segment`` in a worker process, its images moved to shared memory (named in their place)."""
    result = detect_segment(source, analysis_fps, keyframes_only, segment, settings)
    moved = []
    for t, image, detections in result.frames:
        block = shared_memory.SharedMemory(create=True, size=image.nbytes)
        np.ndarray(image.shape, image.dtype, block.buf)[:] = image
        moved.append((t, f"{block.name}:{'x'.join(map(str, image.shape))}", detections))
        block.close()
    return replace(result, frames=moved)


def _received(result: SegmentResult) -> SegmentResult:
    """The images of a worker's result, copied out of shared memory (which is then freed)."""
    frames = []
    for t, name, detections in result.frames:
        block, shape = _attach(name)
        frames.append((t, np.ndarray(shape, np.uint8, block.buf).copy(), detections))
        block.close()
        block.unlink()
    return replace(result, frames=frames)


def _discard(future: Future) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    for _, name, _ in future.result().frames:
        block, _ = _attach(name)
        block.close()
        block.unlink()


def _attach(name: str) -> tuple[shared_memory.SharedMemory, tuple[int, ...]]:
    block, shape = name.split(":")
    return shared_memory.SharedMemory(name=block), tuple(int(v) for v in shape.split("x"))
