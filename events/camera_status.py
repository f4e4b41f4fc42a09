"""Each live camera's status as ``streetorder run`` last saw it, kept in the event store for the reviewers' app.

``streetorder run`` writes one row per camera every ``live.save_every`` seconds and when it stops (online or
offline and why, the view of a fixed camera, its preset, when its newest frame came); the app's cameras page reads
them with their age, so a status that stopped being renewed (the run is down) shows as old. Sources are masked on
the way in: the store never holds a camera password.

Example:
    >>> statuses = CameraStatuses(Database(":memory:", SCHEMA))
    >>> statuses.write([CameraStatusRow("cam-01", "Gate", "rtsp://admin:pw@10.0.0.5/1", "online", "", "shifted",
    ...                                 None, "2026-11-22T08:00:00+00:00", "2026-11-22T08:00:01+00:00")])
    >>> row = statuses.all()[0]
    >>> row.source, row.view, row.age_s(datetime(2026, 11, 22, 8, 0, 11, tzinfo=UTC))
    ('rtsp://***@10.0.0.5/1', 'shifted', 10.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields, replace
from datetime import UTC, datetime

from contracts.urls import mask_credentials
from events.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS camera_status (
    camera_id     TEXT PRIMARY KEY,
    name          TEXT,
    source        TEXT NOT NULL,              -- masked: never a password
    state         TEXT NOT NULL,              -- starting | online | offline | stopped
    reason        TEXT NOT NULL,              -- why offline or stopped ("" when online)
    view          TEXT,                       -- ok | shifted | moved; null: the view is not checked
    preset        TEXT,                       -- the PTZ preset the camera shows, if it has presets
    last_frame_at TEXT,                       -- ISO UTC: when its newest frame arrived (null: none yet)
    updated_at    TEXT NOT NULL               -- ISO UTC: when ``streetorder run`` wrote this row
);
"""


@dataclass(frozen=True)
class CameraStatusRow:
    """One camera's row of ``camera_status``."""

    camera_id: str
    name: str | None
    source: str
    state: str
    reason: str
    view: str | None
    preset: str | None
    last_frame_at: str | None
    updated_at: str

    def age_s(self, now: datetime | None = None) -> float:
        """Seconds since the row was written."""
        return _seconds_since(self.updated_at, now)

    def frame_age_s(self, now: datetime | None = None) -> float | None:
        """Seconds since the camera's newest frame (None: no frame yet)."""
        return None if self.last_frame_at is None else _seconds_since(self.last_frame_at, now)


_COLUMNS = ", ".join(f.name for f in fields(CameraStatusRow))
_UPSERT = (f"INSERT INTO camera_status ({_COLUMNS}) VALUES ({', '.join('?' for _ in fields(CameraStatusRow))}) "
           "ON CONFLICT (camera_id) DO UPDATE SET "
           + ", ".join(f"{f.name} = excluded.{f.name}" for f in fields(CameraStatusRow)[1:]))


class CameraStatuses:
    """The ``camera_status`` table of a store (made by ``events.store.prepare_events``)."""

    def __init__(self, db: Database):
        self.db = db

    def write(self, statuses: Sequence[CameraStatusRow]) -> None:
        """Replace the rows of these cameras, in one transaction; sources and reasons are masked first."""
        with self.db.transaction() as tx:
            for status in statuses:
                masked = replace(status, source=mask_credentials(status.source),
                                 reason=mask_credentials(status.reason))
                tx.execute(_UPSERT, astuple(masked))

    def all(self) -> list[CameraStatusRow]:
        """Every camera's last status, by camera id."""
        return [CameraStatusRow(*row) for row in self.db.execute(
            f"SELECT {_COLUMNS} FROM camera_status ORDER BY camera_id")]


def _seconds_since(text: str, now: datetime | None) -> float:
    """Seconds from ``text`` (an ISO time with its offset, as the writer gives them) to ``now``."""
    return round(((now or datetime.now(UTC)) - datetime.fromisoformat(text)).total_seconds(), 1)
