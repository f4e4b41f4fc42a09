"""Which recordings of a camera the store has seen, and the object ids each was given: a re-run of the same
recording gives its objects the same ids (so its events are not written twice), a new recording of the same
camera (the next day's file) starts above every id already used (so its events are not mistaken for old ones).

Example:
    >>> recordings = RecordingStore(":memory:")
    >>> recordings.first_object_id("cam-01", "a1b2", "day-1.mp4", highest_in_events=0)
    1
    >>> recordings.finish("cam-01", "a1b2", last_object_id=7)
    >>> recordings.first_object_id("cam-01", "c3d4", "day-2.mp4", highest_in_events=5)
    8
    >>> recordings.first_object_id("cam-01", "a1b2", "day-1.mp4", highest_in_events=9)  # a re-run of day 1
    1
"""

from __future__ import annotations

from pathlib import Path

from events.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    camera_id       TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    source          TEXT NOT NULL,
    first_object_id INTEGER NOT NULL,
    last_object_id  INTEGER,
    PRIMARY KEY (camera_id, fingerprint)
);
"""


class RecordingStore:
    """The recordings table of the event store (SQLite or PostgreSQL)."""

    def __init__(self, target: str | Path):
        self.db = Database(target, SCHEMA)

    def first_object_id(self, camera_id: str, fingerprint: str, source: str, highest_in_events: int) -> int:
        """The first object id of this recording: the one it had before; 1 for the camera's first recording; else
        one above every id the camera's recordings and events used (``highest_in_events``: the highest numeric
        object id among its events)."""
        with self.db.transaction() as tx:
            known = tx.execute("SELECT first_object_id FROM recordings WHERE camera_id = ? AND fingerprint = ?",
                               (camera_id, fingerprint)).fetchone()
            if known:
                return int(known[0])
            used = tx.execute("SELECT max(CASE WHEN coalesce(last_object_id, 0) > first_object_id THEN "
                              "last_object_id ELSE first_object_id END) FROM recordings WHERE camera_id = ?",
                              (camera_id,)).fetchone()[0]
            # the camera's first recording starts at 1, as every recording did before recordings were kept, so a
            # re-run of a recording processed then finds its old ids
            first = 1 if used is None else max(int(used), highest_in_events) + 1
            tx.execute("INSERT INTO recordings (camera_id, fingerprint, source, first_object_id) VALUES (?, ?, ?, ?)",
                       (camera_id, fingerprint, source, first))
        return first

    def finish(self, camera_id: str, fingerprint: str, last_object_id: int) -> None:
        """Remember the highest object id the recording used."""
        self.db.execute("UPDATE recordings SET last_object_id = CASE WHEN coalesce(last_object_id, 0) > ? THEN "
                        "last_object_id ELSE ? END WHERE camera_id = ? AND fingerprint = ?",
                        (last_object_id, last_object_id, camera_id, fingerprint))

    def close(self) -> None:
        self.db.close()
