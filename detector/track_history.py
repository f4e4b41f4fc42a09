"""Where each track has been lately: the evidence for "it has come to rest" and "it drove in from elsewhere"."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from detector.detections import Detections
from detector.view import reanchor, reanchor_boxes

MIN_REST_SAMPLES = 3
MOVING_WINDOW_S = 2.0


@dataclass(frozen=True)
class TrackRest:
    """A track at rest: since when, its median box over the rest, and whether it drove in from elsewhere."""

    since_t: float
    box: np.ndarray
    drove_in: bool


@dataclass
class _Track:
    t: deque = field(default_factory=deque)
    points: deque = field(default_factory=deque)
    boxes: deque = field(default_factory=deque)


class TrackHistory:
    """Ground points of each track over the last ``keep_s`` seconds.

    A track rests when its ground point has stayed within ``radius`` (a share of its box's smaller side, at least
    ``min_radius_px``) for ``rest_window`` seconds and at least three samples.

    Example:
        >>> history = TrackHistory(rest_window=2.0)
        >>> for t in (0.0, 1.0, 2.0):
        ...     history.record(Detections.from_arrays([[0, 0, 40, 20]], [0.9], [2], ["car"], ["vehicle"], [7]), t)
        >>> history.rest(7).since_t
        0.0
    """

    def __init__(self, rest_window: float = 5.0, radius: float = 0.15, min_radius_px: float = 3.0,
                 keep_s: float = 120.0, forget_after: float = 30.0):
        self.rest_window = rest_window
        self.radius_share = radius
        self.min_radius_px = min_radius_px
        self.keep_s = keep_s
        self.forget_after = forget_after
        self._tracks: dict[int, _Track] = {}

    def record(self, detections: Detections, t: float) -> None:
        ground = detections.ground_points()
        for i, track_id in enumerate(detections.tracker_id):
            if track_id < 0:
                continue
            track = self._tracks.setdefault(int(track_id), _Track())
            track.t.append(t)
            track.points.append(ground[i])
            track.boxes.append(detections.xyxy[i])
            while track.t and track.t[0] < t - self.keep_s:
                track.t.popleft()
                track.points.popleft()
                track.boxes.popleft()
        stale = [k for k, tr in self._tracks.items() if not tr.t or tr.t[-1] < t - self.forget_after]
        for k in stale:
            del self._tracks[k]

    def clear(self) -> None:
        self._tracks.clear()

    def reanchor(self, homography: np.ndarray) -> None:
        """The camera's view shifted: map every track's ground points and boxes through ``homography``."""
        for track in self._tracks.values():
            if track.t:
                track.points = deque(reanchor(np.asarray(track.points), homography))
                track.boxes = deque(reanchor_boxes(np.asarray(track.boxes), homography).astype(np.float32))

    def radius(self, xyxy: np.ndarray) -> float:
        return max(self.min_radius_px, self.radius_share * float(min(xyxy[2] - xyxy[0], xyxy[3] - xyxy[1])))

    def rest(self, track_id: int) -> TrackRest | None:
        """The track's current rest, or None if it is not resting.

        Walks back from the newest point while points stay within the radius of where the track is now; one stray
        point (a box cut short by something passing) does not end the walk, two in a row do. The rest begins at the
        first point of that walk, not at the moment the rest window was complete.
        """
        track = self._tracks.get(track_id)
        if not track or len(track.t) < MIN_REST_SAMPLES:
            return None
        points = np.asarray(track.points)
        here = points[-1]
        radius = self.radius(track.boxes[-1])
        outside = np.hypot(*(points - here).T) > radius
        start = len(points) - 1
        while start > 0 and not (outside[start - 1] and (start < 2 or outside[start - 2])):
            start -= 1
        if outside[start]:
            start += 1
        if len(points) - start < MIN_REST_SAMPLES or track.t[-1] - track.t[start] < self.rest_window:
            return None
        drove_in = bool(start > 0 and (np.hypot(*(points[:start] - here).T) > 3 * radius).any())
        box = np.median(np.asarray(track.boxes)[start:], axis=0).astype(np.float32)
        return TrackRest(float(track.t[start]), box, drove_in)

    def is_moving(self, track_id: int) -> bool:
        """Its ground point has mostly been away from where it is now over the last two seconds."""
        track = self._tracks.get(track_id)
        if not track or len(track.t) < 2:
            return False
        recent = next(i for i, ti in enumerate(track.t) if ti >= track.t[-1] - MOVING_WINDOW_S)
        points = np.asarray(track.points)[recent:]
        return bool(np.median(np.hypot(*(points - points[-1]).T)) > self.radius(track.boxes[-1]))

    def drove_in(self, track_id: int) -> bool:
        """The track has been somewhere else (more than three radii away) within its history."""
        rest = self.rest(track_id)
        if rest is not None:
            return rest.drove_in
        track = self._tracks.get(track_id)
        if not track:
            return False
        points = np.asarray(track.points)
        return bool((np.hypot(*(points - points[-1]).T) > 3 * self.radius(track.boxes[-1])).any())
