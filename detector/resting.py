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
absence clocks; a gap longer than ``max_gap`` ends every object, because nobody saw what happened meanwhile. An
object whose spot a shifted view carried mostly out of the frame cannot be seen either: it waits the same way (no
absence counted, not warned) and ends after ``max_gap`` out of view.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields

import numpy as np

from detector.appearance import appearance, appearance_distance, blend
from detector.boxes import box_area, box_coverage, box_iou
from detector.detections import Detections
from detector.track_history import TrackHistory
from detector.view import reanchor_boxes

NOT_RESTING = frozenset({"person", "other"})
_COMPATIBLE = {"two_wheeler": "bicycle"}  # classes a detector confuses with each other share an identity


@dataclass(frozen=True)
class RestingParams:
    rest_window: float = 5.0  # seconds a track must stay within the radius to be resting
    radius: float = 0.15  # rest radius as a share of the box's smaller side
    min_radius_px: float = 3.0  # the rest radius of a small (far) box is at least this many pixels
    spot_iou: float = 0.5  # a detection overlapping a spot this much is on it
    leave_iou: float = 0.3  # a bound track overlapping its spot less than this has moved off
    leave_confirm: float = 3.0  # seconds a spot must stay unconfirmed after its track moved off
    spot_empty: float = 3.0  # seconds of absence after which a newcomer is not the old object
    occlusion_cover: float = 0.35  # share of the spot an occluder must cover ...
    occlusion_rise: float = 0.2  # ... and this much more than its usual cover
    forget_after: float = 30.0  # seconds of absence after which an object is gone
    max_gap: float = 120.0  # seconds: a gap in the video, or an occlusion, longer than this ends every object
    in_view: float = 0.5  # share of a spot that must lie inside the frame for the object to be seen
    gap_threshold: float = 5.0  # a frame interval longer than this is a gap in the video
    appearance_distance: float = 0.45  # Bhattacharyya distance above which two crops are different objects
    min_size_ratio: float = 0.55  # area ratio below which two boxes are different objects
    history: float = 120.0  # seconds of track history kept
    appearance_every: float = 10.0  # seconds between blending a confirmed object's current look into its stored one
    cut_short_cover: float = 0.7  # a bound track's box this much inside its spot is the object, cut short in front
    duplicate_iou: float = 0.7  # a second box overlapping an object confirmed this frame this much is that object
    nested_cover: float = 0.9  # ... or lying this much inside it on its ground line
    same_ground: float = 0.15  # bottom edges closer than this share of the spot's height stand on one ground line
    takeover_cover: float = 0.8  # share of a spot a box on its ground line must cover to take it over (a bigger car)
    in_front: float = 0.1  # share of the spot's height an occluder's bottom edge must be nearer the camera
    cover_weight: float = 0.2  # weight of the latest frame in the running average of how much of a spot others cover
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
    in_view: bool = True  # its spot lies in the frame (a shifted view can carry it out)

    @property
    def class_name(self) -> str:
        return self.class_votes.most_common(1)[0][0] if self.class_votes else self.category

    def to_state(self) -> dict:
        """Plain JSON-able fields. The track id is left out: track ids mean nothing to the next process's tracker."""
        plain = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "track_id"}
        return {k: v.tolist() if isinstance(v, np.ndarray) else dict(v) if isinstance(v, Counter) else v
                for k, v in plain.items()}

    @classmethod
    def from_state(cls, state: dict) -> RestingObject:
        arrays = {k: np.asarray(state[k], dtype=np.float32) for k in ("xyxy", "last_xyxy", "appearance")
                  if state.get(k) is not None}
        return cls(**{**state, **arrays, "class_votes": Counter(state.get("class_votes", {}))})


@dataclass
class RestingUpdate:
    active: list[RestingObject]
    ended: list[RestingObject]
    created: list[RestingObject]


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
        p = self.params
        self.tracks = TrackHistory(p.rest_window, p.radius, p.min_radius_px, p.history, p.forget_after)
        self._next_id = first_object_id
        self._last_t: float | None = None
        self._rest_since_of_row: dict[int, float] = {}  # this frame's detections that confirmed a resting object

    @property
    def next_object_id(self) -> int:
        """The id the next object to come to rest will get."""
        return self._next_id

    def update(self, detections: Detections, t: float, image: np.ndarray | None = None) -> RestingUpdate:
        """Take the tracked detections of the frame at media time ``t`` (``image``: its pixels, for the objects'
        looks); return the objects at rest now (``active``), those that came to rest on this frame (``created``)
        and those that ended (left, or a gap longer than ``max_gap``). An object keeps its id across missed
        detections, occlusions and tracker id switches while it stays on its spot."""
        p = self.params
        ended: list[RestingObject] = []
        dt = 0.0 if self._last_t is None else t - self._last_t
        self._last_t = t
        if dt > p.max_gap:
            for obj in self.objects:
                obj.ended = "gap"
            self.tracks.clear()
        observed_dt = dt if dt <= p.gap_threshold else 0.0
        ended += self._drop_ended()

        self.tracks.record(detections, t)
        for obj in self.objects:
            obj.seen = False
        self._rest_since_of_row = {}
        claimed = np.zeros(len(detections), dtype=bool)
        self._follow_bound_tracks(detections, t, claimed)
        self._confirm_from_spot(detections, t, claimed, image)
        created = self._settle_new_rests(detections, t, claimed, image)
        self._follow_appearance(t, image)
        frame = None if image is None else [0, 0, image.shape[1], image.shape[0]]
        self._count_absence(detections, t, observed_dt, frame)
        ended += self._drop_ended()
        return RestingUpdate(list(self.objects), ended, created)

    def snapshot(self) -> dict:
        """The memory as plain JSON-able data, to outlive a restart (see ``restore``)."""
        return {"next_id": self._next_id, "last_t": self._last_t, "objects": [o.to_state() for o in self.objects]}

    def restore(self, state: dict) -> None:
        """Take up a ``snapshot``: the objects keep their ids, spots, looks and rest starts; tracks start anew, and
        the next frame re-finds each object on its spot. A gap since ``last_t`` longer than ``max_gap`` still ends
        them all, as any gap does."""
        self._next_id = max(self._next_id, int(state["next_id"]))
        self._last_t = state["last_t"]
        self.objects = [RestingObject.from_state(o) for o in state["objects"]]
        self.tracks.clear()

    def reanchor(self, homography: np.ndarray) -> None:
        """The camera's view shifted: move every object's spot and last box, and the tracks' histories, through
        ``homography`` (pixels of the view they were seen in to the current view's); ids and timers go on."""
        for obj in self.objects:
            obj.xyxy = reanchor_boxes(obj.xyxy, homography)[0].astype(np.float32)
            obj.last_xyxy = reanchor_boxes(obj.last_xyxy, homography)[0].astype(np.float32)
        self.tracks.reanchor(homography)

    # -- confirming objects ---------------------------------------------------------------------------------

    def _follow_bound_tracks(self, detections: Detections, t: float, claimed: np.ndarray) -> None:
        """A resting object's own track either confirms it or has moved off the spot."""
        row_of = {int(tid): i for i, tid in enumerate(detections.tracker_id) if tid >= 0}
        for obj in self.objects:
            i = row_of.get(obj.track_id) if obj.track_id is not None else None
            if i is None:
                continue
            box = detections.xyxy[i]
            cut_short = box_coverage(box, obj.xyxy)[0, 0] >= self.params.cut_short_cover  # hidden in part
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
                if track_id >= 0 and (self.tracks.is_moving(track_id) or self.tracks.drove_in(track_id)):
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
        candidates = np.flatnonzero(~claimed & (detections.tracker_id >= 0))
        larger_first = np.argsort(-box_area(detections.xyxy[candidates]), kind="stable")  # a box before one inside it
        for i in candidates[larger_first]:
            category = detections.category[i]
            if category in NOT_RESTING or (self.params.categories and category not in self.params.categories):
                continue
            track_id = int(detections.tracker_id[i])
            rest = self.tracks.rest(track_id)
            if rest is None or self._duplicate_of_seen(rest.box, category):
                continue
            previous = self._object_on_spot(rest.box, category)
            if previous is not None:
                spot_seen_empty = previous.left_at is not None or previous.absent_s >= self.params.spot_empty
                different = self._looks_different(previous, detections.xyxy[i], image)
                if not different and not (rest.drove_in and spot_seen_empty):
                    previous.track_id = track_id
                    self._confirm(previous, detections, i, t)
                    claimed[i] = True
                    continue
                previous.ended = "replaced"
            obj = RestingObject(
                object_id=self._next_id,
                category=category,
                xyxy=rest.box,
                since_t=rest.since_t,
                last_seen_t=t,
                score=float(detections.confidence[i]),
                last_xyxy=detections.xyxy[i].copy(),
                track_id=track_id,
                appearance=appearance(image, rest.box),
                appearance_t=t,
            )
            self._next_id += 1
            self._confirm(obj, detections, i, t)
            claimed[i] = True
            self.objects.append(obj)
            created.append(obj)
        return created

    def _duplicate_of_seen(self, xyxy: np.ndarray, category: str) -> bool:
        """A second box on an object already confirmed this frame: overlapping it (say "car" and "truck" on one
        vehicle), or lying inside it on its ground line (a bicycle's front half boxed again). Another object behind
        it would stand farther back, its bottom edge higher in the frame."""
        p = self.params
        for obj in self.objects:
            if not obj.seen or not _compatible(obj.category, category):
                continue
            same_ground = abs(xyxy[3] - obj.xyxy[3]) <= p.same_ground * (obj.xyxy[3] - obj.xyxy[1])
            if box_iou(xyxy, obj.xyxy)[0, 0] >= p.duplicate_iou or (
                    same_ground and box_coverage(xyxy, obj.xyxy)[0, 0] >= p.nested_cover):
                return True
        return False

    def _object_on_spot(self, xyxy: np.ndarray, category: str) -> RestingObject | None:
        """The unconfirmed object whose spot this box takes: overlapping it, or covering it almost whole with its
        bottom edge on the same ground line (a bigger vehicle parked where a smaller one was; a bus stopping in front
        has its bottom edge nearer the camera)."""
        p = self.params
        best, best_iou = None, 0.0
        for obj in self.objects:
            if obj.seen or obj.ended or not _compatible(obj.category, category):
                continue
            overlap = box_iou(xyxy, obj.xyxy)[0, 0]
            same_ground = abs(xyxy[3] - obj.xyxy[3]) <= p.same_ground * (obj.xyxy[3] - obj.xyxy[1])
            on_spot = overlap >= p.spot_iou or (same_ground and box_coverage(obj.xyxy, xyxy)[0, 0] >= p.takeover_cover)
            if on_spot and overlap > best_iou:
                best, best_iou = obj, overlap
        return best

    def _looks_different(self, obj: RestingObject, xyxy: np.ndarray, image: np.ndarray | None) -> bool:
        ratio = max(float(box_area(xyxy)), 1.0) / max(float(box_area(obj.xyxy)), 1.0)
        if min(ratio, 1 / ratio) < self.params.min_size_ratio:
            return True
        current = appearance(image, xyxy)
        if current is None or obj.appearance is None:
            return False
        return appearance_distance(obj.appearance, current) > self.params.appearance_distance

    def _follow_appearance(self, t: float, image: np.ndarray | None) -> None:
        """Blend in the current look of confirmed objects now and then, so slow light changes are followed."""
        for obj in self.objects:
            if not obj.seen or image is None or t - obj.appearance_t < self.params.appearance_every:
                continue
            current = appearance(image, obj.xyxy)
            if current is not None:
                obj.appearance = blend(obj.appearance, current)
                obj.appearance_t = t

    def _confirm(self, obj: RestingObject, detections: Detections, i: int, t: float) -> None:
        self._rest_since_of_row[i] = obj.since_t
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
        weight = self.params.cover_weight
        obj.baseline_cover = (1 - weight) * obj.baseline_cover + weight * cover

    # -- absence ------------------------------------------------------------------------------------------------

    def _count_absence(self, detections: Detections, t: float, observed_dt: float, frame: list[int] | None) -> None:
        """Absence of the objects not confirmed in this frame (``frame``: its box, None when the pixels are not
        given)."""
        p = self.params
        for obj in self.objects:
            obj.in_view = obj.seen or frame is None or box_coverage(obj.xyxy, frame)[0, 0] >= p.in_view
            if obj.seen:
                continue
            if not obj.in_view:  # nobody sees the spot, as in a gap in the video
                if t - obj.last_seen_t > p.max_gap:
                    obj.ended = "gap"
                continue
            obj.occluded = self._occluded(obj, detections, t)
            if not obj.occluded:
                obj.absent_s += observed_dt
            if obj.left_at is not None and t - obj.left_at >= p.leave_confirm:
                obj.ended = "left"
            elif obj.absent_s >= p.forget_after:
                obj.ended = "absent"

    def _occluded(self, obj: RestingObject, detections: Detections, t: float) -> bool:
        """Something new stands in front of the spot.

        Passing traffic hides a spot for up to ``max_gap``; a vehicle that stopped in front when the object was
        last seen (itself a resting object since then) hides it for as long as it stays.
        """
        if not len(detections) or obj.left_at is not None:
            return False
        height = obj.xyxy[3] - obj.xyxy[1]
        in_front = detections.xyxy[:, 3] > obj.xyxy[3] + self.params.in_front * height
        cover = box_coverage(obj.xyxy, detections.xyxy)[0] * in_front
        needed = max(self.params.occlusion_cover, obj.baseline_cover + self.params.occlusion_rise)
        hiding = np.flatnonzero(cover >= needed)
        if t - obj.last_seen_t <= self.params.max_gap:
            return bool(len(hiding))
        stopped_in_front = self.params.rest_window + self.params.spot_empty
        return any(self._rest_since_of_row.get(int(i), np.inf) <= obj.last_seen_t + stopped_in_front for i in hiding)

    def _drop_ended(self) -> list[RestingObject]:
        ended = [o for o in self.objects if o.ended]
        if ended:
            self.objects = [o for o in self.objects if not o.ended]
        return ended


def _compatible(a: str, b: str) -> bool:
    return _COMPATIBLE.get(a, a) == _COMPATIBLE.get(b, b)
