"""The rules of a moving camera, frame by frame: tracked objects placed on the map -> sightings; marked spots in
view -> spot views; both -> the chalk book (``zones.chalk``), which says what to warn, clear or drop.

- A track becomes a *sighting* when it ends (unseen for ``end_after`` seconds, or the recording ends) if it was
  seen in one violation zone on at least ``patrol.min_frames`` frames and stood still there (its positions within
  ``patrol.match_radius`` of their median): a car driving past is no sighting. Its position is that median, its
  time the frame of its best photo.
- A marked spot is *seen* on a frame when it lies in the camera's footprint within ``patrol.trust_range`` and no
  box covers it (the object itself or something in front of it would). When the spot leaves the footprint, the
  visit is over: seen on ``min_frames`` frames and mostly seen -> ``seen`` (empty); else ``hidden``. A mark
  chalked during a visit is not judged by that visit.

Example:
    >>> from geo import LocalFrame
    >>> walk = ZoneConfig(id="walk", type="sidewalk", geo_polygon=[(120.6700, 28.0000), (120.6710, 28.0000),
    ...                                                            (120.6710, 28.0001), (120.6700, 28.0001)])
    >>> zones = GeoZones([walk], LocalFrame(120.6700, 28.0000), RuleSettings())
    >>> zones.violation("vehicle", 20.0, 5.0), zones.violation("vehicle", 20.0, 50.0)
    (('sidewalk_parking', 'walk'), None)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import shapely
from shapely.geometry import Polygon

from contracts.names import MISPARKED_BIKE, SIDEWALK_PARKING, STREET_VENDING
from geo import LocalFrame
from models.taxonomy import STALL
from zones.chalk import ChalkBook, ChalkChange, Sighting, SpotView
from zones.config import RuleSettings, ZoneConfig
from zones.config_geo import PatrolSettings

MOSTLY_SEEN = 0.7  # a visit whose spot was clear on this share of its frames saw it empty


@dataclass(frozen=True)
class Placement:
    """A tracked detection placed on the map in one frame: ``xy`` metres east/north in the recording's map frame,
    ``lonlat`` the same point in degrees, ``width_m`` the width of its box's bottom on the ground."""

    track_id: int
    class_name: str
    category: str
    xyxy: tuple[float, float, float, float]
    score: float
    xy: tuple[float, float]
    lonlat: tuple[float, float]
    width_m: float | None = None
    look: np.ndarray | None = field(default=None, compare=False)


class MapTracker:
    """Track ids by place on the map: a moving camera sweeps a parked car across the picture hundreds of pixels a
    frame, but on the ground it stays put. Each placement joins the nearest track of its category last placed within
    ``link_radius`` metres (and ``keep_s`` seconds), else starts a new one; moving objects keep starting new tracks,
    which never stand still long enough to become sightings.

    >>> tracker = MapTracker(link_radius=2.5)
    >>> car = Placement(-1, "car", "vehicle", (0, 0, 10, 10), 0.9, (10.0, 5.0), (120.67, 28.0))
    >>> [p.track_id for p in tracker.update([car], 0.0)], [p.track_id for p in tracker.update([car], 0.2)]
    ([1], [1])
    """

    def __init__(self, link_radius: float = 2.5, keep_s: float = 2.0):
        self.link_radius, self.keep_s = link_radius, keep_s
        self._tracks: dict[int, tuple[float, float, float, str]] = {}  # id -> x, y, last t, category
        self._next_id = 1

    def update(self, placements: list[Placement], t: float) -> list[Placement]:
        self._tracks = {k: v for k, v in self._tracks.items() if t - v[2] <= self.keep_s}
        pairs = sorted((float(np.hypot(p.xy[0] - x, p.xy[1] - y)), i, k)
                       for i, p in enumerate(placements) for k, (x, y, _, category) in self._tracks.items()
                       if category == p.category)
        given: dict[int, int] = {}
        taken: set[int] = set()
        for distance, i, k in pairs:  # nearest first, each track and placement once
            if distance <= self.link_radius and i not in given and k not in taken:
                given[i] = k
                taken.add(k)
        linked = []
        for i, p in enumerate(placements):
            if i not in given:
                given[i] = self._next_id
                self._next_id += 1
            self._tracks[given[i]] = (*p.xy, t, p.category)
            linked.append(replace(p, track_id=given[i]))
        return linked


class GeoZones:
    """A moving camera's zones on the map, in one recording's metric frame."""

    def __init__(self, zones: list[ZoneConfig], frame: LocalFrame, rules: RuleSettings):
        self.frame, self.rules = frame, rules
        self.zones = zones
        self.outlines: dict[str, np.ndarray] = {}
        self._shapes: dict[str, Polygon] = {}
        for zone in zones:
            lon, lat = np.asarray(zone.geo_polygon, dtype=float).T
            outline = np.column_stack(frame.to_xy(lon, lat))
            self.outlines[zone.id] = outline
            self._shapes[zone.id] = Polygon(outline)
            shapely.prepare(self._shapes[zone.id])

    def of_type(self, *types: str) -> list[str]:
        return [z.id for z in self.zones if z.type in types]

    def contains(self, zone_id: str, x: float, y: float) -> bool:
        return bool(shapely.intersects_xy(self._shapes[zone_id], x, y))

    def ignored(self, x: float, y: float) -> bool:
        return any(self.contains(z, x, y) for z in self.of_type("ignore"))

    def violation(self, category: str, x: float, y: float) -> tuple[str, str] | None:
        """(rule, zone id) of an object of ``category`` standing at ``x, y``, or None: the first zone in config
        order, as for fixed cameras."""
        if category in self.rules.sidewalk_parking:
            zone = next((z for z in self.of_type("sidewalk") if self.contains(z, x, y)), None)
            if zone is not None:
                return SIDEWALK_PARKING, zone
        if category in self.rules.misparked_bike and not any(
                self.contains(z, x, y) for z in self.of_type("bike_parking")):
            zone = next((z for z in self.of_type("monitored_area", "sidewalk") if self.contains(z, x, y)), None)
            if zone is not None:
                return MISPARKED_BIKE, zone
        if category == STALL:
            zone = next((z for z in self.of_type("no_vending") if self.contains(z, x, y)), None)
            if zone is not None:
                return STREET_VENDING, zone
        return None


@dataclass
class _TrackLog:
    """What one track did in the zones during this recording."""

    rule_zone: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, zone) -> frames seen there
    points: list[tuple[float, float, float, float]] = field(default_factory=list)  # x, y, lon, lat in a zone
    widths: list[float] = field(default_factory=list)
    best: tuple[float, float, Placement] | None = None  # (quality, t, placement) of its best frame
    last_t: float = 0.0


@dataclass
class _Visit:
    """One marked spot's time in the footprint during this recording."""

    since: datetime
    seen: int = 0
    covered: int = 0
    judged: bool = True  # False for marks chalked during this visit
    first_seen_t: float | None = None


SpotCheck = Callable[[float, float], Literal["seen", "hidden"] | None]  # map x, y -> in view? (None: not)
PlateRead = Callable[[int, str], tuple[str | None, float | None]]  # track id, rule -> its plate (text, score)


class PassWatch:
    """One recording of a moving camera, frame by frame. ``update`` returns the chalk book's changes and, for the
    photos, which tracks' best frame and which marks' first empty view this frame is. ``clock`` gives the wall
    time of a media time; ``empty_since[mark]`` the media time a visit that cleared a mark first saw it empty.
    ``read_plate`` gives the plate of a track about to become a sighting (before it is matched to the marks)."""

    def __init__(self, camera_id: str, recording: str, zones: GeoZones, book: ChalkBook, settings: PatrolSettings,
                 clock: Callable[[float], datetime], end_after: float = 2.0, read_plate: PlateRead | None = None):
        self.camera_id, self.recording = camera_id, recording
        self.zones, self.book, self.settings = zones, book, settings
        self.clock, self.end_after, self.read_plate = clock, end_after, read_plate
        self.empty_since: dict[str, float] = {}
        self._tracks: dict[int, _TrackLog] = {}
        self._visits: dict[str, _Visit] = {}
        self._mark_xy: dict[str, tuple[float, float]] = {}

    def update(self, t: float, placements: list[Placement], spot: SpotCheck) -> tuple[list[ChalkChange], list[int],
                                                                                        list[str]]:
        """Feed one frame; returns (changes, tracks whose best photo is this frame, marks first seen empty now)."""
        best_now = self._log(t, placements)
        ended = [k for k, log in self._tracks.items() if t - log.last_t > self.end_after]
        sightings = [s for s in (self._sighting(k) for k in ended) if s is not None]
        views, empty_now = self._watch(t, spot)
        changes = self.book.pass_over(sightings, views)
        self._unjudge_new_marks(changes, t)
        return changes, best_now, empty_now

    def finish(self, t: float) -> list[ChalkChange]:
        """The recording ended: every track becomes a sighting or nothing, every visit is judged."""
        sightings = [s for s in (self._sighting(k) for k in list(self._tracks)) if s is not None]
        views = {m: v for m, v in ((m, self._judge(m, visit)) for m, visit in self._visits.items()) if v is not None}
        self._visits.clear()
        return self.book.pass_over(sightings, views)

    def _log(self, t: float, placements: list[Placement]) -> list[int]:
        best_now = []
        for p in placements:
            log = self._tracks.setdefault(p.track_id, _TrackLog())
            log.last_t = t
            found = self.zones.violation(p.category, *p.xy)
            if found is None:
                continue
            log.rule_zone[found] = log.rule_zone.get(found, 0) + 1
            log.points.append((*p.xy, *p.lonlat))
            if p.width_m is not None:
                log.widths.append(p.width_m)
            quality = (p.xyxy[2] - p.xyxy[0]) * (p.xyxy[3] - p.xyxy[1]) * p.score
            if log.best is None or quality > log.best[0]:
                log.best = (quality, t, p)
                best_now.append(p.track_id)
        return best_now

    def _sighting(self, track_id: int) -> Sighting | None:
        log = self._tracks.pop(track_id)
        if not log.rule_zone or log.best is None:
            return None
        (rule, zone_id), frames = max(log.rule_zone.items(), key=lambda item: item[1])
        points = np.asarray(log.points)
        median = np.median(points, axis=0)
        spread = np.hypot(*(points[:, :2] - median[:2]).T).max()
        if frames < self.settings.min_frames or spread > self.settings.match_radius:
            return None  # glimpsed, or moving: not resting
        _, best_t, best = log.best
        plate, plate_score = self.read_plate(track_id, rule) if self.read_plate is not None else (None, None)
        return Sighting(self.camera_id, zone_id, rule, best.class_name, float(median[2]), float(median[3]),
                        self.clock(best_t), best_t, self.recording,
                        width_m=float(np.median(log.widths)) if log.widths else None, look=best.look,
                        plate=plate, plate_score=plate_score, error_m=self.settings.gps_error, bbox=best.xyxy,
                        score=round(best.score, 3), spread_m=round(float(spread), 2), track_id=track_id)

    def _watch(self, t: float, spot: SpotCheck) -> tuple[dict[str, SpotView], list[str]]:
        views, empty_now = {}, []
        for mark_id, mark in self.book.marks.items():
            if mark_id not in self._mark_xy:
                self._mark_xy[mark_id] = tuple(float(v) for v in self.zones.frame.to_xy(mark.last.lon, mark.last.lat))
            state = spot(*self._mark_xy[mark_id])
            visit = self._visits.get(mark_id)
            if state is None:
                if visit is not None:
                    view = self._judge(mark_id, self._visits.pop(mark_id))
                    if view is not None:
                        views[mark_id] = view
                continue
            if visit is None:
                visit = self._visits[mark_id] = _Visit(self.clock(t))
            if state == "seen":
                visit.seen += 1
                if visit.first_seen_t is None:
                    visit.first_seen_t = t
                    empty_now.append(mark_id)
            else:
                visit.covered += 1
        return views, empty_now

    def _judge(self, mark_id: str, visit: _Visit) -> SpotView | None:
        if not visit.judged:
            return None
        frames = visit.seen + visit.covered
        if visit.seen >= self.settings.min_frames and visit.seen >= MOSTLY_SEEN * frames:
            self.empty_since[mark_id] = visit.first_seen_t
            return SpotView("seen", visit.since)
        return SpotView("hidden", visit.since)

    def _unjudge_new_marks(self, changes: list[ChalkChange], t: float) -> None:
        for change in changes:
            if change.kind == "chalk":
                self._visits[change.mark.mark_id] = _Visit(self.clock(t), judged=False)
                self._mark_xy.pop(change.mark.mark_id, None)
            elif change.kind in ("clear", "drop"):
                self._visits.pop(change.mark.mark_id, None)
                self._mark_xy.pop(change.mark.mark_id, None)

def wall_clock(start: datetime) -> Callable[[float], datetime]:
    """Media time -> wall time of a recording that started at ``start``."""
    return lambda t: start + timedelta(seconds=t)
