"""One camera's stages after detection, composed: the path of one frame through the system.

::

    source -> Frame -> detector.detect -> ViewWatch.update (where the camera looks; zones re-anchored)
           -> ZoneMonitor.drop_ignored -> Tracker.update -> RestingMemory.update
           -> ZoneMonitor.update (rules, dwell timers) -> PlateStage.update (vehicles with a running timer)
           -> EventRecorder.record (evidence, plates, the ladder, store, events.jsonl)

A fixed camera whose view ``moved`` (docs/CAMERA_MOVES.md) skips the memory and the timers, as a gap in the video
does: nothing is warned or cleared, absence clocks stop; after ``resting.max_gap`` in that state every object ends
as after an outage (warned ones are cleared at their last sighting).

``streams.batch`` drives it over recorded files, ``streams.live_runner`` over live cameras.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from detector.change import ChangeGate, watched_region
from detector.detections import Detections
from detector.resting import RestingMemory, RestingParams
from detector.tracking import Tracker
from detector.view import ViewState, reanchor
from detector.view_watch import ViewWatch
from events.ladder import Ladder
from events.record import Event
from events.recorder import EventRecorder
from events.video import AnnotatedVideo
from plates.stage import open_stage
from streams.frames import Frame
from zones.config import CameraConfig, Config
from zones.monitor import ZoneMonitor

log = logging.getLogger(__name__)

STAGES = ("decode", "detect", "view", "track", "rules", "events")
REANCHOR_PX = 0.5  # a new homography moving the zones' corners less than this (median) is not worth applying


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
        recorder.evidence.zone_of = self.monitor.zone  # the warn photo shows the zone where it is now
        self.view = ViewWatch(camera.detect.view_check_every) if camera.detect.view_check else None
        self._anchor = np.eye(3)  # current frame -> reference view, as the zones and spots were last re-anchored
        self._steady_t: float | None = None  # the last frame the memory and the timers saw
        self._ended_while_moved = False
        self._view_was = "ok"

    @property
    def view_state(self) -> str | None:
        """ok, shifted or moved (None: the view is not checked)."""
        return None if self.view is None else self.view.state.state

    def step(self, frame: Frame, detections: Detections, seconds: dict[str, float] | None = None) -> list[Event]:
        clock = StageClock(seconds)
        moved = self.view is not None and self._follow_view(
            self.view.update(frame.image, detections.xyxy, frame.t), frame.image.shape, frame.t)
        clock.lap("view")
        detections = self.monitor.drop_ignored(detections)
        tracked = self.tracker.update(detections, frame.t)
        clock.lap("track")
        if moved:
            changes, active = self._while_moved(frame, tracked), []
        else:
            resting = self.memory.update(tracked, frame.t, frame.image)
            changes, active = self.monitor.update(resting, tracked, frame.t, frame.ts), resting.active
            self._steady_t, self._ended_while_moved = frame.t, False
        clock.lap("rules")
        if self.plates is not None:
            self.plates.update(self.monitor.open_timers(), frame.image, frame.t)
        events = self.recorder.record(changes, frame.image, frame.t, frame.origin, self.plates, self.ladder)
        if self.video is not None:
            self.video.write(frame.image, frame.t, tracked, active, self.monitor.open_timers())
        clock.lap("events")
        return events

    def _follow_view(self, view: ViewState, shape: tuple[int, ...], t: float) -> bool:
        """Re-anchor the zones and the spots when a matched view shifted (or came back); True if it moved."""
        if view.state != self._view_was:
            log.info("camera %s: at %.1fs the view went %s -> %s (corners %.0f px off%s)", self.camera.id, t,
                     self._view_was, view.state, view.displacement_px, f"; {view.reason}" if view.reason else "")
            self._view_was = view.state
        if view.state == "moved":
            return True
        anchor = np.eye(3) if view.state == "ok" else view.homography
        if view.precheck or _corner_change(anchor, self._anchor, (shape[1], shape[0])) < REANCHOR_PX:
            return False
        self.monitor.reanchor(np.linalg.inv(anchor))
        self.memory.reanchor(np.linalg.inv(anchor) @ self._anchor)
        self._anchor = anchor
        return False

    def _while_moved(self, frame: Frame, tracked: Detections) -> list:
        """The view moved: the memory and the timers wait, as for a gap in the video; once the view has been off
        longer than ``max_gap`` every object ends, as after an outage."""
        if self._ended_while_moved or self._steady_t is None \
                or frame.t - self._steady_t <= self.memory.params.max_gap:
            return []
        self._ended_while_moved = True
        nothing = tracked[np.zeros(len(tracked), dtype=bool)]
        resting = self.memory.update(nothing, frame.t)
        log.info("camera %s: view moved for over %gs, %d objects ended", self.camera.id,
                 self.memory.params.max_gap, len(resting.ended))
        return self.monitor.update(resting, nothing, frame.t, frame.ts)

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


def _corner_change(a: np.ndarray, b: np.ndarray, size: tuple[int, int]) -> float:
    """Median distance between the frame's corners mapped through homographies ``a`` and ``b``."""
    width, height = size
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    return float(np.median(np.linalg.norm(reanchor(corners, a) - reanchor(corners, b), axis=1)))


class StageClock:
    """Adds the time since the previous lap to a stage's total."""

    def __init__(self, seconds: dict[str, float] | None):
        self.seconds = seconds
        self.start = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.seconds is not None:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self.start
        self.start = now
