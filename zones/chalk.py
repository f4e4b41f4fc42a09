"""Digital chalking: the dwell rule of moving cameras (DESIGN.md, "Patrol and aerial cameras").

A patrol camera cannot watch a spot for 8 minutes, so it remembers where each object stood (a *chalk mark*) and
looks again on a later pass:

- a sighting that matches no mark chalks a new one (``chalk``);
- a sighting that matches a mark at least ``warn_after`` after the mark was chalked warns it (``warn``), once;
- a pass that had the mark's spot in view (inside the camera's footprint, at a range it can trust, not hidden behind
  another object) and saw nothing there ends the mark: ``clear`` for a warned one, ``drop`` for an unwarned one;
- a sighting of a *different* object on a marked spot (another plate, another look or size) ends the old mark in
  the same way and chalks the newcomer: a look-alike on the same spot never inherits the old chalk;
- a spot the pass did not see (outside the footprint, hidden behind a bus) changes nothing.

The chalk clock is wall time (``ts``, from the GPS), because passes may be separate recordings days apart.

Example:
    >>> from dataclasses import replace
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2026, 11, 22, 8, 0)
    >>> car = Sighting("patrol-07", "east-pavement", "sidewalk_parking", "car", 120.67120, 28.00110, t0, 12.0, "a")
    >>> book = ChalkBook(ChalkParams(warn_after=480))
    >>> [c.kind for c in book.pass_over([car], {})]
    ['chalk']
    >>> later = replace(car, ts=t0 + timedelta(minutes=9), t=30.0, recording="b")
    >>> [(c.kind, c.dwell_s) for c in book.pass_over([later], {})]
    [('warn', 540.0)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np

from detector.appearance import appearance_distance
from geo import distance_m as geodesic_m

ChalkKind = Literal["chalk", "warn", "clear", "drop"]


@dataclass(frozen=True)
class ChalkParams:
    """How sightings are matched to chalk marks."""

    warn_after: float = 480.0  # seconds of wall time between the chalk and the sighting that warns
    match_radius: float = 3.0  # metres (``patrol.match_radius``); the sightings' own GPS errors are added to it
    max_size_ratio: float = 1.5  # a larger ground width / a smaller one above this is another object
    max_appearance: float = 0.5  # Bhattacharyya distance of the looks above which it is another object
    forget_after: float = 7 * 86400.0  # seconds: a mark not seen again for this long is dropped


@dataclass(frozen=True)
class SpotView:
    """What a pass saw of a marked spot while it was in view, from ``since`` on.

    ``seen``: the spot was inside the footprint at a trusted range and not hidden; ``hidden``: something stood in
    front of it; ``unseen``: it was never in the footprint.
    """

    kind: Literal["seen", "hidden", "unseen"]
    since: datetime


@dataclass(frozen=True)
class Sighting:
    """One object resting in a geo zone, as one pass of a moving camera saw it.

    ``lon``/``lat`` are its ground position (the median over the pass), ``ts`` the wall time it was seen, ``t``
    and ``recording`` where it is in which video. ``width_m`` is its ground width, ``look`` a colour histogram
    (``detector.appearance``), ``plate`` the plate text where one was read (voted over the pass's views of it;
    ``plate_score`` the vote's, ``plate_crop`` the photo of the plate region, also when it was not read).
    """

    camera_id: str
    zone_id: str
    rule: str
    class_name: str
    lon: float
    lat: float
    ts: datetime
    t: float
    recording: str
    width_m: float | None = None
    look: np.ndarray | None = field(default=None, compare=False)
    plate: str | None = None
    plate_score: float | None = None
    plate_crop: str | None = None
    error_m: float = 0.0  # how far off the position may be (GPS and projection)
    snapshot: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    score: float = 0.0
    spread_m: float = 0.0  # how far its positions during the pass lay from their median (how steady it was placed)
    track_id: int | None = field(default=None, compare=False)  # the tracker's id in its pass (finds its photo)


@dataclass
class ChalkMark:
    """A spot where an object was seen resting, and the sightings of it since."""

    mark_id: str
    first: Sighting
    last: Sighting
    warned: bool = False

    @property
    def zone_id(self) -> str:
        return self.first.zone_id

    @property
    def read(self) -> Sighting | None:
        """The latest sighting of the mark whose plate was read (a pass may not read it: too far, at an angle)."""
        return next((s for s in (self.last, self.first) if s.plate), None)


@dataclass(frozen=True)
class ChalkChange:
    """What a pass changed about one mark. ``sighting`` is the new sighting (``chalk``, ``warn``) or ``None``."""

    kind: ChalkKind
    mark: ChalkMark
    sighting: Sighting | None = None

    @property
    def dwell_s(self) -> float:
        """The stay seen so far: from the chalk to the newest sighting (a lower bound of the real stay)."""
        return (self.mark.last.ts - self.mark.first.ts).total_seconds()


def distance_m(a: Sighting, b: Sighting) -> float:
    """Ground distance between two sightings, in metres (WGS84 geodesic)."""
    return geodesic_m(a.lon, a.lat, b.lon, b.lat)


def same_object(mark: ChalkMark, sighting: Sighting, params: ChalkParams) -> bool:
    """Whether ``sighting`` is the object of ``mark``: same zone and rule, within the match radius, same class,
    and nothing that says otherwise (plates both read and different, sizes or looks too far apart)."""
    seen, read = mark.last, mark.read
    if (seen.zone_id, seen.rule, seen.class_name) != (sighting.zone_id, sighting.rule, sighting.class_name):
        return False
    if distance_m(seen, sighting) > params.match_radius + seen.error_m + sighting.error_m:
        return False
    if read is not None and sighting.plate:
        return read.plate == sighting.plate  # a plate read twice is the strongest evidence either way
    if seen.width_m and sighting.width_m:
        ratio = max(seen.width_m, sighting.width_m) / min(seen.width_m, sighting.width_m)
        if ratio > params.max_size_ratio:
            return False
    if seen.look is not None and sighting.look is not None:
        return appearance_distance(seen.look, sighting.look) <= params.max_appearance
    return True


def on_same_spot(mark: ChalkMark, sighting: Sighting, params: ChalkParams) -> bool:
    """Whether ``sighting`` stands where ``mark`` is (whatever it is)."""
    return (mark.zone_id == sighting.zone_id and mark.last.rule == sighting.rule
            and distance_m(mark.last, sighting) <= params.match_radius + mark.last.error_m + sighting.error_m)


class ChalkBook:
    """The chalk marks of one camera (or of every camera sharing a street), updated one pass at a time.
    ``warn_after``: per zone id, where a zone's own setting differs from ``params.warn_after``."""

    def __init__(self, params: ChalkParams, marks: Iterable[ChalkMark] = (), next_id: int = 1,
                 warn_after: Mapping[str, float] | None = None):
        self.params = params
        self.warn_after = dict(warn_after or {})
        self.marks: dict[str, ChalkMark] = {m.mark_id: m for m in marks}
        self.next_id = next_id

    def pass_over(self, sightings: list[Sighting], views: Mapping[str, SpotView]) -> list[ChalkChange]:
        """Apply what a pass found: its sightings, and what it saw of marked spots (``views``: mark id -> view; a
        mark missing from ``views`` was not seen). A spot seen empty ends its mark unless the mark was sighted since
        the view began. Returns the changes in the order they happened."""
        changes: list[ChalkChange] = []
        matched: set[str] = set()
        for sighting in sorted(sightings, key=lambda s: s.ts):
            mark = self._match(sighting, matched)
            if mark is not None:
                matched.add(mark.mark_id)
                changes += self._sighted(mark, sighting)
                continue
            for other in self._occupied_by_stranger(sighting, matched):
                matched.add(other.mark_id)
                changes.append(self._end(other))
            changes.append(self._chalk(sighting))
            matched.add(changes[-1].mark.mark_id)
        for mark in list(self.marks.values()):
            view = views.get(mark.mark_id)
            if view and view.kind == "seen" and mark.mark_id not in matched and mark.last.ts < view.since:
                changes.append(self._end(mark))
        return changes

    def forget_older_than(self, now: datetime) -> list[ChalkMark]:
        """Drop marks nobody has seen for ``forget_after``; returns them."""
        stale = [m for m in self.marks.values() if (now - m.last.ts).total_seconds() > self.params.forget_after]
        for mark in stale:
            del self.marks[mark.mark_id]
        return stale

    def _match(self, sighting: Sighting, taken: set[str]) -> ChalkMark | None:
        candidates = [m for m in self.marks.values()
                      if m.mark_id not in taken and same_object(m, sighting, self.params)]
        return min(candidates, key=lambda m: distance_m(m.last, sighting), default=None)

    def _occupied_by_stranger(self, sighting: Sighting, taken: set[str]) -> list[ChalkMark]:
        return [m for m in self.marks.values() if m.mark_id not in taken and on_same_spot(m, sighting, self.params)]

    def _sighted(self, mark: ChalkMark, sighting: Sighting) -> list[ChalkChange]:
        mark.last = sighting
        limit = self.warn_after.get(mark.zone_id, self.params.warn_after)
        due = (sighting.ts - mark.first.ts).total_seconds() >= limit
        if due and not mark.warned:
            mark.warned = True
            return [ChalkChange("warn", mark, sighting)]
        return []

    def _chalk(self, sighting: Sighting) -> ChalkChange:
        mark = ChalkMark(f"m{self.next_id}", sighting, sighting)
        self.next_id += 1
        self.marks[mark.mark_id] = mark
        return ChalkChange("chalk", mark, sighting)

    def _end(self, mark: ChalkMark) -> ChalkChange:
        del self.marks[mark.mark_id]
        return ChalkChange("clear" if mark.warned else "drop", mark)

