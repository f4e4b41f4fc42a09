"""What the operations map shows, read from the store: the cameras with their place and live status, the unit
polygons, the patrol tracks of moving cameras and the newest events; an officer sees their unit's only.

Where things stand comes from the config when the app has one (``MapLayersSource``: a camera's ``geo``, the
``units:`` polygons, zones drawn in [lon, lat]); without it a fixed camera stands where its events say it does.
Plates are left out: the map is watched on a wall.

Example:
    >>> view = MapView(Database(":memory:"))
    >>> view.snapshot(User(1, "ana", "dispatcher"), 10)["cameras"]
    []
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from events.camera_status import CameraStatuses, CameraStatusRow
from review.accounts import User
from review.db import Database
from review.routes_admin import STALE_AFTER  # the cameras page's: a status not renewed means `run` is down

TRACK_POINTS = 500  # the newest positions of a moving camera drawn as its track
OFFICER_SCAN = 5000  # an officer's newest events are looked for among this many newest events
_EVENT_COLUMNS = "rowid, event_id, type, rule, camera_id, zone_id, class, ts, recorded_at, lon, lat, unit"


@runtime_checkable
class MapLayersSource(Protocol):
    """What the map needs of the config layer (``streams.config_rules.PipelineConfigRules``)."""

    def map_layers(self, path: Path) -> dict[str, Any]:
        """``cameras`` (camera_id, name, location, geo, moving, unit, zones) and ``units`` (unit, rings)."""


def sees(user: User, unit: dict[str, Any] | None) -> bool:
    """Whether ``user`` sees what belongs to ``unit``: everyone but officers everything, an officer what lies in
    their unit (every part their account names is equal, as for their cases).

    >>> officer = User(2, "olga", "officer", district="Lucheng")
    >>> sees(officer, {"district": "Lucheng", "grid": "LC-1"}), sees(officer, None)
    (True, False)
    """
    if not user.is_officer:
        return True
    named = [(key, value) for key, value in (("district", user.district), ("grid", user.grid)) if value]
    return bool(named) and unit is not None and all(unit.get(key) == value for key, value in named)


def map_status(row: CameraStatusRow | None, now: datetime) -> dict[str, Any]:
    """A camera's status as the map colours it: ``online``, ``moved`` (its view), ``offline`` (down, stopped or
    not renewed: is `streetorder run` running?), ``starting`` or ``unknown`` (never seen by `run`)."""
    if row is None:
        return {"status": "unknown", "reason": "no status from streetorder run yet", "view": None}
    stale = row.age_s(now) > STALE_AFTER
    if stale or row.state in ("offline", "stopped"):
        status = "offline"
        reason = row.reason or (f"no status for {row.age_s(now):.0f} s" if stale else row.state)
    else:
        status = "moved" if row.view == "moved" else row.state
        reason = "view moved (re-aimed, zoomed or covered)" if status == "moved" else row.reason
    return {"status": status, "reason": reason, "view": row.view, "preset": row.preset,
            "updated_at": row.updated_at}


def event_json(row: Any) -> dict[str, Any]:
    """An event as the map draws it (no plate, no photos: the event page has them)."""
    return {"id": row["rowid"], "event_id": row["event_id"], "type": row["type"], "rule": row["rule"],
            "camera_id": row["camera_id"], "zone_id": row["zone_id"], "class": row["class"], "ts": row["ts"],
            "recorded_at": row["recorded_at"], "lon": row["lon"], "lat": row["lat"],
            "unit": json.loads(row["unit"]) if row["unit"] else None}


class MapView:
    """The map's reads over one store; ``layers`` gives the config's layers (or none)."""

    def __init__(self, db: Database, layers: Any = None):
        self.db = db
        self.layers = layers or (lambda: {"cameras": [], "units": []})
        self.statuses = CameraStatuses(db)

    @property
    def problem(self) -> str | None:
        """Why the config's layers are missing, if they are."""
        return getattr(self.layers, "problem", None)

    def snapshot(self, user: User, limit: int) -> dict[str, Any]:
        """Everything the page draws first, and ``cursor``: the stream's events come after it."""
        cursor = self.db.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0]
        layers = self.layers()
        return {"cursor": cursor, "cameras": self.cameras(user, layers), "statuses_at": _now().isoformat(),
                "units": [u for u in layers["units"] if sees(user, u["unit"])],
                "events": self.newest(user, limit, cursor)}

    def cameras(self, user: User, layers: dict[str, Any]) -> list[dict[str, Any]]:
        """Every stored camera (and every camera of the config), placed, with its status and track."""
        configured = {c["camera_id"]: c for c in layers["cameras"]}
        rows = {r["camera_id"]: r for r in self.db.execute(
            "SELECT camera_id, name, location, unit FROM cameras ORDER BY camera_id")}
        statuses = {s.camera_id: s for s in self.statuses.all()}
        now = _now()
        cameras = []
        for camera_id in sorted(set(configured) | set(rows)):
            config, row = configured.get(camera_id, {}), rows.get(camera_id)
            newest = self._newest_event(camera_id)
            unit = config.get("unit") or (json.loads(newest["unit"]) if newest and newest["unit"] else None)
            track = self._track(camera_id) if config.get("moving") or (newest and newest["sightings"]) else None
            geo = config.get("geo") or (_position(newest) if track is None and newest else None)
            if track is not None:
                track = [p for p in track if sees(user, p["unit"])]
                if user.is_officer and not track:
                    continue  # it never drove through the officer's unit
            elif not sees(user, unit):
                continue
            cameras.append({"camera_id": camera_id, "name": config.get("name") or (row["name"] if row else None),
                            "location": config.get("location") or (row["location"] if row else None),
                            "unit_label": row["unit"] if row else None, "unit": unit, "geo": geo,
                            "moving": track is not None, "track": [p["at"] for p in track or []],
                            "zones": config.get("zones", []), **map_status(statuses.get(camera_id), now)})
        return cameras

    def newest(self, user: User, limit: int, cursor: int) -> list[dict[str, Any]]:
        """The ``limit`` newest events up to ``cursor`` the user sees, newest first."""
        scan = limit if not user.is_officer else OFFICER_SCAN
        rows = self.db.execute("SELECT rowid, unit FROM events WHERE rowid <= ? ORDER BY rowid DESC LIMIT ?",
                               (cursor, scan)).fetchall()
        wanted = [r["rowid"] for r in rows if sees(user, json.loads(r["unit"]) if r["unit"] else None)][:limit]
        return sorted(self.events(wanted), key=lambda e: -e["id"])

    def between(self, after: int, upto: int, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` events after rowid ``after`` up to ``upto``, in rowid order (a reconnecting map)."""
        rows = self.db.execute("SELECT rowid FROM events WHERE rowid > ? AND rowid <= ? ORDER BY rowid DESC LIMIT ?",
                               (after, upto, limit)).fetchall()
        return self.events(r["rowid"] for r in rows)

    def events(self, rowids: Iterable[int]) -> list[dict[str, Any]]:
        """The map's view of these events, in rowid order."""
        ids = list(rowids)
        if not ids:
            return []
        rows = self.db.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE rowid IN ({', '.join('?' * len(ids))}) "
                               "ORDER BY rowid", ids).fetchall()
        return [event_json(r) for r in rows]

    def _newest_event(self, camera_id: str) -> Any:
        return self.db.execute("SELECT lon, lat, unit, sightings FROM events WHERE camera_id = ? ORDER BY t DESC "
                               "LIMIT 1", (camera_id,)).fetchone()

    def _track(self, camera_id: str) -> list[dict[str, Any]]:
        """A moving camera's newest positions in time order: its events' sightings, else their own places."""
        rows = self.db.execute("SELECT lon, lat, unit, sightings FROM events WHERE camera_id = ? AND lon IS NOT NULL "
                               "ORDER BY t DESC LIMIT ?", (camera_id, TRACK_POINTS)).fetchall()
        points = []
        for row in reversed(rows):
            unit = json.loads(row["unit"]) if row["unit"] else None
            seen = json.loads(row["sightings"]) if row["sightings"] else []
            places = [[s["lon"], s["lat"]] for s in seen] or [_position(row)]
            points.extend({"at": at, "unit": unit} for at in places)
        return points

def _position(row: Any) -> list[float] | None:
    return None if row["lon"] is None or row["lat"] is None else [row["lon"], row["lat"]]


def _now() -> datetime:
    return datetime.now(UTC)
