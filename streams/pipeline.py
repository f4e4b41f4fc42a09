"""One camera's stages after detection, composed: the path of one frame through the system.

::

    source -> Frame -> detector.detect -> ViewWatch.update (where the camera looks; zones re-anchored)
           -> ZoneMonitor.drop_ignored -> Tracker.update -> RestingMemory.update
           -> ZoneMonitor.update (rules, dwell timers) -> PlateStage.update (vehicles with a running timer)
           -> EventRecorder.record (evidence, plates, the ladder, store, events.jsonl)

A fixed camera whose view ``moved`` (docs/CAMERA_MOVES.md) skips the memory and the timers, as a gap in the video
does: nothing is warned or cleared, absence clocks stop; after ``resting.max_gap`` in that state every object ends
as after an outage (warned ones are cleared at their last sighting). A PTZ camera has one memory and zone monitor
per preset (``streams.view_stages``): those of the preset it shows see the frames, the others wait the same way.

``CameraPipeline.step`` is ``observe`` (every stage up to the dwell timers: this camera's own state only) then
``record`` (plates, evidence, the store, events.jsonl, sinks). ``streams.batch`` drives it over recorded files;
``streams.live_runner`` over live cameras, observing on its worker threads and recording in its loop's thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from detector.change import ChangeGate, watched_region
from detector.detections import Detections
from detector.resting import RestingMemory
from detector.tracking import Tracker
from detector.view import ViewState, reanchor
from detector.zone_crop import zone_polygons
from events.ladder import Ladder
from events.record import Event, ViewRecord
from events.recorder import EventRecorder
from events.video import AnnotatedVideo
from plates.stage import open_stage
from streams.frames import Frame
from streams.view_stages import ViewStages, build_stages, view_watch
from zones.config import CameraConfig, Config, ZoneConfig
from zones.monitor import ZoneMonitor

log = logging.getLogger(__name__)

STAGES = ("decode", "detect", "view", "track", "rules", "events")
REANCHOR_PX = 0.5  # a new homography moving the zones' corners less than this (median) is not worth applying


@dataclass
class Observed:
    """One frame after ``CameraPipeline.observe``: what ``CameraPipeline.record`` needs to make its events."""

    frame: Frame
    tracked: Detections
    active: list  # the shown view's resting objects in sight (drawn on the annotated video)
    changes: list  # the dwell timers' changes (warn, clear, ...) to record


class CameraPipeline:
    """One camera's stages after detection: ignore zones, tracker, resting memory, zone rules, events."""

    def __init__(self, config: Config, camera: CameraConfig, recorder: EventRecorder,
                 video: AnnotatedVideo | None = None, first_object_id: int = 1):
        self.camera = camera
        self.analysis_fps = camera.analysis_fps
        self.stages = build_stages(config, camera, first_object_id)  # one per PTZ preset, else one
        self.shown = next(iter(self.stages))  # the key of the stages of the view shown last
        self.tracker = Tracker(self.analysis_fps)
        self.recorder = recorder
        self.video = video
        self.plates = open_stage(camera.plates)  # None: this camera reads no plates
        self.ladder = Ladder(config.enforcement, recorder.store)
        recorder.evidence.zone_of = self.zone  # the warn photo shows the zone where it is now
        self.view = view_watch(camera)
        self._view_was = "ok"

    @property
    def monitor(self) -> ZoneMonitor:
        """The zone monitor of the view shown last (of its preset, for a PTZ camera)."""
        return self.stages[self.shown].monitor

    @property
    def memory(self) -> RestingMemory:
        """The resting memory of the view shown last; it holds the camera's highest next object id."""
        return self.stages[self.shown].memory

    def zone(self, zone_id: str) -> ZoneConfig:
        """The zone, of whichever preset, as it lies in the current frame."""
        return next(s.monitor.zone(zone_id) for s in self.stages.values() if zone_id in s.monitor.shapes)

    @property
    def preset(self) -> str | None:
        """The PTZ preset the camera shows (None: no presets, or the view moved off every preset)."""
        return None if self.view is None else self.view.preset

    def crop_zones(self) -> list[list[tuple[float, float]]] | None:
        """The non-ignore zones of the view shown, as they lie in the current frame (re-anchored); None when the
        view moved (``detect: {crop: zones}`` then feeds the whole frame)."""
        if self.view_state == "moved":
            return None
        return zone_polygons(shape.zone for shape in self.monitor.shapes.values())

    @property
    def view_state(self) -> str | None:
        """ok, shifted or moved (None: the view is not checked)."""
        return None if self.view is None else self.view.state.state

    @property
    def view_record(self) -> ViewRecord | None:
        """The view the camera's events carry (None: the view is not checked)."""
        return None if self.view is None else ViewRecord.of(self.view.state, self.preset)

    def step(self, frame: Frame, detections: Detections, seconds: dict[str, float] | None = None) -> list[Event]:
        """Run every stage on ``frame`` and its ``detections``; returns the events it made (``seconds``: adds each
        stage's time to it)."""
        clock = StageClock(seconds)
        return self.record(self.observe(frame, detections, clock), clock)

    def observe(self, frame: Frame, detections: Detections, clock: StageClock | None = None) -> Observed:
        """The stages up to the rules (view, ignore zones, tracker, resting memory, dwell timers). They touch only
        this camera's state, so the live loop runs them on its worker threads; ``record`` makes the events."""
        clock = clock or StageClock(None)
        shown = self.stages[self.shown] if self.view is None else self._follow_view(
            self.view.update(frame.image, detections.xyxy, frame.t), frame.image.shape, frame.t)
        clock.lap("view")
        detections = self.monitor.drop_ignored(detections)
        tracked = self.tracker.update(detections, frame.t)
        clock.lap("track")
        changes, active = [], []
        for stages in (s for s in self.stages.values() if s is not shown):
            changes += self._wait(stages, tracked, frame)
        if shown is not None:
            resting = shown.memory.update(tracked, frame.t, frame.image)
            changes += shown.monitor.update(resting, tracked, frame.t, frame.ts)
            active, shown.steady_t, shown.ended = resting.active, frame.t, False
        clock.lap("rules")
        return Observed(frame, tracked, active, changes)

    def record(self, observed: Observed, clock: StageClock | None = None) -> list[Event]:
        """``observe``'s changes made events: plates read, evidence, the ladder, the store, events.jsonl, sinks."""
        clock = clock or StageClock(None)
        frame = observed.frame
        if self.plates is not None:
            self.plates.update(self.monitor.open_timers(), frame.image, frame.t)
        events = self.recorder.record(observed.changes, frame.image, frame.t, frame.origin, self.plates,
                                      self.ladder, self.view_record)
        if self.video is not None:
            self.video.write(frame.image, frame.t, observed.tracked, observed.active, self.monitor.open_timers())
        clock.lap("events")
        return events

    def _follow_view(self, view: ViewState, shape: tuple[int, ...], t: float) -> ViewStages | None:
        """The stages of the view shown, its zones and spots re-anchored when a matched view shifted (or came
        back); None when the view moved."""
        shown = self.view.preset if self.camera.presets else None
        if view.state != self._view_was or (shown is not None and shown != self.shown):
            log.info("camera %s: at %.1fs the view went %s -> %s%s (corners %.0f px off%s)", self.camera.id, t,
                     self._view_was, view.state, f" (preset {shown})" if shown else "", view.displacement_px,
                     f"; {view.reason}" if view.reason else "")
            self._view_was = view.state
        if view.state == "moved":
            return None
        if shown != self.shown:
            self.stages[shown].take_over(self.memory.next_object_id)
            self.shown = shown
        stages = self.stages[shown]
        # a tracked view (phase correlation: a sway, ok or shifted) is anchored on every frame, a matched one when
        # shifted; an ok match without a translation of its own puts the zones back
        anchor = view.homography if view.tracked or view.state == "shifted" else np.eye(3)
        if (view.precheck and not view.tracked) \
                or _corner_change(anchor, stages.anchor, (shape[1], shape[0])) < REANCHOR_PX:
            return stages
        stages.monitor.reanchor(np.linalg.inv(anchor))
        stages.memory.reanchor(np.linalg.inv(anchor) @ stages.anchor)
        stages.anchor = anchor
        return stages

    def _wait(self, stages: ViewStages, tracked: Detections, frame: Frame) -> list:
        """Stages not shown (the view moved, or the PTZ camera shows another preset) wait as for a gap in the video;
        once they have waited longer than ``max_gap`` their objects end, as after an outage."""
        ended_before = stages.ended
        changes = stages.wait(tracked, frame.t, frame.ts)
        if stages.ended and not ended_before:
            key = next(k for k, s in self.stages.items() if s is stages)
            log.info("camera %s: %s for over %gs, its objects ended", self.camera.id,
                     "the view moved" if key is None else f"preset {key} not shown", stages.memory.params.max_gap)
        return changes

    def finish(self, frame: Frame | None) -> list[Event]:
        """The source ended: close the timers (no clear for objects still there) and the video."""
        events = []
        if frame is not None:
            closing = [c for stages in self.stages.values() for c in stages.monitor.finish(frame.t)]
            events = self.recorder.record(closing, frame.image, frame.t, frame.origin,
                                          self.plates, self.ladder, self.view_record)
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
