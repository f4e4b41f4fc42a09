"""The notice of a notify sink (``sinks[].notify``): what a loudspeaker says or an SMS gateway sends to the plate's
owner when a warn fires, beside the event's own JSON.

>>> event = {"rule": "sidewalk_parking", "plate": "浙C·D1234", "camera_id": "cam-1", "zone_id": "kerb",
...          "ts": "2026-11-22T08:10:00+08:00", "unit": {"district": "Lucheng", "grid": "LC-0412", "road": "Binhai Rd"}}
>>> print(notice(event, 420.0)["text"])
浙C·D1234: sidewalk parking at Binhai Rd (Lucheng · LC-0412), camera cam-1, zone kerb. Please move the vehicle by 08:17.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

WHAT = {"sidewalk_parking": "the vehicle", "street_vending": "the stall", "misparked_bike": "the bike"}


def place(event: dict[str, Any]) -> str:
    """Where, as a person reads it: the unit's road (grid, district), then the camera and zone."""
    unit = event.get("unit") or {}
    area = " · ".join(unit[k] for k in ("district", "grid") if unit.get(k))
    road = unit.get("road")
    where = f"{road} ({area})" if road and area else road or area
    spot = f"camera {event.get('camera_id')}, zone {event.get('zone_id')}"
    return f"{where}, {spot}" if where else spot


def notice(event: dict[str, Any], leave_within: float) -> dict[str, Any]:
    """The notice of a warn: plate (null when not read), place, rule, ``leave_by`` (the warn's wall time plus
    ``leave_within`` seconds, null without a wall time) and the ``text`` to send or say."""
    rule = str(event.get("rule") or "")
    what = WHAT.get(rule, "it")
    leave_by = None
    deadline = f"within {leave_within / 60:.0f} minutes"
    moment = _wall_time(event.get("ts"))
    if moment is not None:
        moment += timedelta(seconds=leave_within)
        leave_by = moment.isoformat()
        deadline = f"by {moment:%H:%M}"
    plate = event.get("plate")
    where = place(event)
    subject = f"{plate}: " if plate else ""
    return {"plate": plate, "place": where, "rule": rule, "leave_by": leave_by,
            "text": f"{subject}{rule.replace('_', ' ')} at {where}. Please move {what} {deadline}."}


def _wall_time(ts: Any) -> datetime | None:
    """The warn's wall time, or None (no ``ts``, or one that is not ISO-8601: the event is stored all the same).

    >>> _wall_time("2026-11-22T08:10:00+08:00").hour, _wall_time("yesterday"), _wall_time(None)
    (8, None, None)
    """
    try:
        return datetime.fromisoformat(ts) if isinstance(ts, str) else None
    except ValueError:
        return None
