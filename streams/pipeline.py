"""One camera's stages after detection, composed: the path of one frame through the system.

::

    source -> Frame -> detector.detect -> ZoneMonitor.drop_ignored -> Tracker.update -> RestingMemory.update
           -> ZoneMonitor.update (rules, dwell timers) -> PlateStage.update (vehicles with a running timer)
           -> EventRecorder.record (evidence, plates, the ladder, store, events.jsonl)

``streams.batch`` drives it over recorded files, ``streams.live_runner`` over live cameras.
"""

from __future__ import annotations

import logging
import time

from detector.change import ChangeGate, watched_region
from detector.detections import Detections
from detector.resting import RestingMemory, RestingParams
from detector.tracking import Tracker
from events.ladder import Ladder
from events.record import Event
from events.recorder import EventRecorder
from events.video import AnnotatedVideo
from plates.stage import open_stage
from streams.frames import Frame
from zones.config import CameraConfig, Config
from zones.monitor import ZoneMonitor

log = logging.getLogger(__name__)

STAGES = ("decode", "detect", "track", "rules", "events")


class CameraPipeline:
    """One camera's stages after detection: ignore zones, tracker, resting memory, zone rules, events."""

    def __init__(self, config: Config, camera: CameraConfig, recorder: EventRecorder,
                 video: AnnotatedVideo | None = None, first_object_id: int = 1):
        self.camera = camera
        self.analysis_fps = camera.analysis_fps
        self.monitor = ZoneMonitor(config, camera)
        self.tracker = Tracker(self.analysis_fps)
        rest = config.resting
        self.memory = RestingMemory(RestingParams(
            rest_window=rest.rest_window,
            radius=rest.radius,
            max_gap=rest.max_gap,
            forget_after=self.monitor.longest_clear_after,
        ), first_object_id=first_object_id)
        self.recorder = recorder
        self.video = video
        self.plates = open_stage(camera.plates)  # None: this camera reads no plates
        self.ladder = Ladder(config.enforcement, recorder.store)

    def step(self, frame: Frame, detections: Detections, seconds: dict[str, float] | None = None) -> list[Event]:
        clock = StageClock(seconds)
        detections = self.monitor.drop_ignored(detections)
        tracked = self.tracker.update(detections, frame.t)
        clock.lap("track")
        resting = self.memory.update(tracked, frame.t, frame.image)
        changes = self.monitor.update(resting, tracked, frame.t, frame.ts)
        clock.lap("rules")
        if self.plates is not None:
            self.plates.update(self.monitor.open_timers(), frame.image, frame.t)
        events = self.recorder.record(changes, frame.image, frame.t, frame.origin, self.plates, self.ladder)
        if self.video is not None:
            self.video.write(frame.image, frame.t, tracked, resting.active, self.monitor.open_timers())
        clock.lap("events")
        return events

    def finish(self, frame: Frame | None) -> list[Event]:
        """The source ended: close the timers (no clear for objects still there) and the video."""
        events = []
        if frame is not None:
            events = self.recorder.record(self.monitor.finish(frame.t), frame.image, frame.t, frame.origin,
                                          self.plates, self.ladder)
        if self.video is not None:
            self.video.close()
        if self.plates is not None:
            log.info("camera %s: %s", self.camera.id, self.plates.cost())
        return events


def change_gate(camera: CameraConfig) -> ChangeGate | None:
    """The camera's ``skip_unchanged`` gate, or None when every frame is detected."""
    if not camera.detect.skip_unchanged:
        return None
    return ChangeGate(camera.detect.reconfirm_every,
                      region=watched_region([z.polygon for z in camera.zones if z.type != "ignore"]))


class StageClock:
    """Adds the time since the previous lap to a stage's total."""

    def __init__(self, seconds: dict[str, float] | None):
        self.seconds = seconds
        self.start = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.seconds is not None:
            self.seconds[stage] += now - self.start
        self.start = now
