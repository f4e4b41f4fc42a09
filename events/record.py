"""The event record: the JSON line of DESIGN.md, one per state change worth telling anyone about."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from zones.dwell import StateChange


@dataclass
class Event:
    event_id: str
    type: str
    rule: str
    camera_id: str
    zone_id: str
    object_id: str
    class_name: str
    t: float
    ts: str | None
    since_t: float
    dwell_s: float
    bbox: list[float]
    score: float
    evidence: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The exact JSON object of DESIGN.md (``class`` is a keyword in Python, hence ``class_name`` here)."""
        return {
            "event_id": self.event_id,
            "type": self.type,
            "rule": self.rule,
            "camera_id": self.camera_id,
            "zone_id": self.zone_id,
            "object_id": self.object_id,
            "class": self.class_name,
            "t": self.t,
            "ts": self.ts,
            "since_t": self.since_t,
            "dwell_s": self.dwell_s,
            "bbox": self.bbox,
            "score": self.score,
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        fields = {k: v for k, v in data.items() if k != "class"}
        return cls(class_name=data["class"], **fields)


def event_id(camera_id: str, zone_id: str, object_id: str, kind: str) -> str:
    """Stable id: the same object in the same zone gives the same id on every replay and restart."""
    return f"{camera_id}/{zone_id}/{object_id}/{kind}"


def event_from_change(change: StateChange, camera_id: str, origin: datetime | None) -> Event:
    ts = None if origin is None else (origin + timedelta(seconds=change.t)).isoformat()
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
    )
