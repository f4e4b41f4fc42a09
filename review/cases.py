"""The review queue: events filtered, ordered and paged, and one case with everything a reviewer needs to decide.

The queue's order is the order in which events were recorded (``seq``), newest or oldest first. Filters, counts
and paging run on ``review_cases`` (narrow rows, indexed by status, type, camera, rule and day); only the page's
own events are read from the wide ``events`` rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from contracts.errors import UserError
from contracts.names import RULES
from contracts.urls import mask_credentials
from events.database import Row
from events.record import Event
from events.store import event_from_row
from review.accounts import User
from review.db import Database

TYPE_CHOICES: dict[str, tuple[str, ...]] = {
    "review": ("warn", "escalate"),  # what needs a verdict before anyone is dispatched
    "warn": ("warn",),
    "escalate": ("escalate",),
    "clear": ("clear",),
    "all": (),
}
STATUS_CHOICES = ("pending", "mine", "unsure", "disputed", "confirmed", "rejected", "reviewed", "all")
ORDERS = ("newest", "oldest")
PER_PAGE = 50
_CASE_COLUMNS = "c.seq, c.status, c.reason AS status_reason, c.reviewers"


class FilterError(UserError, ValueError):
    """A queue filter that cannot be applied; the message names the filter and the values it takes."""


@dataclass(frozen=True)
class QueueFilter:
    """What the reviewer asked the queue for; the defaults give the events still awaiting a verdict.

    >>> QueueFilter.from_params({"camera": "cam-01", "order": "oldest"}).query()
    'camera=cam-01&order=oldest'
    """

    camera: str = ""
    zone: str = ""
    rule: str = ""
    type: str = "review"
    status: str = "pending"
    day_from: str = ""
    day_to: str = ""
    order: str = "newest"

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> QueueFilter:
        values = {name: str(params.get(name, "") or "").strip() for name in cls.__dataclass_fields__}
        chosen = cls(**{k: v for k, v in values.items() if v})
        for name, allowed in (("type", TYPE_CHOICES), ("status", STATUS_CHOICES), ("order", ORDERS)):
            if getattr(chosen, name) not in allowed:
                raise FilterError(f"{name} {getattr(chosen, name)!r} is not known; use one of {', '.join(allowed)}")
        if chosen.rule and chosen.rule not in RULES:
            raise FilterError(f"rule {chosen.rule!r} is not known; use one of {', '.join(RULES)}")
        for name in ("day_from", "day_to"):
            try:
                if getattr(chosen, name):
                    date.fromisoformat(getattr(chosen, name))
            except ValueError:
                raise FilterError(f"{name} {getattr(chosen, name)!r} is not a date; write it as YYYY-MM-DD") from None
        return chosen

    def query(self, **changes: str) -> str:
        """The URL query string of this filter (defaults left out), with ``changes`` applied."""
        chosen = replace(self, **changes) if changes else self
        default = QueueFilter()
        return urlencode({k: getattr(chosen, k) for k in self.__dataclass_fields__
                          if getattr(chosen, k) != getattr(default, k)})


@dataclass(frozen=True)
class CameraInfo:
    """A camera as the pipeline recorded it (``source`` masked again here, whatever was stored)."""

    camera_id: str
    name: str | None
    location: str | None
    unit: str | None
    source: str
    zones: dict[str, dict[str, Any]]
    evidence_root: str | None

    def zone_label(self, zone_id: str) -> str:
        zone = self.zones.get(zone_id) or {}
        return zone.get("name") or zone_id


@dataclass
class Case:
    """One row of the queue."""

    seq: int
    event: Event
    recorded_at: str
    status: str = "pending"
    reason: str | None = None
    reviewers: int = 0


@dataclass
class QueuePage:
    cases: list[Case]
    total: int
    page: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class FilterOptions:
    cameras: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)


class Cases:
    """Read access to events for reviewers.

    Example:
        >>> cases = Cases(Database(":memory:"))
        >>> cases.page(QueueFilter(), User(1, "ana", "reviewer")).total
        0
    """

    def __init__(self, db: Database):
        self.db = db

    def page(self, chosen: QueueFilter, user: User, page: int = 1, per_page: int = PER_PAGE) -> QueuePage:
        self.db.sync_cases()
        where, params = _where(chosen, user)
        total = self.db.execute(f"SELECT count(*) FROM review_cases c WHERE {where}", params).fetchone()[0]
        page = max(1, min(page, max(1, -(-total // per_page))))
        order = _direction(chosen)
        rows = self.db.execute(  # page through the narrow index rows first, then read only this page's events
            f"SELECT {_CASE_COLUMNS}, e.* FROM (SELECT * FROM review_cases c WHERE {where} ORDER BY c.seq {order} "
            f"LIMIT ? OFFSET ?) c JOIN events e ON e.event_id = c.event_id ORDER BY c.seq {order}",
            [*params, per_page, (page - 1) * per_page]).fetchall()
        return QueuePage([_case(r) for r in rows], total, page, per_page)

    def case(self, event_id: str) -> Case | None:
        self.db.sync_cases()
        row = self.db.execute(
            f"SELECT {_CASE_COLUMNS}, e.* FROM review_cases c JOIN events e ON e.event_id = c.event_id "
            "WHERE c.event_id = ?", (event_id,)).fetchone()
        return _case(row) if row else None

    def neighbour(self, chosen: QueueFilter, user: User, seq: int, forward: bool = True) -> str | None:
        """The event shown after (``forward``) or before ``seq`` in the filtered queue."""
        newest_first = chosen.order == "newest"
        later = forward != newest_first  # moving towards larger seq
        where, params = _where(chosen, user)
        row = self.db.execute(
            f"SELECT c.event_id FROM review_cases c WHERE {where} AND c.seq {'>' if later else '<'} ? "
            f"ORDER BY c.seq {'ASC' if later else 'DESC'} LIMIT 1", [*params, seq]).fetchone()
        return row[0] if row else None

    def next_case(self, chosen: QueueFilter, user: User, seq: int) -> str | None:
        """Where to go after deciding ``seq``: the next case in the queue, else its first (skipped ones)."""
        following = self.neighbour(chosen, user, seq, forward=True)
        if following is not None:
            return following
        where, params = _where(chosen, user)
        row = self.db.execute(
            f"SELECT c.event_id FROM review_cases c WHERE {where} AND c.seq != ? ORDER BY c.seq {_direction(chosen)} "
            "LIMIT 1", [*params, seq]).fetchone()
        return row[0] if row else None

    def same_object(self, event: Event) -> list[Case]:
        """The warn, escalate and clear events of this object in this zone, in time order."""
        self.db.sync_cases()
        rows = self.db.execute(
            f"SELECT {_CASE_COLUMNS}, e.* FROM events e JOIN review_cases c ON c.event_id = e.event_id "
            "WHERE e.camera_id = ? AND e.zone_id = ? AND e.object_id = ? ORDER BY e.t",
            (event.camera_id, event.zone_id, event.object_id)).fetchall()
        return [_case(r) for r in rows]

    def cameras(self) -> dict[str, CameraInfo]:
        rows = self.db.execute("SELECT * FROM cameras ORDER BY camera_id").fetchall()
        return {r["camera_id"]: _camera(r) for r in rows}

    def camera(self, camera_id: str) -> CameraInfo | None:
        row = self.db.execute("SELECT * FROM cameras WHERE camera_id = ?", (camera_id,)).fetchone()
        return _camera(row) if row else None

    def options(self) -> FilterOptions:
        """The cameras and zones the filters offer: those the pipeline recorded (a small table, not the events)."""
        cameras = self.cameras()
        return FilterOptions(sorted(cameras), sorted({z for c in cameras.values() for z in c.zones}))

    def latest_snapshot(self, camera_id: str) -> tuple[str, str] | None:
        """(evidence_root, relative path) of the newest evidence snapshot of a camera, if any."""
        self.db.sync_cases()
        row = self.db.execute(
            "SELECT e.evidence, m.evidence_root FROM review_cases c JOIN events e ON e.event_id = c.event_id "
            "JOIN cameras m ON m.camera_id = c.camera_id WHERE c.camera_id = ? ORDER BY c.seq DESC LIMIT 1",
            (camera_id,)).fetchone()
        if row is None or not row["evidence_root"]:
            return None
        snapshot = json.loads(row["evidence"]).get("snapshot")
        return (row["evidence_root"], snapshot) if snapshot else None


def _where(chosen: QueueFilter, user: User) -> tuple[str, list[Any]]:
    clauses: list[str] = ["1 = 1"]
    params: list[Any] = []
    for column, value in (("c.camera_id", chosen.camera), ("c.zone_id", chosen.zone), ("c.rule", chosen.rule)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    types = TYPE_CHOICES[chosen.type]
    if types:
        clauses.append(f"c.type IN ({', '.join('?' * len(types))})")
        params.extend(types)
    if chosen.day_from:
        clauses.append("c.day >= ?")
        params.append(chosen.day_from)
    if chosen.day_to:
        clauses.append("c.day <= ?")
        params.append(chosen.day_to)
    if chosen.status == "reviewed":
        clauses.append("c.status != 'pending'")
    elif chosen.status == "mine":
        clauses.append("NOT EXISTS (SELECT 1 FROM review_verdicts v WHERE v.event_id = c.event_id "
                       "AND v.user_id = ?)")
        params.append(user.user_id)
    elif chosen.status != "all":
        clauses.append("c.status = ?")
        params.append(chosen.status)
    return " AND ".join(clauses), params


def _direction(chosen: QueueFilter) -> str:
    return "DESC" if chosen.order == "newest" else "ASC"


def _case(row: Row) -> Case:
    return Case(row["seq"], event_from_row(row), row["recorded_at"], row["status"], row["status_reason"],
                row["reviewers"])


def _camera(row: Row) -> CameraInfo:
    zones = {z["id"]: z for z in json.loads(row["zones"] or "[]")}
    return CameraInfo(row["camera_id"], row["name"], row["location"], row["unit"], mask_credentials(row["source"]),
                      zones, row["evidence_root"])
