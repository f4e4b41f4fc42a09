"""Replay hand-made detections with explicit timestamps through the resting memory, the rules and the timers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from detector.detections import Detections
from detector.resting import RestingMemory, RestingParams
from models.taxonomy import Taxonomy
from zones.config import parse_config
from zones.dwell import StateChange
from zones.monitor import ZoneMonitor

TAXONOMY = Taxonomy()


@dataclass(frozen=True)
class Thing:
    """One detection: box, class name, track id (-1 for an unconfirmed box) and score."""

    xyxy: tuple[float, float, float, float]
    class_name: str = "car"
    track: int = 1
    score: float = 0.8

    def moved(self, dx: float = 0, dy: float = 0, track: int | None = None) -> Thing:
        x1, y1, x2, y2 = self.xyxy
        return Thing((x1 + dx, y1 + dy, x2 + dx, y2 + dy), self.class_name, self.track if track is None else track,
                     self.score)


def detections(things: Iterable[Thing]) -> Detections:
    things = list(things)
    names = [t.class_name for t in things]
    return Detections.from_arrays(
        [t.xyxy for t in things] or np.zeros((0, 4)),
        [t.score for t in things],
        [0] * len(things),
        names,
        TAXONOMY.categories(names),
        [t.track for t in things],
    )


def camera_config(zones: list[dict], **camera) -> dict:
    return {"cameras": [{"id": "cam-01", "source": "video.mp4", "zones": zones, **camera}]}


class Replay:
    """Feed frames ``(t, things)`` through one camera's memory and zone monitor and collect the state changes."""

    def __init__(self, raw_config: dict, origin: datetime | None = None, **params):
        self.config = parse_config(raw_config)
        self.camera = self.config.cameras[0]
        self.monitor = ZoneMonitor(self.config, self.camera)
        defaults = {"forget_after": self.monitor.longest_clear_after, "max_gap": self.config.resting.max_gap}
        self.memory = RestingMemory(RestingParams(**{**defaults, **params}))
        self.origin = origin
        self.changes: list[StateChange] = []

    def step(self, t: float, things: Iterable[Thing]) -> list[StateChange]:
        found = self.monitor.drop_ignored(detections(things))
        update = self.memory.update(found, t)
        wall = None if self.origin is None else self.origin + timedelta(seconds=t)
        changes = self.monitor.update(update, found, t, wall)
        self.changes += changes
        return changes

    def run(self, start: float, end: float, scene: Callable[[float], Iterable[Thing]], fps: float = 2.0) -> Replay:
        """Step at ``fps`` from ``start`` up to (not including) ``end``, asking ``scene(t)`` what is visible."""
        for i in range(round((end - start) * fps)):
            t = start + i / fps
            self.step(t, scene(t))
        return self

    def of_kind(self, kind: str) -> list[StateChange]:
        return [c for c in self.changes if c.kind == kind]


SIDEWALK = {"id": "walk", "type": "sidewalk", "polygon": [[0, 200], [640, 200], [640, 300], [0, 300]],
            "warn_after": "60s"}
CAR = Thing((100, 180, 200, 250))  # ground point (150, 250): on the sidewalk
