"""Score predicted events against scenario ground truth.

Matching: a predicted ``warn`` matches a ground-truth object that should be warned when it is on the same camera,
zone and rule, its box overlaps the object's box at rest (IoU >= ``min_iou``; where the camera's aim put that box
in the frame at the event's time, ``evaluation.aim``) and its time is within ``tolerance``
seconds of the expected warn (rest start + warn_after). Pairs are taken closest in time first; each object and each
event is used once. An unmatched warn on an object that already has its warn is a *duplicate*; any other unmatched
warn is a *false alarm* (attributed, for diagnosis, to the ground-truth object it overlaps, if any).

For each matched warn, the ``clear`` with the same camera, zone and object id is compared with the expected clear
(the object's last moment on its spot).

Patrol scenarios (``GeoTruthScenario``: moving cameras, DESIGN.md "Patrol and aerial cameras") are matched by
camera, zone, rule, *position* (the event's ``lon``/``lat`` within ``radius`` metres of the object, WGS84
geodesic) and *wall time* (its ``ts`` within ``tolerance`` seconds of the expected sighting) instead of box and
media time; their times are seconds of wall time after the first pass started. A warn without ``lon``, ``lat`` or
a ``ts`` with its offset cannot match there. Reported per rule and overall: precision, recall and F1 of warn events
(duplicates count against precision), warn-time and clear-time error (predicted minus expected: median and worst),
duplicates, false alarms and false alarms per camera-hour.

Scenarios of several recordings of one camera (``"kind": "recordings"``, the repeat offender) are matched on wall
time: each event's ``t`` is taken from its ``ts`` (seconds after the truth's ``origin``; an event without a ``ts``
with its offset cannot match). Where the truth gives a warn's ``plate`` and ``action``, the matched warn's are
checked: plates right, null (not read) or wrong; actions right, wrong or missed (no action: a null plate climbs no
ladder, or the warn itself was missed).

Example:
    >>> scores = score_events([], [])
    >>> scores.overall.f1 is None
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np

from contracts.names import RULES
from detector.boxes import box_iou
from evaluation.aim import frame_box
from evaluation.events_io import GeoTruthObject, GeoTruthScenario, TruthObject, TruthScenario
from events.record import Event
from geo import distance_m

GEO_RADIUS_M = 5.0  # how far a patrol event's position may be from its object and still match
PLATE_VERDICTS = ("right", "null", "wrong")
ACTION_VERDICTS = ("right", "wrong", "missed")


@dataclass
class RuleScore:
    rule: str
    expected: int = 0
    matched: int = 0
    duplicates: int = 0
    false_alarms: int = 0
    missed_clears: int = 0
    spurious_clears: int = 0
    warn_errors: list[float] = field(default_factory=list)
    clear_errors: list[float] = field(default_factory=list)
    position_errors: list[float] = field(default_factory=list)  # metres, matched warns of moving cameras
    camera_hours: float = 0.0
    plates: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PLATE_VERDICTS, 0))
    actions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTION_VERDICTS, 0))

    @property
    def predicted(self) -> int:
        return self.matched + self.duplicates + self.false_alarms

    @property
    def precision(self) -> float | None:
        return self.matched / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.expected if self.expected else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None and r is None:
            return None
        p, r = p or 0.0, r or 0.0
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_alarms_per_hour(self) -> float | None:
        return self.false_alarms / self.camera_hours if self.camera_hours else None

    def add(self, other: RuleScore) -> None:
        for name in ("expected", "matched", "duplicates", "false_alarms", "missed_clears", "spurious_clears"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.warn_errors += other.warn_errors
        self.clear_errors += other.clear_errors
        self.position_errors += other.position_errors
        for mine, theirs in ((self.plates, other.plates), (self.actions, other.actions)):
            for verdict, count in theirs.items():
                mine[verdict] += count

    def summary(self) -> dict:
        return {
            "rule": self.rule, "expected": self.expected, "predicted": self.predicted, "matched": self.matched,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "warn_error_median": median(self.warn_errors), "warn_error_worst": worst(self.warn_errors),
            "clear_error_median": median(self.clear_errors), "clear_error_worst": worst(self.clear_errors),
            "duplicates": self.duplicates, "false_alarms": self.false_alarms,
            "false_alarms_per_camera_hour": self.false_alarms_per_hour,
            "missed_clears": self.missed_clears, "spurious_clears": self.spurious_clears,
            "position_error_median": median(self.position_errors),
            "position_error_p95": percentile(self.position_errors, 95),
            "plates": dict(self.plates), "actions": dict(self.actions),
        }


@dataclass
class Outcome:
    """What happened to one ground-truth object, or to one unmatched event."""

    scenario: str
    object_id: str | None
    rule: str | None
    expected_warn: float | None
    warn: float | None
    expected_clear: float | None
    clear: float | None
    verdict: str  # ok, missed, no event (ok), duplicate, false alarm, missed clear, spurious clear
    event_id: str | None = None
    plate: str | None = None  # right, null or wrong, where the truth gives the warn's plate
    action: str | None = None  # right, wrong or missed, where the truth gives its action


@dataclass
class EventScores:
    rules: dict[str, RuleScore]
    overall: RuleScore
    outcomes: list[Outcome]
    camera_hours: float
    ignored_events: int  # events on cameras that are not in the ground truth

    def to_json(self) -> dict:
        return {
            "camera_hours": self.camera_hours,
            "ignored_events": self.ignored_events,
            "rules": [r.summary() for r in self.rules.values()],
            "overall": self.overall.summary(),
            "outcomes": [asdict(o) for o in self.outcomes],
        }


def median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def worst(values: list[float]) -> float | None:
    """The error farthest from zero, with its sign."""
    return float(max(values, key=abs)) if values else None


def score_events(truth: list[TruthScenario | GeoTruthScenario], events: list[Event], tolerance: float = 60.0,
                 min_iou: float = 0.3, radius: float = GEO_RADIUS_M) -> EventScores:
    cameras = {s.camera_id: s for s in truth}
    hours = sum(s.duration for s in truth) / 3600.0
    rules = _rule_names(truth, events)
    scores = {rule: RuleScore(rule, camera_hours=hours) for rule in rules}
    outcomes: list[Outcome] = []
    for scenario in truth:
        mine = [e for e in events if e.camera_id == scenario.camera_id]
        if isinstance(scenario, GeoTruthScenario):
            outcomes += _score_geo_camera(scenario, mine, scores, tolerance, radius)
        else:
            outcomes += _score_camera(scenario, _on_wall_clock(scenario, mine), scores, tolerance, min_iou)
    overall = RuleScore("overall", camera_hours=hours)
    for score in scores.values():
        overall.add(score)
    ignored = sum(1 for e in events if e.camera_id not in cameras)
    return EventScores(scores, overall, outcomes, hours, ignored)


def _rule_names(truth: list[TruthScenario | GeoTruthScenario], events: list[Event]) -> list[str]:
    cameras = {s.camera_id for s in truth}
    present = {o.rule for s in truth for o in s.objects if o.rule and o.warn is not None}
    present |= {e.rule for e in events if e.type == "warn" and e.camera_id in cameras}
    return [r for r in RULES if r in present]


def _score_camera(scenario: TruthScenario, events: list[Event], scores: dict[str, RuleScore],
                  tolerance: float, min_iou: float) -> list[Outcome]:
    warns = [e for e in events if e.type == "warn"]
    clears = [e for e in events if e.type == "clear"]
    due = [o for o in scenario.objects if o.warn is not None]
    pairs = _match(due, warns, tolerance, min_iou, scenario.aim)
    matched_events = {id(e) for e in pairs.values()}
    outcomes = _tally(scenario, due, pairs, scores,
                      lambda obj, event, score: _matched_outcome(scenario, obj, event, clears, score))
    _missed_actions(due, pairs, scores, outcomes)
    for event in warns:
        if id(event) in matched_events:
            continue
        owner = _owner(scenario, event, min_iou)
        duplicate = owner is not None and owner.id in pairs and _same_place(owner, event, min_iou, scenario.aim)
        if duplicate:
            scores[event.rule].duplicates += 1
        else:
            scores[event.rule].false_alarms += 1
        outcomes.append(Outcome(scenario.name, owner.id if owner else None, event.rule,
                                owner.warn if owner else None, event.t, None, None,
                                "duplicate" if duplicate else "false alarm", event.event_id))
    warned_objects = {o.id for o in scenario.objects if o.warn is not None}
    for obj in scenario.objects:
        if obj.id not in warned_objects and not any(o.object_id == obj.id for o in outcomes):
            outcomes.append(Outcome(scenario.name, obj.id, obj.rule, None, None, None, None, "no event (ok)"))
    return outcomes


def _tally(scenario: TruthScenario | GeoTruthScenario, due: list, pairs: dict[str, Event],
           scores: dict[str, RuleScore], matched_outcome) -> list[Outcome]:
    """Count each object due a warn into its rule's score: missed, or matched with what ``matched_outcome(obj,
    event, score)`` makes of it (its errors and its clear)."""
    outcomes = []
    for obj in due:
        score = scores[obj.rule]
        score.expected += 1
        event = pairs.get(obj.id)
        if event is None:
            outcomes.append(Outcome(scenario.name, obj.id, obj.rule, obj.warn, None, obj.clear, None, "missed"))
            continue
        score.matched += 1
        outcomes.append(matched_outcome(obj, event, score))
    return outcomes


def _match(due: list[TruthObject], warns: list[Event], tolerance: float,
           min_iou: float, aim: tuple = ()) -> dict[str, Event]:
    """Object id -> its warn: candidate pairs closest in time first, each object and event used once."""
    candidates = []
    for obj in due:
        for k, event in enumerate(warns):
            if _same_place(obj, event, min_iou, aim) and abs(event.t - obj.warn) <= tolerance:
                candidates.append((abs(event.t - obj.warn), obj.id, k))
    return _pair_up(candidates, warns)


def _pair_up(candidates: list[tuple[float, str, int]], warns: list[Event]) -> dict[str, Event]:
    """(time error, object id, warn index) candidates -> object id -> warn, closest first, each used once."""
    pairs: dict[str, Event] = {}
    used: set[int] = set()
    for _, object_id, k in sorted(candidates):
        if object_id not in pairs and k not in used:
            pairs[object_id] = warns[k]
            used.add(k)
    return pairs


def _same_place(obj: TruthObject, event: Event, min_iou: float, aim: tuple = ()) -> bool:
    return obj.zone == event.zone_id and obj.rule == event.rule \
        and _iou(frame_box(aim, event.t, obj.box), event.bbox) >= min_iou


def _owner(scenario: TruthScenario, event: Event, min_iou: float) -> TruthObject | None:
    """The ground-truth object an unmatched event is about: the one its box overlaps most while it rests."""
    best, best_iou = None, min_iou
    for obj in scenario.objects:
        end = scenario.duration if obj.rest_end is None else obj.rest_end
        if not obj.rest_start <= event.t <= end + 60.0:
            continue
        iou = _iou(frame_box(scenario.aim, event.t, obj.box), event.bbox)
        if iou >= best_iou:
            best, best_iou = obj, iou
    return best


def _matched_outcome(scenario: TruthScenario, obj: TruthObject, warn: Event, clears: list[Event],
                     score: RuleScore) -> Outcome:
    """A matched warn: its time error, and its clear (or the one that should have come)."""
    score.warn_errors.append(warn.t - obj.warn)
    clear = next((c for c in clears if c.zone_id == warn.zone_id and c.object_id == warn.object_id), None)
    clear_t = clear.t if clear else None
    verdict = _clear_verdict(obj.clear, clear_t, score)
    plate, action = _ladder_verdicts(obj, warn, score)
    return Outcome(scenario.name, obj.id, obj.rule, obj.warn, warn.t, obj.clear, clear_t, verdict, warn.event_id,
                   plate, action)


def _clear_verdict(expected: float | None, found: float | None, score: RuleScore) -> str:
    """Count a warned object's clear (expected at ``expected``, found at ``found``; None: none) into ``score``."""
    if expected is not None and found is None:
        score.missed_clears += 1
        return "missed clear"
    if expected is None and found is not None:
        score.spurious_clears += 1
        return "spurious clear"
    if found is not None:
        score.clear_errors.append(found - expected)
    return "ok"


def _on_wall_clock(scenario: TruthScenario, events: list[Event]) -> list[Event]:
    """``events`` as they are, or (a scenario of several recordings) with ``t`` the seconds of their ``ts`` after
    the truth's origin; NaN, which matches nothing, without a ``ts`` with its offset."""
    if scenario.origin is None:
        return events
    return [e.model_copy(update={"t": _seconds_after(scenario.origin, e.ts)}) for e in events]


def _seconds_after(origin: datetime, ts: str | None) -> float:
    try:
        when = datetime.fromisoformat(ts) if ts else None
    except ValueError:
        when = None
    if when is None or when.utcoffset() is None:
        return float("nan")
    return (when - origin).total_seconds()


def _ladder_verdicts(obj: TruthObject, warn: Event, score: RuleScore) -> tuple[str | None, str | None]:
    """A matched warn's plate (right, null, wrong) and action (right, wrong, missed) where the truth gives them."""
    plate = action = None
    if obj.plate is not None:
        plate = "null" if warn.plate is None else "right" if warn.plate == obj.plate else "wrong"
        score.plates[plate] += 1
    if obj.action is not None:
        action = "missed" if warn.action is None else "right" if warn.action == obj.action else "wrong"
        score.actions[action] += 1
    return plate, action


def _missed_actions(due: list[TruthObject], pairs: dict[str, Event], scores: dict[str, RuleScore],
                    outcomes: list[Outcome]) -> None:
    """A missed warn that should have carried an action misses its action too."""
    for obj, outcome in zip(due, outcomes, strict=True):
        if obj.action is not None and obj.id not in pairs:
            scores[obj.rule].actions["missed"] += 1
            outcome.action = "missed"


def _iou(a, b) -> float:
    return float(box_iou(np.asarray(a), np.asarray(b))[0, 0])


# -- patrol scenarios: position and wall time -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Placed:
    """A patrol event where and when it says it happened: seconds after the scenario's origin, lon, lat."""

    event: Event
    t: float
    lon: float
    lat: float


def _placed(scenario: GeoTruthScenario, event: Event) -> _Placed | None:
    lon, lat = event.lon, event.lat
    if lon is None or lat is None or not event.ts:
        return None
    try:
        when = datetime.fromisoformat(event.ts)
        if when.utcoffset() is None:
            return None
        return _Placed(event, scenario.seconds(when), float(lon), float(lat))
    except (TypeError, ValueError):
        return None


def _distance(obj: GeoTruthObject, placed: _Placed) -> float:
    return distance_m(obj.lon, obj.lat, placed.lon, placed.lat)


def _near(obj: GeoTruthObject, placed: _Placed, radius: float) -> bool:
    return obj.zone == placed.event.zone_id and obj.rule == placed.event.rule and _distance(obj, placed) <= radius


def _score_geo_camera(scenario: GeoTruthScenario, events: list[Event], scores: dict[str, RuleScore],
                      tolerance: float, radius: float) -> list[Outcome]:
    warns = [e for e in events if e.type == "warn"]
    placed = [_placed(scenario, e) for e in warns]
    clears = [p for e in events if e.type == "clear" and (p := _placed(scenario, e)) is not None]
    due = [o for o in scenario.objects if o.warn is not None]
    candidates = [(abs(p.t - obj.warn), obj.id, k) for obj in due for k, p in enumerate(placed)
                  if p is not None and _near(obj, p, radius) and abs(p.t - obj.warn) <= tolerance]
    pairs = _pair_up(candidates, warns)
    where = {id(p.event): p for p in placed if p is not None}
    outcomes = _tally(scenario, due, pairs, scores,
                      lambda obj, event, score: _geo_matched_outcome(scenario, obj, where[id(event)], clears, score))
    matched = {id(e) for e in pairs.values()}
    for event, spot in zip(warns, placed, strict=True):
        if id(event) in matched:
            continue
        owner = _geo_owner(scenario, spot, radius) if spot is not None else None
        # a second warn after the object's matched one; one before it (a look-alike, a hidden spot) is a false alarm
        duplicate = owner is not None and owner.id in pairs and spot.t >= where[id(pairs[owner.id])].t
        if duplicate:
            scores[event.rule].duplicates += 1
        else:
            scores[event.rule].false_alarms += 1
        outcomes.append(Outcome(scenario.name, owner.id if owner else None, event.rule,
                                owner.warn if owner else None, spot.t if spot else None, None, None,
                                "duplicate" if duplicate else "false alarm", event.event_id))
    for obj in scenario.objects:
        if obj.warn is None and not any(o.object_id == obj.id for o in outcomes):
            outcomes.append(Outcome(scenario.name, obj.id, obj.rule, None, None, None, None, "no event (ok)"))
    return outcomes


def _geo_owner(scenario: GeoTruthScenario, spot: _Placed, radius: float) -> GeoTruthObject | None:
    """The object an unmatched patrol warn is about: the nearest one within ``radius`` in its zone, preferring
    one standing there on the event's pass (a look-alike on a spot is another object than the one before it)."""
    near = [o for o in scenario.objects if _near(o, spot, radius)]
    on_pass = scenario.pass_at(spot.t)
    present = [o for o in near if on_pass in o.present] or near
    return min(present, key=lambda o: _distance(o, spot), default=None)


def _geo_matched_outcome(scenario: GeoTruthScenario, obj: GeoTruthObject, warn: _Placed, clears: list[_Placed],
                         score: RuleScore) -> Outcome:
    """A matched patrol warn: its time and position errors, and its clear."""
    score.warn_errors.append(warn.t - obj.warn)
    score.position_errors.append(_distance(obj, warn))
    clear = next((c for c in clears if c.event.zone_id == warn.event.zone_id
                  and c.event.object_id == warn.event.object_id), None)
    clear_t = clear.t if clear else None
    return Outcome(scenario.name, obj.id, obj.rule, obj.warn, warn.t, obj.clear, clear_t,
                   _clear_verdict(obj.clear, clear_t, score), warn.event.event_id)
