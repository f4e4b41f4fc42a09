"""The three rules: which resting objects, in which zones, are violations right now.

- ``sidewalk_parking``: a resting object of a vehicle category (``rules.sidewalk_parking``, default ``vehicle``:
  car, truck, bus) whose ground point is in a ``sidewalk`` zone.
- ``misparked_bike``: a resting bicycle in a ``monitored_area`` or ``sidewalk`` zone and outside every
  ``bike_parking`` zone.
- ``street_vending``: a vending set-up resting in a ``no_vending`` zone. A custom model's ``stall`` classes count
  directly. With COCO classes a set-up is recognised from its parts: an umbrella or a table at rest (the
  *anchor*), with the chairs, benches and cart-like two-wheelers resting next to it, and a person attending it
  (one who stays within the set-up's reach for ``rules.vending_linger``; passers-by do not count). A bench or
  chair alone, a person alone, or an umbrella nobody attends is not vending.

One object gives at most one violation per rule: the first matching zone in config order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from contracts.names import MISPARKED_BIKE, SIDEWALK_PARKING, STREET_VENDING
from detector.boxes import boxes_overlap, enclosing_box, expand_box
from detector.detections import Detections
from detector.resting import RestingObject
from models.taxonomy import BICYCLE, PERSON, SEAT, STALL, STALL_FIXTURE, TWO_WHEELER
from zones.config import RuleSettings
from zones.geometry import ZoneShape

VENDING_PARTS = frozenset({STALL, STALL_FIXTURE, SEAT, TWO_WHEELER, BICYCLE})
VENDING_REACH = 0.5  # parts within this share of the anchor's size belong to its set-up
ATTEND_REACH = 0.5  # a person within this share of the set-up's size of it is near it
ATTEND_GAP_S = 10.0  # a person out of reach (or unseen) this long has left; their stay starts over


@dataclass
class Violation:
    """One object breaking one rule in one zone, as seen in the current frame."""

    rule: str
    zone_id: str
    object_id: str
    class_name: str
    xyxy: np.ndarray
    since_t: float
    last_seen_t: float
    absent_s: float
    score: float
    in_view: bool = True  # its spot lies in the frame (detector.resting.RestingObject.in_view)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.zone_id, self.rule, self.object_id

    def to_state(self) -> dict:
        return {**self.__dict__, "xyxy": [float(v) for v in np.asarray(self.xyxy).reshape(4)]}

    @classmethod
    def from_state(cls, state: dict) -> Violation:
        return cls(**{**state, "xyxy": np.asarray(state["xyxy"], dtype=np.float32)})


class RuleBook:
    """The rules of one camera, applied to its resting objects each frame."""

    def __init__(self, zones: list[ZoneShape], settings: RuleSettings):
        self.settings = settings
        self.sidewalks = [z for z in zones if z.type == "sidewalk"]
        self.bike_areas = [z for z in zones if z.type in ("monitored_area", "sidewalk")]
        self.bike_parking = [z for z in zones if z.type == "bike_parking"]
        self.no_vending = [z for z in zones if z.type == "no_vending"]
        self._people: dict[int, deque[tuple[float, np.ndarray]]] = {}  # person track -> recent (t, box)
        self._attended: dict[int, tuple[float, np.ndarray]] = {}  # anchor id -> (since, the attendant's box)

    def violations(self, objects: list[RestingObject], detections: Detections, t: float) -> list[Violation]:
        """Which resting ``objects`` break which rule in which zone on the frame at ``t`` (``detections``: the
        whole frame's, to see who attends a vending set-up): at most one violation per object and rule."""
        found = []
        for obj in objects:
            if obj.category in self.settings.sidewalk_parking:
                found += self._first_zone(SIDEWALK_PARKING, obj, self.sidewalks)
            if obj.category in self.settings.misparked_bike and not any(
                z.contains_ground(obj.xyxy) for z in self.bike_parking
            ):
                found += self._first_zone(MISPARKED_BIKE, obj, self.bike_areas)
        if self.no_vending:
            found += self._vending(objects, detections, t)
        return found

    def snapshot(self) -> dict:
        """Who attended which set-up and the persons seen lately, as plain JSON-able data."""
        return {"attended": [[k, since, box.tolist()] for k, (since, box) in self._attended.items()]}

    def restore(self, state: dict) -> None:
        self._attended.update({int(k): (float(since), np.asarray(box, dtype=np.float32))
                               for k, since, box in state["attended"]})

    def forget(self, ended: list[RestingObject]) -> None:
        for obj in ended:
            self._attended.pop(obj.object_id, None)

    @staticmethod
    def _first_zone(rule: str, obj: RestingObject, zones: list[ZoneShape], xyxy=None) -> list[Violation]:
        xyxy = obj.xyxy if xyxy is None else xyxy
        for zone in zones:
            if zone.contains_ground(xyxy):
                return [_violation(rule, zone.id, obj)]
        return []

    def _vending(self, objects: list[RestingObject], detections: Detections, t: float) -> list[Violation]:
        self._remember_people(detections, t)
        found = []
        for group in _setups([o for o in objects if o.category in VENDING_PARTS]):
            anchors = [o for o in group if o.category in (STALL, STALL_FIXTURE)]
            anchor = min(anchors, key=lambda o: o.object_id)  # the oldest anchor names the set-up
            setup = enclosing_box([m.xyxy for m in group])
            stalls = [o for o in anchors if o.category == STALL]
            if stalls:
                since = min(o.since_t for o in stalls)
            else:
                attended = self._attendance(anchor, setup, t)
                if attended is None:
                    continue
                # the attendant stands on the ground by the stall: an umbrella's canopy floats above it
                since, attendant = attended
                setup = enclosing_box([setup, attendant])
            for violation in self._first_zone(STREET_VENDING, anchor, self.no_vending, setup):
                violation.xyxy = setup
                violation.since_t = since
                violation.class_name = stalls[0].class_name if stalls else "vending_setup"
                found.append(violation)
        return found

    def _remember_people(self, detections: Detections, t: float) -> None:
        """Keep each tracked person's boxes long enough to see who stays by a set-up."""
        people = detections[(detections.category == PERSON) & (detections.tracker_id >= 0)]
        for track_id, box in zip(people.tracker_id, people.xyxy, strict=True):
            self._people.setdefault(int(track_id), deque()).append((t, box))
        keep = self.settings.vending_linger + ATTEND_GAP_S + 30.0
        for track_id in list(self._people):
            samples = self._people[track_id]
            while samples and samples[0][0] < t - keep:
                samples.popleft()
            if not samples:
                del self._people[track_id]

    def _attendance(self, anchor: RestingObject, setup: np.ndarray, t: float) -> tuple[float, np.ndarray] | None:
        """(since when, where) someone has attended this set-up: a person whose box has stayed within its reach
        (breaks shorter than ``ATTEND_GAP_S`` allowed) for ``rules.vending_linger``. None while nobody has."""
        if anchor.object_id in self._attended:
            return self._attended[anchor.object_id]
        reach = expand_box(setup, ATTEND_REACH)
        for samples in self._people.values():
            stay_start = stay_end = None
            for seen_t, box in reversed(samples):
                if not boxes_overlap(box, reach) or (stay_start or t) - seen_t > ATTEND_GAP_S:
                    break
                stay_start, stay_end = seen_t, stay_end or seen_t
            if stay_start is not None and stay_end - stay_start >= self.settings.vending_linger:
                self._attended[anchor.object_id] = (max(stay_start, anchor.since_t), samples[-1][1].copy())
                return self._attended[anchor.object_id]
        return None


def _setups(parts: list[RestingObject]) -> list[list[RestingObject]]:
    """Group vending parts into set-ups: each anchor (stall, umbrella, table) with the parts within its reach;
    set-ups that share a part are one. Parts near no anchor are left out."""
    groups: list[list[RestingObject]] = []
    for anchor in (o for o in parts if o.category in (STALL, STALL_FIXTURE)):
        reach = expand_box(anchor.xyxy, VENDING_REACH)
        members = {id(o): o for o in parts if o is anchor or boxes_overlap(o.xyxy, reach)}
        for group in [g for g in groups if any(id(o) in members for o in g)]:
            members.update({id(o): o for o in group})
            groups.remove(group)
        groups.append(list(members.values()))
    return groups


def _violation(rule: str, zone_id: str, obj: RestingObject) -> Violation:
    return Violation(rule, zone_id, str(obj.object_id), obj.class_name, obj.xyxy, obj.since_t, obj.last_seen_t,
                     obj.absent_s, obj.score, obj.in_view)
