"""Recordings spread over a Ray cluster (``streetorder process --cluster``): one task per recording.

Each task runs ``streams.batch.process_recorded`` for one camera on whichever node has a free CPU, writing its
events to the shared store (idempotent on ``event_id``) and its evidence under ``OUT`` (a folder every node sees
at the same path). A task whose node dies is run again elsewhere: the recording keeps its object ids
(``events.recordings``), so its events get the same ids and none is stored twice. The driver then brings
``OUT/events.jsonl`` up to date from the store, in each camera's order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from events.store import EventStore, JsonlWriter
from streams.batch import CameraReport, process_recorded
from streams.cluster_live import ConfigText, DetectorFactory
from zones.config import is_file_source

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


def process_on_cluster(ray, source: ConfigText, out_dir: Path, store_target: str | None,
                       detectors: DetectorFactory, *, cameras: list[str] | None = None,
                       origin: datetime | None = None, annotate: bool = False) -> list[ClusterReport]:
    """Every recorded camera of the config as a task of the cluster ``ray``; the reports in config order."""
    config = source.load()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = [c for c in config.cameras if is_file_source(c.source) and (not cameras or c.id in cameras)]
    task = ray.remote(process_recording).options(num_cpus=1, max_retries=TASK_RETRIES, scheduling_strategy="SPREAD")
    refs = [task.remote(source, c.id, str(out_dir), store_target, detectors, origin, annotate) for c in chosen]
    reports = []
    for camera, ref in zip(chosen, refs, strict=True):
        try:
            reports.append(ray.get(ref))
        except ray.exceptions.RayError as exc:  # the task failed on every try: report it, keep the others
            log.error("camera %s: the cluster task failed: %s", camera.id, exc)
            reports.append(ClusterReport(camera.id, error=f"camera {camera.id!r}: the cluster task failed ({exc})"))
    _top_up_jsonl(store_target or config.store or str(out_dir / "events.db"), out_dir, [c.id for c in chosen])
    return reports


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
