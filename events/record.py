"""The event record: the JSON line of DESIGN.md, one per state change worth telling anyone about.

``Event`` is the one model of that line: the recorder builds it, the store keeps it, the scorer and the review app
read it. Reading ignores keys it does not know (DESIGN.md: later fields may be present) and refuses a missing key
or a wrong type.

Example:
    >>> line = ('{"event_id": "c/z/1/warn", "type": "warn", "rule": "sidewalk_parking", "camera_id": "c", '
    ...         '"zone_id": "z", "object_id": "1", "class": "car", "t": 542.0, "ts": null, "since_t": 62.0, '
    ...         '"dwell_s": 480.0, "bbox": [1, 2, 3, 4], "score": 0.9, "evidence": {}, "plate": null}')
    >>> event = Event.model_validate_json(line)
    >>> event.class_name, event.bbox
    ('car', [1.0, 2.0, 3.0, 4.0])
    >>> list(event.to_json())[6]
    'class'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.names import EventType, Rule
from zones.dwell import StateChange

if TYPE_CHECKING:
    from detector.view import ViewState

Box = Annotated[list[float], Field(min_length=4, max_length=4)]  # x1, y1, x2, y2 in pixels


class SightingRecord(BaseModel):
    """One sighting of a moving camera's chalked object: when, where, and its photo."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    t: float | None  # media time in its recording; None when it was in another recording than the event
    ts: str | None
    lon: float
    lat: float
    snapshot: str | None = None


class ViewRecord(BaseModel):
    """A fixed camera's view when the event was made (docs/CAMERA_MOVES.md): ``ok``, ``shifted`` (the zones were
    re-anchored) or ``moved`` (the timers waited), and how far the frame's corners were off the reference view."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    state: str  # ok | shifted | moved
    displacement_px: float | None = None  # median corner displacement; None: no homography (moved)
    preset: str | None = None  # the PTZ preset shown (None: no presets, or moved off every preset)

    @classmethod
    def of(cls, view: ViewState, preset: str | None = None) -> ViewRecord:
        """The record of a camera's current ``ViewState`` (showing ``preset``)."""
        moved = view.homography is None
        return cls(state=view.state, displacement_px=None if moved else round(view.displacement_px, 1),
                   preset=preset)


class Event(BaseModel):
    """One DESIGN.md event line; the field order is the key order of the JSON line."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    event_id: str
    type: EventType
    rule: Rule
    camera_id: str
    zone_id: str
    object_id: str
    class_name: str = Field(alias="class")  # ``class`` is a keyword in Python
    t: float
    ts: str | None
    since_t: float | None  # None: the rest began in another recording (a moving camera's earlier pass)
    dwell_s: float
    bbox: Box
    score: float
    evidence: dict[str, str]
    # the second wave (DESIGN.md): absent in older lines, present (possibly null) in every line written now
    since_ts: str | None = None  # wall time of since_t (a moving camera: of the first sighting)
    lon: float | None = None  # where: the object's ground position (moving cameras), else the camera's ``geo``
    lat: float | None = None
    sightings: list[SightingRecord] | None = None  # moving cameras: the chalk sighting and the one that warned
    # plates and repeat offences (DESIGN.md): vehicles whose plate was read; null when it was not
    plate: str | None = None  # the voted plate, normalised ("京E·MC139"); never a guess
    plate_score: float | None = None  # the vote's score, 0-1
    offence: int | None = None  # warns: the how-many-th warn of this plate within enforcement.lookback
    action: str | None = None  # warns: the enforcement.ladder step of ``offence``, or "exempt"
    # responsibility units (DESIGN.md): who answers for the place, {district, grid, road}
    unit: dict[str, str | None] | None = None
    # cameras that move (docs/CAMERA_MOVES.md): a fixed camera's view when the event was made; null when unchecked
    view: ViewRecord | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of DESIGN.md, keys in DESIGN.md's order (``class``, not ``class_name``)."""
        return self.model_dump(by_alias=True)


def event_id(camera_id: str, zone_id: str, object_id: str, kind: str) -> str:
    """Stable id: the same object in the same zone gives the same id on every replay and restart."""
    return f"{camera_id}/{zone_id}/{object_id}/{kind}"


def event_from_change(change: StateChange, camera_id: str, origin: datetime | None,
                      evidence: dict[str, str], where: tuple[float, float] | None = None,
                      view: ViewRecord | None = None) -> Event:
    """The event of a ``warn``, ``escalate`` or ``clear`` change of a fixed camera, with its saved evidence photos,
    the camera's position (``where``: its ``geo``), if known, and its ``view`` when it is checked."""
    ts = None if origin is None else (origin + timedelta(seconds=change.t)).isoformat()
    since_ts = None if origin is None else (origin + timedelta(seconds=change.since_t)).isoformat()
    return Event(
        event_id=event_id(camera_id, change.zone_id, change.object_id, change.kind),
        type=change.kind,
        rule=change.rule,
        camera_id=camera_id,
        zone_id=change.zone_id,
        object_id=change.object_id,
        class_name=change.class_name,
        t=round(change.t, 3),
        ts=ts,
        since_t=round(change.since_t, 3),
        dwell_s=round(change.dwell_s, 3),
        bbox=[round(v, 1) for v in change.xyxy],
        score=round(change.score, 3),
        evidence=evidence,
        since_ts=since_ts,
        lon=None if where is None else where[0],
        lat=None if where is None else where[1],
        view=view,
    )
