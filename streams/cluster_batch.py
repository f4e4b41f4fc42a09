"""Recordings spread over a Ray cluster (``streetorder process --cluster``): one task per recording, and a long
recording split into key-frame-aligned segments detected on every node.

- **A long recording** (a fixed camera's video file of ``split_from_s`` or more, ``streams.segment_workers``) is
  run by the driver: its segments are decoded and detected by cluster tasks (``detect_segment``, at most two per
  CPU of the cluster in flight), and the driver merges them in order and runs the sequential stages (tracker,
  resting memory, rules, timers, evidence), so the events are exactly those of a sequential run.
- **Other recordings**: each task runs ``streams.batch.process_recorded`` for one camera on whichever node has a
  free CPU, writing its events to the shared store (idempotent on ``event_id``) and its evidence under ``OUT`` (a
  folder every node sees at the same path). A task whose node dies is run again elsewhere: the recording keeps its
  object ids (``events.recordings``), so its events get the same ids and none is stored twice.

The driver then brings ``OUT/events.jsonl`` up to date from the store, in each camera's order.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from events.store import EventStore, JsonlWriter
from streams.batch import CameraReport, process_recorded
from streams.cluster_live import ConfigText, DetectorFactory
from streams.files import open_recorded
from streams.segment_workers import SPLIT_FROM_S, SegmentResult, SegmentWorkers, detect_segment
from streams.segments import Segment
from zones.config import CameraConfig, is_file_source

log = logging.getLogger(__name__)

TASK_RETRIES = 3  # a recording whose node died is run again this often


@dataclass
class ClusterReport(CameraReport):
    """A recording's report, with the node it ran on."""

    node_id: str | None = None


def process_recording(source: ConfigText, camera_id: str, out_dir: str, store_target: str | None,
                      detectors: DetectorFactory, origin: datetime | None = None,
                      annotate: bool = False) -> ClusterReport:
    """One recording on this node (the body of a cluster task)."""
    import ray
    config = source.load()
    store = EventStore(store_target or config.store or str(Path(out_dir) / "events.db"), sinks=config.sinks)
    try:
        (report,) = process_recorded(config, Path(out_dir), detectors(config).for_camera, store, origin=origin,
                                     annotate=annotate, cameras=[camera_id])
    finally:
        store.close()
    return ClusterReport(**vars(report), node_id=ray.get_runtime_context().get_node_id())


def detect_segment_here(source: str, analysis_fps: float, keyframes_only: bool, segment: Segment,
                        settings) -> tuple[str, SegmentResult]:
    """``detect_segment`` as a cluster task: the node it ran on, and the result."""
    import ray
    return ray.get_runtime_context().get_node_id(), detect_segment(source, analysis_fps, keyframes_only, segment,
                                                                   settings)


class RaySegments(SegmentWorkers):
    """``SegmentWorkers`` whose segments are cluster tasks; ``nodes`` collects the nodes that detected some."""

    def __init__(self, ray, settings_for, split_from_s: float | None = None):
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        super().__init__(workers, settings_for, split_from_s)
        self.ray = ray
        self.nodes: set[str] = set()
        self._task = ray.remote(detect_segment_here).options(num_cpus=1, max_retries=TASK_RETRIES,
                                                              scheduling_strategy="SPREAD")

    def _results(self, segments: list[Segment], run: tuple, settings, seconds: dict[str, float]
                 ) -> Iterator[SegmentResult]:
        pending: deque = deque()
        todo = iter(segments)
        while True:
            while len(pending) < 2 * self.workers and (segment := next(todo, None)) is not None:
                pending.append(self._task.remote(*run, segment, settings))
            if not pending:
                return
            start = time.perf_counter()
            node, result = self.ray.get(pending.popleft())
            seconds["detect"] = seconds.get("detect", 0.0) + time.perf_counter() - start  # waiting on the cluster
            self.nodes.add(node)
            yield result

    def close(self) -> None:
        """Nothing to stop: the tasks belong to the cluster."""


def process_on_cluster(ray, source: ConfigText, out_dir: Path, store_target: str | None,
                       detectors: DetectorFactory, *, cameras: list[str] | None = None,
                       origin: datetime | None = None, annotate: bool = False,
                       split_from_s: float = SPLIT_FROM_S) -> tuple[list[ClusterReport], RaySegments]:
    """Every recorded camera of the config on the cluster ``ray``: long recordings in segments, the others one task
    each; the reports in config order, and the segment runner (its ``nodes``)."""
    config = source.load()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = store_target or config.store or str(out_dir / "events.db")
    chosen = [c for c in config.cameras if is_file_source(c.source) and (not cameras or c.id in cameras)]
    cache = detectors(config)
    segments = RaySegments(ray, cache.settings_for, split_from_s)
    long = [c for c in chosen if _splits(segments, c, origin)]
    task = ray.remote(process_recording).options(num_cpus=1, max_retries=TASK_RETRIES, scheduling_strategy="SPREAD")
    refs = {c.id: task.remote(source, c.id, str(out_dir), store_target, detectors, origin, annotate)
            for c in chosen if c not in long}
    reports: dict[str, ClusterReport] = {}
    if long:
        store = EventStore(target, sinks=config.sinks)
        try:
            for report in process_recorded(config, out_dir, cache.for_camera, store, origin=origin, annotate=annotate,
                                           cameras=[c.id for c in long], segments=segments):
                reports[report.camera_id] = ClusterReport(**vars(report))
        finally:
            store.close()
    for camera_id, ref in refs.items():
        try:
            reports[camera_id] = ray.get(ref)
        except ray.exceptions.RayError as exc:  # the task failed on every try: report it, keep the others
            log.error("camera %s: the cluster task failed: %s", camera_id, exc)
            reports[camera_id] = ClusterReport(camera_id, error=f"camera {camera_id!r}: the cluster task failed "
                                                                f"({exc})")
    _top_up_jsonl(target, out_dir, [c.id for c in chosen])
    return [reports[c.id] for c in chosen], segments


def _splits(segments: RaySegments, camera: CameraConfig, origin: datetime | None) -> bool:
    """Whether the camera's recording is cut into segments (a file that cannot be probed goes the one-task way,
    which reports it)."""
    try:
        source = open_recorded(str(camera.source), camera.analysis_fps, origin, camera.keyframes_only).probe()
    except Exception:
        return False
    return segments.takes(camera, source)


def _top_up_jsonl(store_target: str, out_dir: Path, camera_ids: list[str]) -> None:
    """Tasks write events.jsonl as they go; a line lost to a node dying mid-write is taken again from the store."""
    store, jsonl = EventStore(store_target), JsonlWriter(out_dir / "events.jsonl")
    try:
        for camera_id in camera_ids:
            for event in store.events(camera_id):
                jsonl.write(event)
    finally:
        jsonl.close()
        store.close()
