"""Compose the stages for one camera, and run every recorded source of a config (``streetorder process``).

One frame's path through the system::

    source -> Frame -> detector.detect -> ZoneMonitor.drop_ignored -> Tracker.update -> RestingMemory.update
           -> ZoneMonitor.update (rules, dwell timers) -> EventRecorder.record (evidence, store, events.jsonl)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from detector.change import ChangeGate, watched_region
from detector.detections import Detections
from detector.load import Detector
from detector.resting import RestingMemory, RestingParams
from detector.tracking import Tracker
from events.evidence import EvidenceWriter
from events.record import Event
from events.recorder import EventRecorder
from events.store import EventStore, JsonlWriter
from events.video import AnnotatedVideo
from models.registry import ModelNotFoundError
from streams.files import open_recorded
from streams.frames import Frame, SourceError
from streams.overlap import detect_in_order, prefetch
from streams.urls import mask_credentials
from zones.config import CameraConfig, Config, ConfigError, is_file_source
from zones.geometry import check_in_frame
from zones.monitor import ZoneMonitor

log = logging.getLogger(__name__)

STAGES = ("decode", "detect", "track", "rules", "events")


@dataclass
class CameraReport:
    """What one camera's run produced, and where its time went."""

    camera_id: str
    frames: int = 0
    media_seconds: float = 0.0
    events: list[Event] = field(default_factory=list)
    already_known: int = 0
    inferred: int = 0  # frames the detector ran on (fewer than ``frames`` with ``skip_unchanged``)
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))


class CameraPipeline:
    """One camera's stages after detection: ignore zones, tracker, resting memory, zone rules, events."""

    def __init__(self, config: Config, camera: CameraConfig, recorder: EventRecorder,
                 video: AnnotatedVideo | None = None):
        self.camera = camera
        self.analysis_fps = camera.analysis_fps or config.analysis_fps
        self.monitor = ZoneMonitor(config, camera)
        self.tracker = Tracker(self.analysis_fps)
        rest = config.resting
        self.memory = RestingMemory(RestingParams(
            rest_window=rest.rest_window,
            radius=rest.radius,
            max_gap=rest.max_gap,
            forget_after=self.monitor.longest_clear_after,
        ))
        self.recorder = recorder
        self.video = video

    def step(self, frame: Frame, detections: Detections, seconds: dict[str, float] | None = None) -> list[Event]:
        clock = _Clock(seconds)
        detections = self.monitor.drop_ignored(detections)
        tracked = self.tracker.update(detections)
        clock.lap("track")
        resting = self.memory.update(tracked, frame.t, frame.image)
        changes = self.monitor.update(resting, tracked, frame.t, frame.ts)
        clock.lap("rules")
        events = self.recorder.record(changes, frame.image, frame.t, frame.origin)
        if self.video is not None:
            self.video.write(frame.image, frame.t, tracked, resting.active, self.monitor.open_timers())
        clock.lap("events")
        return events

    def finish(self, frame: Frame | None) -> list[Event]:
        """The source ended: close the timers (no clear for objects still there) and the video."""
        events = []
        if frame is not None:
            events = self.recorder.record(self.monitor.finish(frame.t), frame.image, frame.t, frame.origin)
        if self.video is not None:
            self.video.close()
        return events


def process_recorded(
    config: Config,
    out_dir: Path,
    detector_for: Callable[[CameraConfig], Detector],
    store: EventStore,
    *,
    origin: datetime | None = None,
    annotate: bool = False,
    cameras: list[str] | None = None,
    on_start: Callable[[CameraConfig, float | None], None] | None = None,
    on_frame: Callable[[CameraConfig, Frame], None] | None = None,
    workers: int = 1,
) -> list[CameraReport]:
    """Run every file or image-folder camera of ``config``; live sources are left to ``streetorder run``.

    A camera that fails (unreadable file, zone outside its frame) is reported and the others go on; its events
    up to the failure are already stored. Each camera's video is decoded in a thread of its own, ahead of
    ``workers`` detector threads (see ``streams.overlap``).
    """
    out_dir = Path(out_dir)
    jsonl = JsonlWriter(out_dir / "events.jsonl")
    reports = []
    try:
        for camera in config.cameras:
            if cameras and camera.id not in cameras:
                continue
            report = CameraReport(camera.id)
            reports.append(report)
            if not is_file_source(camera.source):
                report.error = (f"camera {camera.id!r}: {mask_credentials(camera.source)} is a live source; "
                                "`streetorder run` reads live cameras")
                continue
            try:
                _process_camera(config, camera, out_dir, detector_for(camera), store, jsonl, report,
                                camera.start_time or origin, annotate, on_start, on_frame, workers)
            except (SourceError, ConfigError, ModelNotFoundError) as exc:
                report.error = str(exc)
            except Exception as exc:  # one broken camera must not lose the others' results
                log.exception("camera %s failed", camera.id)
                report.error = f"camera {camera.id!r}: unexpected error: {exc!r}"
    finally:
        jsonl.close()
    return reports


def _process_camera(config, camera, out_dir, detector, store, jsonl, report, origin, annotate, on_start, on_frame,
                    workers=1):
    fps = camera.analysis_fps or config.analysis_fps
    source = open_recorded(str(camera.source), fps, origin, camera.keyframes_only).probe()
    if source.frame_size:
        check_in_frame(camera, *source.frame_size, config_name=str(config.path or "config"))
    store.save_camera(camera.id, mask_credentials(camera.source), [z.model_dump() for z in camera.zones],
                      str(out_dir.resolve()), camera.name, camera.location, camera.unit)
    recorder = EventRecorder(camera.id, EvidenceWriter(out_dir, camera), store, jsonl)
    video = AnnotatedVideo(out_dir / "annotated" / f"{camera.id}.mp4", fps, camera) if annotate else None
    pipeline = CameraPipeline(config, camera, recorder, video)
    if on_start:
        on_start(camera, source.duration)
    last: Frame | None = None
    gate = change_gate(config, camera)
    try:
        for frame, detections in detect_in_order(prefetch(source), detector.detect, workers, gate, report.seconds):
            report.events += pipeline.step(frame, detections, report.seconds)
            report.frames += 1
            report.media_seconds = frame.t
            last = frame
            if on_frame:
                on_frame(camera, frame)
    finally:
        report.events += pipeline.finish(last)
        report.already_known = recorder.already_known
        report.inferred = gate.inferred if gate else report.frames


def change_gate(config: Config, camera: CameraConfig) -> ChangeGate | None:
    """The camera's ``skip_unchanged`` gate, or None when every frame is detected."""
    settings = camera.detect or config.detect
    if not settings.skip_unchanged:
        return None
    return ChangeGate(settings.reconfirm_every,
                      region=watched_region([z.polygon for z in camera.zones if z.type != "ignore"]))


class _Clock:
    """Adds the time since the previous lap to a stage's total."""

    def __init__(self, seconds: dict[str, float] | None):
        self.seconds = seconds
        self.start = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.seconds is not None:
            self.seconds[stage] += now - self.start
        self.start = now
