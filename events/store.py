"""Where events live: an SQLite database (the embedded default) and an ``events.jsonl`` file.

Both are idempotent on ``event_id``: a replay or a restart never writes an event twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from events.record import Event

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id    TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    camera_id   TEXT NOT NULL,
    zone_id     TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    class       TEXT NOT NULL,
    t           REAL NOT NULL,
    ts          TEXT,
    since_t     REAL NOT NULL,
    dwell_s     REAL NOT NULL,
    bbox        TEXT NOT NULL,
    score       REAL NOT NULL,
    evidence    TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_camera ON events (camera_id, t);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, recorded_at);
CREATE TABLE IF NOT EXISTS cameras (
    camera_id TEXT PRIMARY KEY,
    name      TEXT,
    location  TEXT,
    unit      TEXT,
    source    TEXT NOT NULL,
    zones     TEXT NOT NULL,
    evidence_root TEXT
);
"""


def connect(path: str, schema: str) -> sqlite3.Connection:
    """An autocommit SQLite connection in WAL mode with every commit synced to disk (events and state must survive
    a power cut), shared by threads (callers hold a lock), with ``schema`` applied; the folder is created."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    return db


class EventStore:
    """Events in SQLite.

    Example:
        >>> store = EventStore(":memory:")
        >>> store.add(event)          # doctest: +SKIP
        True
        >>> store.add(event)          # the same event_id again: ignored   # doctest: +SKIP
        False
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._db = connect(self.path, SCHEMA)
        self._lock = threading.Lock()

    def add(self, event: Event) -> bool:
        """Store an event; returns False if an event with that id was already stored."""
        row = event.to_json()
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events VALUES "
                "(:event_id, :type, :rule, :camera_id, :zone_id, :object_id, :class, :t, :ts, :since_t, :dwell_s, "
                ":bbox, :score, :evidence, :recorded_at)",
                {**row, "bbox": json.dumps(row["bbox"]), "evidence": json.dumps(row["evidence"]),
                 "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")},
            )
        return cursor.rowcount == 1

    def has(self, event_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone() is not None

    def events(self, camera_id: str | None = None) -> Iterator[Event]:
        """All events, oldest first on each camera's timeline."""
        query = "SELECT * FROM events" + (" WHERE camera_id = ?" if camera_id else "") + " ORDER BY camera_id, t"
        with self._lock:
            rows = self._db.execute(query, (camera_id,) if camera_id else ()).fetchall()
            names = [d[0] for d in self._db.execute("SELECT * FROM events LIMIT 0").description]
        for row in rows:
            yield _event_from_row(dict(zip(names, row, strict=True)))

    def save_camera(self, camera_id: str, source: str, zones: list[dict[str, Any]], evidence_root: str,
                    name: str | None = None, location: str | None = None, unit: str | None = None) -> None:
        """Remember a camera's names and zones for the reviewers (``source`` must already be masked)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO cameras VALUES (?, ?, ?, ?, ?, ?, ?)",
                (camera_id, name, location, unit, source, json.dumps(zones), evidence_root),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _event_from_row(row: dict[str, Any]) -> Event:
    row.pop("recorded_at")
    row["bbox"] = json.loads(row["bbox"])
    row["evidence"] = json.loads(row["evidence"])
    return Event.from_json(row)


class JsonlWriter:
    """Append events to ``events.jsonl``, one JSON object per line, skipping ids already in the file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._ids = set()
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._ids.add(json.loads(line)["event_id"])
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, event: Event) -> bool:
        if event.event_id in self._ids:
            return False
        self._file.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        self._file.flush()
        self._ids.add(event.event_id)
        return True

    def close(self) -> None:
        self._file.close()


def read_jsonl(path: str | Path) -> list[Event]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [Event.from_json(json.loads(line)) for line in lines if line.strip()]
