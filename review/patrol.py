"""What the case page shows of where an event happened: a patrol warn's sightings side by side (photo, wall time,
ground position), the distance and time between them, its drawn map, and a fixed camera's position.

Photo paths stay relative to the camera's evidence folder: they are served through the checked ``/evidence`` route
like every other photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from events.record import Event, SightingRecord
from geo import distance_m

_LAST_CAPTIONS = {"warn": "warned", "escalate": "escalated"}


def position_text(lon: float, lat: float) -> str:
    """A position as reviewers read it, to about 10 cm.

    >>> position_text(120.67121234, 28.0011)
    'lon 120.671212, lat 28.001100'
    """
    return f"lon {lon:.6f}, lat {lat:.6f}"


def event_position(event: Event) -> str | None:
    """Where the event was, if known: a moving camera's object on the ground, or a fixed camera's ``geo``."""
    if event.lon is None or event.lat is None:
        return None
    return position_text(event.lon, event.lat)


def wall_time_text(ts: str | None, t: float | None = None) -> str:
    """A wall time as the queue shows it (local to the camera), else the media time, else that it is unknown.

    >>> wall_time_text("2026-11-22T08:09:02+08:00"), wall_time_text(None, 12.34), wall_time_text(None)
    ('2026-11-22 08:09:02', 't = 12.3 s', 'time unknown')
    """
    if ts:
        return ts[:19].replace("T", " ")
    return "time unknown" if t is None else f"t = {t:.1f} s"


def evidence_url(camera_id: str, path: str) -> str:
    """The URL of an evidence file: always the checked ``/evidence`` route."""
    return f"/evidence/{quote(camera_id)}/{quote(path)}"


@dataclass(frozen=True)
class SightingView:
    """One sighting as the page shows it."""

    caption: str
    photo: str | None  # evidence path (relative to the camera's evidence folder)
    photo_url: str | None
    when: str
    ts: str | None
    t: float | None
    position: str


@dataclass(frozen=True)
class PatrolView:
    """A moving camera's event: its sightings in order, and what lies between the first and the last."""

    sightings: list[SightingView]
    distance_m: float | None  # None with fewer than two sightings
    since: str  # wall time of the first sighting
    until: str  # wall time of the last sighting (a clear's own time is when the spot was seen empty)
    map_url: str | None

    @property
    def photos(self) -> set[str]:
        """Evidence paths the sightings already show."""
        return {s.photo for s in self.sightings if s.photo}


def patrol_view(event: Event) -> PatrolView | None:
    """The sightings of a moving camera's event, or None for an event without ``sightings`` (a fixed camera)."""
    if event.sightings is None:
        return None
    records = event.sightings
    views = [_sighting(event, record, index, len(records)) for index, record in enumerate(records)]
    distance = None
    if len(records) >= 2:
        first, last = records[0], records[-1]
        distance = distance_m(first.lon, first.lat, last.lon, last.lat)
    last_seen = wall_time_text(records[-1].ts, records[-1].t) if records else wall_time_text(event.ts, event.t)
    map_path = event.evidence.get("map")
    return PatrolView(views, distance, wall_time_text(event.since_ts, event.since_t), last_seen,
                      evidence_url(event.camera_id, map_path) if map_path else None)


def _sighting(event: Event, record: SightingRecord, index: int, count: int) -> SightingView:
    """Caption and photo of one sighting; a sighting without its own photo falls back to the event's evidence
    (``first`` for the chalk sighting, ``snapshot`` for the one that warned: a clear's snapshot is the empty spot)."""
    if event.type == "clear" and index == count - 1:
        caption, fallback = f"{index + 1}. Last seen" if count > 1 else "Last seen", None
    elif count == 1:
        caption, fallback = "Sighting", "snapshot"
    elif index == 0:
        caption, fallback = "1. Chalked", "first"
    elif index == count - 1:
        caption, fallback = f"{index + 1}. {_LAST_CAPTIONS.get(event.type, 'seen again').capitalize()}", "snapshot"
    else:
        caption, fallback = f"{index + 1}. Seen again", None
    photo = record.snapshot or (event.evidence.get(fallback) if fallback else None)
    return SightingView(caption, photo, evidence_url(event.camera_id, photo) if photo else None,
                        wall_time_text(record.ts, record.t), record.ts, record.t, position_text(record.lon, record.lat))
