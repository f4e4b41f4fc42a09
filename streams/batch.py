"""Run every recorded source of a config (``streetorder process``): one camera after the other, each through its
``CameraPipeline`` (fixed cameras) or ``PatrolPipeline`` (moving cameras), with its video decoded ahead of the
detector workers, or (a long recording of a fixed camera, given ``SegmentWorkers``) cut into segments that worker
processes decode and detect side by side (``streams.segment_workers``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from contracts.disk import disk_problem, is_disk_full
from contracts.errors import UserError
from contracts.urls import mask_credentials
from detector.load import Detector
from detector.zone_crop import ZoneCrop
from events.chalk_marks import ChalkMarkStore
from events.evidence import EvidenceWriter
from events.record import Event
from events.recorder import EventRecorder
from events.recordings import RecordingStore
from events.store import EventStore, JsonlWriter
from events.video import AnnotatedVideo
from streams.files import fingerprint, open_recorded
from streams.frames import Frame, SourceError
from streams.overlap import detect_in_order, prefetch
from streams.patrol import PatrolPipeline
from streams.pipeline import STAGES, CameraPipeline, change_gate
from streams.rate import SkipAhead, camera_rate, next_analysis
from streams.segment_workers import SegmentWorkers
from zones.config import CameraConfig, Config, is_file_source
from zones.geometry import check_in_frame
from zones.units import UnitLookup, read_unit_map, unit_label

log = logging.getLogger(__name__)


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
    segments: SegmentWorkers | None = None,
) -> list[CameraReport]:
    """Run every file or image-folder camera of ``config``; live sources are left to ``streetorder run``.

    A camera that fails (unreadable file, zone outside its frame) is reported and the others go on; its events
    up to the failure are already stored. Each camera's video is decoded in a thread of its own, ahead of
    ``workers`` detector threads (see ``streams.overlap``), or in ``segments``' processes where they take it.
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
            run = _process_moving_camera if camera.moving else _process_camera
            try:
                run(config, camera, out_dir, detector_for(camera), store, jsonl, report, camera.start_time or origin,
                    on_start, on_frame, workers, **({} if camera.moving else {"annotate": annotate,
                                                                              "segments": segments}))
            except UserError as exc:
                report.error = str(exc)
            except Exception as exc:  # one broken camera must not lose the others' results
                report.error = _camera_failure(camera, exc, out_dir)
    finally:
        jsonl.close()
    return reports


def _camera_failure(camera: CameraConfig, exc: Exception, out_dir: Path) -> str:
    """The sentence of a camera that failed unexpectedly: a full disk in words, anything else with its traceback
    in the log."""
    if is_disk_full(exc):
        return f"camera {camera.id!r}: {disk_problem(exc, out_dir)} (its events up to there are stored)"
    log.exception("camera %s failed", camera.id)
    return f"camera {camera.id!r}: unexpected error: {exc!r}"


def _process_camera(config, camera, out_dir, detector, store, jsonl, report, origin, on_start, on_frame, workers=1,
                    annotate=False, segments=None):
    fps = camera.analysis_fps
    source = open_recorded(str(camera.source), fps, origin, camera.keyframes_only).probe()
    if source.frame_size:
        check_in_frame(camera, *source.frame_size, config_name=str(config.path or "config"))
    recorder = _recorder(config, camera, out_dir, store, jsonl)
    video = AnnotatedVideo.in_folder(out_dir, fps, camera) if annotate else None
    gate = change_gate(camera)
    recordings, key = RecordingStore(store.path), fingerprint(str(camera.source))
    try:
        first = recordings.first_object_id(camera.id, key, mask_credentials(camera.source),
                                           store.highest_object_id(camera.id))
        pipeline = CameraPipeline(config, camera, recorder, video, first_object_id=first)
        if isinstance(detector, ZoneCrop):
            detector.follow(pipeline.crop_zones)
        try:
            _drive(camera, pipeline, source, detector, workers, gate, report, recorder, on_start, on_frame,
                   segments if segments and segments.takes(camera, source) else None)
        finally:
            recordings.finish(camera.id, key, pipeline.memory.next_object_id - 1)
    finally:
        recordings.close()


def _process_moving_camera(config, camera, out_dir, detector, store, jsonl, report, origin, on_start, on_frame,
                           workers=1):
    """A patrol or drone recording: its chalk marks come from the store and go back to it (``streams.patrol``)."""
    source = open_recorded(str(camera.source), camera.analysis_fps, origin, camera.keyframes_only).probe()
    if source.frame_size is None or source.duration is None:
        raise SourceError(f"camera {camera.id!r}: cannot tell the length and frame size of {camera.source}; a moving "
                          "camera needs a video file (its frames are matched to the GPS track by time)")
    recorder = _recorder(config, camera, out_dir, store, jsonl)
    marks = ChalkMarkStore(store.path)
    try:
        pipeline = PatrolPipeline(config, camera, source.frame_size, source.duration, origin, recorder, marks,
                                  out_dir)
        _drive(camera, pipeline, source, detector, workers, None, report, recorder, on_start, on_frame)
    finally:
        marks.close()


def _recorder(config, camera, out_dir, store, jsonl) -> EventRecorder:
    """The camera's recorder, once its names and zones are stored for the reviewers."""
    store.save_camera(camera.id, mask_credentials(camera.source), [z.model_dump() for z in camera.zones],
                      str(out_dir.resolve()), camera.name, camera.location,
                      unit_label(camera.unit))
    return EventRecorder(camera.id, EvidenceWriter(out_dir, camera), store, jsonl, where=camera.geo,
                         units=UnitLookup.of_camera(camera, read_unit_map(config.units)))


def _drive(camera, pipeline, source, detector, workers, gate, report, recorder, on_start, on_frame,
           segments: SegmentWorkers | None = None) -> None:
    """Decode ahead, detect in ``workers`` threads (or in ``segments``' processes), step the pipeline in frame
    order; finish it whatever happens."""
    if on_start:
        on_start(camera, source.duration)
    last: Frame | None = None
    # a moving camera's pipeline has no single resting memory, and camera_rate gives it no rate anyway
    rate = None if camera.moving or camera.detect.idle_fps is None else \
        camera_rate(camera, pipeline.memory.params.rest_window)
    if rate is not None:  # it decides frame by frame what to decode next: one decoder, in order
        segments, source.skip = None, SkipAhead(rate)
    try:
        detected = segments.frames(camera, source, gate, report.seconds) if segments else \
            detect_in_order(prefetch(source), detector.detect, workers, gate, report.seconds, rate,
                            None if rate is None else lambda: source.skip.idle)
        for frame, detections in detected:
            report.events += pipeline.step(frame, detections, report.seconds)
            if rate is not None:
                next_analysis(rate, pipeline, frame)
                source.skip.decided(frame.t)
            report.frames += 1
            report.media_seconds = frame.t
            last = frame
            if on_frame:
                on_frame(camera, frame)
    finally:  # the counts first: finishing writes events, which fails on a full disk
        report.inferred = gate.inferred if gate else report.frames
        try:
            report.events += pipeline.finish(last)
        finally:
            report.already_known = recorder.already_known
