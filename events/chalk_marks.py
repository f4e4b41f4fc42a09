"""Chalk marks that outlive a run: the spots moving cameras saw taken, kept in the event store (SQLite or
PostgreSQL) so a later pass (another ``process`` run, days later) finds them.

Example:
    >>> marks = ChalkMarkStore(":memory:")
    >>> book = marks.load("patrol-07", ChalkParams())
    >>> len(book.marks), book.next_id
    (0, 1)
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from events.database import Database
from zones.chalk import ChalkBook, ChalkMark, ChalkParams, Sighting

SCHEMA = """
CREATE TABLE IF NOT EXISTS chalk_marks (
    seq       INTEGER PRIMARY KEY,   -- the order the marks were made in
    camera_id TEXT NOT NULL,
    mark_id   TEXT NOT NULL,
    warned    INTEGER NOT NULL,
    first     TEXT NOT NULL,
    last      TEXT NOT NULL,
    UNIQUE (camera_id, mark_id)
);
CREATE TABLE IF NOT EXISTS chalk_counters (
    camera_id TEXT PRIMARY KEY,
    next_id   INTEGER NOT NULL
);
"""


class ChalkMarkStore:
    """Each camera's chalk marks and its next mark number, saved after every change."""

    def __init__(self, target: str | Path):
        self.db = Database(target)
        if "seq" not in self.db.columns("chalk_marks"):
            self._upgrade()
        self.db.apply(SCHEMA)

    def _upgrade(self) -> None:
        """Marks of an older store (no ``seq``: SQLite's rowid kept their order) keep their order."""
        if not self.db.columns("chalk_marks"):
            return
        with self.db.transaction() as tx:
            tx.execute("ALTER TABLE chalk_marks RENAME TO chalk_marks_before_upgrade")
            tx.execute(SCHEMA.split(";")[0])
            tx.execute("INSERT INTO chalk_marks (camera_id, mark_id, warned, first, last) SELECT camera_id, mark_id, "
                       "warned, first, last FROM chalk_marks_before_upgrade ORDER BY rowid")
            tx.execute("DROP TABLE chalk_marks_before_upgrade")

    def load(self, camera_id: str, params: ChalkParams, warn_after: dict[str, float] | None = None) -> ChalkBook:
        rows = self.db.execute("SELECT mark_id, warned, first, last FROM chalk_marks WHERE camera_id = ? "
                               "ORDER BY seq", (camera_id,)).fetchall()
        counter = self.db.execute("SELECT next_id FROM chalk_counters WHERE camera_id = ?", (camera_id,)).fetchone()
        marks = [ChalkMark(mark_id, sighting_from(json.loads(first)), sighting_from(json.loads(last)), bool(warned))
                 for mark_id, warned, first, last in rows]
        return ChalkBook(params, marks, next_id=counter[0] if counter else 1, warn_after=warn_after)

    def save(self, camera_id: str, book: ChalkBook) -> None:
        """Write the book as it is now, in one transaction (marks ended since the last save are deleted)."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM chalk_marks WHERE camera_id = ?", (camera_id,))
            for m in book.marks.values():
                tx.execute("INSERT INTO chalk_marks (camera_id, mark_id, warned, first, last) VALUES (?, ?, ?, ?, ?)",
                           (camera_id, m.mark_id, int(m.warned), json.dumps(sighting_state(m.first)),
                            json.dumps(sighting_state(m.last))))
            tx.execute("INSERT INTO chalk_counters (camera_id, next_id) VALUES (?, ?) ON CONFLICT (camera_id) "
                       "DO UPDATE SET next_id = excluded.next_id", (camera_id, book.next_id))

    def close(self) -> None:
        self.db.close()


def sighting_state(sighting: Sighting) -> dict[str, Any]:
    """A sighting as plain JSON-able data."""
    return {**{k: v for k, v in sighting.__dict__.items() if k not in ("ts", "look", "track_id")},
            "ts": sighting.ts.isoformat(), "look": None if sighting.look is None else sighting.look.tolist()}


def sighting_from(state: dict[str, Any]) -> Sighting:
    look = state.get("look")
    bbox = state.get("bbox")
    return Sighting(**{**state, "ts": datetime.fromisoformat(state["ts"]),
                       "look": None if look is None else np.asarray(look, dtype=np.float32),
                       "bbox": None if bbox is None else tuple(bbox)})
