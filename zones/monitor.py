"""One camera's zones, rules and dwell timers, composed: resting objects in, state changes out."""

from __future__ import annotations

from datetime import datetime

from contracts.names import TIMED_ZONE_TYPES
from detector.detections import Detections
from detector.resting import RestingUpdate
from detector.view import reanchor
from zones.config import CameraConfig, Config, ZoneConfig, schedule_of
from zones.dwell import StateChange, ZoneTimers
from zones.geometry import ZoneShape
from zones.rules import RuleBook, Violation


class ZoneMonitor:
    """Apply a camera's zones to each frame.

    Example:
        >>> monitor = ZoneMonitor(config, config.cameras[0])          # doctest: +SKIP
        >>> detections = monitor.drop_ignored(detections)             # doctest: +SKIP
        >>> changes = monitor.update(resting_update, detections, t, wall)  # doctest: +SKIP
    """

    def __init__(self, config: Config, camera: CameraConfig):
        shapes = [ZoneShape(z) for z in camera.zones]
        self.shapes = {s.id: s for s in shapes}
        self.camera = camera
        self.ignore = [s for s in shapes if s.type == "ignore"]
        self.rules = RuleBook(shapes, config.rules)
        self.timers: dict[str, ZoneTimers] = {}
        for zone in camera.zones:
            if zone.type in TIMED_ZONE_TYPES:
                self.timers[zone.id] = ZoneTimers(zone.id, zone.dwell, schedule_of(zone.dwell))

    @property
    def longest_clear_after(self) -> float:
        """How long the memory must keep an absent object so every zone can time its clear."""
        return max((zt.settings.clear_after for zt in self.timers.values()), default=30.0)

    def zone(self, zone_id: str) -> ZoneConfig:
        """The zone as it lies in the current frame (re-anchored when the camera's view shifted)."""
        return self.shapes[zone_id].zone

    def reanchor(self, homography) -> None:
        """Move every drawn zone to where its configured polygon is in the current frame: ``homography`` maps
        pixels of the reference view (the config's) to the current frame's; the identity puts them back."""
        for zone in self.camera.zones:
            if zone.polygon is not None:
                self.shapes[zone.id].move_to(reanchor(zone.polygon, homography))

    def drop_ignored(self, detections: Detections) -> Detections:
        """Remove detections whose ground point lies in an ``ignore`` zone."""
        if not self.ignore or not len(detections):
            return detections
        points = detections.ground_points()
        keep = ~sum((zone.contains_points(points) for zone in self.ignore), start=0).astype(bool)
        return detections[keep]

    def update(
        self, resting: RestingUpdate, detections: Detections, t: float, wall: datetime | None
    ) -> list[StateChange]:
        """Apply the rules to the resting objects of the frame at media time ``t`` (``detections``: all of the
        frame's, for attendance and occlusion; ``wall``: its wall time, for active hours) and run every zone's dwell
        timers: the state changes (rest, warn, escalate, clear, drop) this frame brought."""
        violations = self.rules.violations(resting.active, detections, t)
        changes: list[StateChange] = []
        for zone_id, timers in self.timers.items():
            changes += timers.update([v for v in violations if v.zone_id == zone_id], t, wall)
        if resting.ended:
            self.rules.forget(resting.ended)
            ended_ids = {str(o.object_id) for o in resting.ended}
            for timers in self.timers.values():
                timers.forget(ended_ids)
        return changes

    def snapshot(self) -> dict:
        """Rule memory and every zone's timers as plain JSON-able data, to outlive a restart."""
        return {"rules": self.rules.snapshot(), "zones": {zid: zt.snapshot() for zid, zt in self.timers.items()}}

    def restore(self, state: dict) -> None:
        """Take up a ``snapshot``. Timers of zones that are no longer in the config (or no longer timed) are
        dropped; the current config's settings (warn_after, ...) apply to the timers that go on."""
        self.rules.restore(state["rules"])
        for zone_id, zone_state in state["zones"].items():
            if zone_id in self.timers:
                self.timers[zone_id].restore(zone_state)

    def open_timers(self) -> list[tuple[Violation, float, bool]]:
        """(violation, since_t, warned) of every running timer, for drawing."""
        return [(tm.violation, tm.since_t, tm.warned) for zt in self.timers.values() for tm in zt.timers.values()]

    def finish(self, t: float) -> list[StateChange]:
        return [c for timers in self.timers.values() for c in timers.finish(t)]
