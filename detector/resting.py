"""The resting-object memory: identity of parked things for minutes, above the tracker.

ByteTrack keeps an identity for seconds. A car parked on a sidewalk must keep one for as long as it stays, across
missed detections, a bus stopping in front of it, tracker ID switches, lighting changes and gaps in the video, while
a different car taking the same spot must get a new identity. The memory does this with three kinds of evidence:

- the *spot*: a resting object owns its box at rest; a detection that is not moving and overlaps that box confirms
  it, whatever its track id (so ID switches and lost tracks do not matter);
- *occlusion*: when something new stands in front of the spot (its box covers the spot more than usual and its
  bottom edge is nearer the camera), absence is not counted, for up to ``max_gap``;
- *arrival and looks*: a track that drives into a spot seen empty, or one that looks different (colour histogram,
  size), is a new object; the old one ends.

Time comes from the frames only, so a replay is exact. Gaps between frames longer than ``gap_threshold`` pause the
absence clocks; a gap longer than ``max_gap`` ends every object, because nobody saw what happened meanwhile.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from detector.detections import Detections, box_coverage, box_iou

APPEARANCE_EVERY_S = 10.0
MIN_REST_SAMPLES = 3
NOT_RESTING = frozenset({"person", "other"})
_COMPATIBLE = {"two_wheeler": "bicycle"}  # classes a detector confuses with each other share an identity


@dataclass(frozen=True)
class RestingParams:
    rest_window: float = 5.0  # seconds a track must stay within the radius to be resting
    radius: float = 0.15  # rest radius as a share of the box's smaller side
    min_radius_px: float = 3.0
    spot_iou: float = 0.5  # a detection overlapping a spot this much is on it
    leave_iou: float = 0.3  # a bound track overlapping its spot less than this has moved off
    leave_confirm: float = 3.0  # seconds a spot must stay unconfirmed after its track moved off
    spot_empty: float = 3.0  # seconds of absence after which a newcomer is not the old object
    occlusion_cover: float = 0.35  # share of the spot an occluder must cover ...
    occlusion_rise: float = 0.2  # ... and this much more than its usual cover
    forget_after: float = 30.0  # seconds of absence after which an object is gone
    max_gap: float = 120.0
    gap_threshold: float = 5.0  # a frame interval longer than this is a gap in the video
    appearance_distance: float = 0.45  # Bhattacharyya distance above which two crops are different objects
    min_size_ratio: float = 0.55  # area ratio below which two boxes are different objects
    history: float = 120.0  # seconds of track history kept
    categories: frozenset[str] = field(default=frozenset())  # categories that can rest; empty means all but people


@dataclass
class RestingObject:
    """Something that has come to rest. ``since_t`` is when it stopped; it never moves while the object lives."""

    object_id: int
    category: str
    xyxy: np.ndarray
    since_t: float
    last_seen_t: float
    score: float
    last_xyxy: np.ndarray
    track_id: int | None = None
    absent_s: float = 0.0
    occluded: bool = False
    ended: str | None = None  # why it ended: "left", "replaced", "absent" or "gap"
    appearance: np.ndarray | None = None
    appearance_t: float = 0.0
    class_votes: Counter = field(default_factory=Counter)
    baseline_cover: float = 0.0
    left_at: float | None = None
    seen: bool = False  # confirmed in the latest frame

    @property
    def class_name(self) -> str:
        return self.class_votes.most_common(1)[0][0] if self.class_votes else self.category

    @property
    def ground_point(self) -> tuple[float, float]:
        return float((self.xyxy[0] + self.xyxy[2]) / 2), float(self.xyxy[3])


@dataclass
class RestingUpdate:
    active: list[RestingObject]
    ended: list[RestingObject]
    created: list[RestingObject]


@dataclass
class _Track:
    t: deque = field(default_factory=deque)
    points: deque = field(default_factory=deque)
    boxes: deque = field(default_factory=deque)


class RestingMemory:
    """Feed it each sampled frame's tracked detections; it returns the objects at rest.

    Example:
        >>> memory = RestingMemory(RestingParams(rest_window=2))
        >>> car = Detections.from_arrays([[100, 100, 200, 160]], [0.9], [2], ["car"], ["vehicle"], [1])
        >>> [len(memory.update(car, t).active) for t in (0.0, 1.0, 2.0, 3.0)]
        [0, 0, 1, 1]
    """

    def __init__(self, params: RestingParams | None = None, first_object_id: int = 1):
        self.params = params or RestingParams()
        self.objects: list[RestingObject] = []
        self._tracks: dict[int, _Track] = {}
        self._next_id = first_object_id
        self._last_t: float | None = None

    def update(self, detections: Detections, t: float, image: np.ndarray | None = None) -> RestingUpdate:
        p = self.params
        ended: list[RestingObject] = []
        dt = 0.0 if self._last_t is None else t - self._last_t
        self._last_t = t
        if dt > p.max_gap:
            for obj in self.objects:
                obj.ended = "gap"
            self._tracks.clear()
        observed_dt = dt if dt <= p.gap_threshold else 0.0
        ended += self._drop_ended()

        self._record_tracks(detections, t)
        for obj in self.objects:
            obj.seen = False
        claimed = np.zeros(len(detections), dtype=bool)
        self._follow_bound_tracks(detections, t, claimed)
        self._confirm_from_spot(detections, t, claimed, image)
        created = self._settle_new_rests(detections, t, claimed, image)
        self._follow_appearance(t, image)
        self._count_absence(detections, t, observed_dt)
        ended += self._drop_ended()
        return RestingUpdate(list(self.objects), ended, created)

    def end_all(self, reason: str = "stopped") -> list[RestingObject]:
        """End every object (the source ended or a restart lost them); returns them."""
        for obj in self.objects:
            obj.ended = reason
        return self._drop_ended()

    # -- tracks ---------------------------------------------------------------------------------------------

    def _record_tracks(self, detections: Detections, t: float) -> None:
        ground = detections.ground_points()
        for i, track_id in enumerate(detections.tracker_id):
            if track_id < 0:
                continue
            track = self._tracks.setdefault(int(track_id), _Track())
            track.t.append(t)
            track.points.append(ground[i])
            track.boxes.append(detections.xyxy[i])
            while track.t and track.t[0] < t - self.params.history:
                track.t.popleft()
                track.points.popleft()
                track.boxes.popleft()
        stale = [k for k, tr in self._tracks.items() if not tr.t or tr.t[-1] < t - self.params.forget_after]
        for k in stale:
            del self._tracks[k]

    def _radius(self, xyxy: np.ndarray) -> float:
        return max(self.params.min_radius_px, self.params.radius * float(min(xyxy[2] - xyxy[0], xyxy[3] - xyxy[1])))

    def _rest_start(self, track_id: int) -> tuple[int, bool] | None:
        """(index where the track's rest began, whether it drove in from elsewhere), or None if not resting.

        Walks back from the newest point while points stay within the radius of where the track is now; one stray
        point (a box cut short by something passing) does not end the walk, two in a row do.
        """
        track = self._tracks.get(track_id)
        if not track or len(track.t) < MIN_REST_SAMPLES:
            return None
        points = np.asarray(track.points)
        here = points[-1]
        radius = self._radius(track.boxes[-1])
        outside = np.hypot(*(points - here).T) > radius
        start = len(points) - 1
        while start > 0 and not (outside[start - 1] and (start < 2 or outside[start - 2])):
            start -= 1
        if outside[start]:
            start += 1
        if len(points) - start < MIN_REST_SAMPLES or track.t[-1] - track.t[start] < self.params.rest_window:
            return None
        arrived = bool(start > 0 and (np.hypot(*(points[:start] - here).T) > 3 * radius).any())
        return start, arrived

    def _is_moving(self, track_id: int) -> bool:
        track = self._tracks.get(track_id)
        if not track or len(track.t) < 2:
            return False
        recent = [i for i, ti in enumerate(track.t) if ti >= track.t[-1] - 2.0]
        points = np.asarray(track.points)[recent[0]:]
        return bool(np.median(np.hypot(*(points - points[-1]).T)) > self._radius(track.boxes[-1]))

    def _drove_in(self, track_id: int) -> bool:
        rest = self._rest_start(track_id)
        if rest is not None:
            return rest[1]
        track = self._tracks.get(track_id)
        if not track:
            return False
        points = np.asarray(track.points)
        return bool((np.hypot(*(points - points[-1]).T) > 3 * self._radius(track.boxes[-1])).any())

    # -- confirming objects ---------------------------------------------------------------------------------

    def _follow_bound_tracks(self, detections: Detections, t: float, claimed: np.ndarray) -> None:
        """A resting object's own track either confirms it or has moved off the spot."""
        row_of = {int(tid): i for i, tid in enumerate(detections.tracker_id) if tid >= 0}
        for obj in self.objects:
            i = row_of.get(obj.track_id) if obj.track_id is not None else None
            if i is None:
                continue
            box = detections.xyxy[i]
            cut_short = box_coverage(box, obj.xyxy)[0, 0] >= 0.7  # something in front hides part of it
            if cut_short or box_iou(box, obj.xyxy)[0, 0] >= self.params.leave_iou:
                self._confirm(obj, detections, i, t)
                claimed[i] = True
            else:
                obj.track_id = None
                obj.left_at = t

    def _confirm_from_spot(
        self, detections: Detections, t: float, claimed: np.ndarray, image: np.ndarray | None
    ) -> None:
        """Any still detection on an object's spot confirms it, unless it drove in or looks different."""
        waiting = [o for o in self.objects if not o.seen]
        if not waiting or not len(detections):
            return
        bound = {o.track_id for o in self.objects if o.track_id is not None}
        iou = box_iou(np.stack([o.xyxy for o in waiting]), detections.xyxy)
        for oi in np.argsort(-iou.max(axis=1)):
            obj = waiting[oi]
            for i in np.argsort(-iou[oi]):
                if iou[oi, i] < self.params.spot_iou:
                    break
                track_id = int(detections.tracker_id[i])
                if claimed[i] or not _compatible(obj.category, detections.category[i]) or track_id in bound:
                    continue
                if track_id >= 0 and (self._is_moving(track_id) or self._drove_in(track_id)):
                    continue
                if track_id >= 0 and self._looks_different(obj, detections.xyxy[i], image):
                    continue
                self._confirm(obj, detections, i, t)
                claimed[i] = True
                if track_id >= 0:
                    obj.track_id = track_id
                    bound.add(track_id)
                break

    def _settle_new_rests(
        self, detections: Detections, t: float, claimed: np.ndarray, image: np.ndarray | None
    ) -> list[RestingObject]:
        """Tracks that have just come to rest: the old object back on its spot, or a new one."""
        created = []
        for i in np.flatnonzero(~claimed & (detections.tracker_id >= 0)):
            category = detections.category[i]
            if category in NOT_RESTING or (self.params.categories and category not in self.params.categories):
                continue
            track_id = int(detections.tracker_id[i])
            rest = self._rest_start(track_id)
            if rest is None:
                continue
            start, arrived = rest
            track = self._tracks[track_id]
            rest_box = np.median(np.asarray(track.boxes)[start:], axis=0).astype(np.float32)
            if self._duplicate_of_seen(rest_box, category):
                continue
            previous = self._object_on_spot(rest_box, category)
            if previous is not None:
                spot_seen_empty = previous.left_at is not None or previous.absent_s >= self.params.spot_empty
                different = self._looks_different(previous, detections.xyxy[i], image)
                if not different and not (arrived and spot_seen_empty):
                    previous.track_id = track_id
                    self._confirm(previous, detections, i, t)
                    claimed[i] = True
                    continue
                previous.ended = "replaced"
            obj = RestingObject(
                object_id=self._next_id,
                category=category,
                xyxy=rest_box,
                since_t=float(track.t[start]),
                last_seen_t=t,
                score=float(detections.confidence[i]),
                last_xyxy=detections.xyxy[i].copy(),
                track_id=track_id,
                appearance=_appearance(image, rest_box),
                appearance_t=t,
            )
            self._next_id += 1
            self._confirm(obj, detections, i, t)
            claimed[i] = True
            self.objects.append(obj)
            created.append(obj)
        return created

    def _duplicate_of_seen(self, xyxy: np.ndarray, category: str) -> bool:
        """A second box on an object already confirmed this frame (say "car" and "truck" on one vehicle)."""
        return any(
            obj.seen and _compatible(obj.category, category) and box_iou(xyxy, obj.xyxy)[0, 0] >= 0.7
            for obj in self.objects
        )

    def _object_on_spot(self, xyxy: np.ndarray, category: str) -> RestingObject | None:
        """The unconfirmed object whose spot this box takes: overlapping it, or covering it almost whole with its
        bottom edge on the same ground line (a bigger vehicle parked where a smaller one was; a bus stopping in front
        has its bottom edge nearer the camera)."""
        best, best_iou = None, 0.0
        for obj in self.objects:
            if obj.seen or obj.ended or not _compatible(obj.category, category):
                continue
            overlap = box_iou(xyxy, obj.xyxy)[0, 0]
            same_ground = abs(xyxy[3] - obj.xyxy[3]) <= 0.15 * (obj.xyxy[3] - obj.xyxy[1])
            on_spot = overlap >= self.params.spot_iou or (same_ground and box_coverage(obj.xyxy, xyxy)[0, 0] >= 0.8)
            if on_spot and overlap > best_iou:
                best, best_iou = obj, overlap
        return best

    def _looks_different(self, obj: RestingObject, xyxy: np.ndarray, image: np.ndarray | None) -> bool:
        area = lambda b: max(float((b[2] - b[0]) * (b[3] - b[1])), 1.0)  # noqa: E731
        ratio = area(xyxy) / area(obj.xyxy)
        if min(ratio, 1 / ratio) < self.params.min_size_ratio:
            return True
        current = _appearance(image, xyxy)
        if current is None or obj.appearance is None:
            return False
        distance = cv2.compareHist(obj.appearance, current, cv2.HISTCMP_BHATTACHARYYA)
        return distance > self.params.appearance_distance

    def _follow_appearance(self, t: float, image: np.ndarray | None) -> None:
        """Blend in the current look of confirmed objects now and then, so slow light changes are followed."""
        for obj in self.objects:
            if not obj.seen or image is None or t - obj.appearance_t < APPEARANCE_EVERY_S:
                continue
            current = _appearance(image, obj.xyxy)
            if current is not None:
                blended = current if obj.appearance is None else 0.7 * obj.appearance + 0.3 * current
                obj.appearance = cv2.normalize(blended, blended).flatten()
                obj.appearance_t = t

    def _confirm(self, obj: RestingObject, detections: Detections, i: int, t: float) -> None:
        obj.seen = True
        obj.last_seen_t = t
        obj.absent_s = 0.0
        obj.occluded = False
        obj.left_at = None
        obj.score = float(detections.confidence[i])
        obj.last_xyxy = detections.xyxy[i].copy()
        obj.class_votes[str(detections.class_name[i])] += 1
        others = np.delete(detections.xyxy, i, axis=0)
        cover = float(box_coverage(obj.xyxy, others).max()) if len(others) else 0.0
        obj.baseline_cover = 0.8 * obj.baseline_cover + 0.2 * cover

    # -- absence ------------------------------------------------------------------------------------------------

    def _count_absence(self, detections: Detections, t: float, observed_dt: float) -> None:
        p = self.params
        for obj in self.objects:
            if obj.seen:
                continue
            obj.occluded = self._occluded(obj, detections, t)
            if not obj.occluded:
                obj.absent_s += observed_dt
            if obj.left_at is not None and t - obj.left_at >= p.leave_confirm:
                obj.ended = "left"
            elif obj.absent_s >= p.forget_after:
                obj.ended = "absent"

    def _occluded(self, obj: RestingObject, detections: Detections, t: float) -> bool:
        """Something new stands in front of the spot (and not for longer than ``max_gap``)."""
        if not len(detections) or obj.left_at is not None or t - obj.last_seen_t > self.params.max_gap:
            return False
        height = obj.xyxy[3] - obj.xyxy[1]
        in_front = detections.xyxy[:, 3] > obj.xyxy[3] + 0.1 * height
        cover = box_coverage(obj.xyxy, detections.xyxy)[0] * in_front
        needed = max(self.params.occlusion_cover, obj.baseline_cover + self.params.occlusion_rise)
        return bool(cover.max() >= needed)

    def _drop_ended(self) -> list[RestingObject]:
        ended = [o for o in self.objects if o.ended]
        if ended:
            self.objects = [o for o in self.objects if not o.ended]
        return ended


def _compatible(a: str, b: str) -> bool:
    return _COMPATIBLE.get(a, a) == _COMPATIBLE.get(b, b)


def _appearance(image: np.ndarray | None, xyxy: np.ndarray) -> np.ndarray | None:
    """Hue-saturation histogram of the box's inner part: stable under dimming light, different between cars."""
    if image is None:
        return None
    x1, y1, x2, y2 = xyxy
    w, h = x2 - x1, y2 - y1
    x1, x2 = int(max(x1 + 0.15 * w, 0)), int(min(x2 - 0.15 * w, image.shape[1]))
    y1, y2 = int(max(y1 + 0.15 * h, 0)), int(min(y2 - 0.15 * h, image.shape[0]))
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    hsv = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [18, 8], [0, 180, 0, 256])
    return cv2.normalize(hist, hist).flatten()
