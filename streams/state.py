"""State that outlives the process: each live camera's timeline, resting objects, dwell timers and held photos.

``streetorder run`` saves every camera's state into SQLite every few seconds and on shutdown, in one transaction
(so a crash mid-write leaves the previous state whole), and takes it up again at start:

- the camera's *origin* (wall-clock time of its first start), so its media timeline ``t`` goes on across restarts
  and a car resting for 6 minutes before a restart is warned at 8:00 of its real dwell;
- the resting-object memory (``RestingMemory.snapshot``): ids, spots, looks, rest starts, the next object id;
- the zone monitor (``ZoneMonitor.snapshot``): running timers (warned or not), closed timers, vending attendance;
- the rest-start photos held for running timers, so a warn after a restart still carries its two-photo proof.

The store carries its version (SQLite's ``user_version``, files written before versions read as version 1; on
PostgreSQL the ``store_meta`` table). A store of another version is refused with a sentence saying what to do, never
half-read. The state lives in its own SQLite file (``OUT/state.db``) or beside the events on a PostgreSQL server.

Tracker state is not kept: a restart starts new tracks and the memory finds each object again on its spot. What
happened while the process was down is not known: a gap up to ``max_gap`` pauses the absence clocks, a longer one
ends every timer honestly (warned objects get a clear at their last sighting), as any gap in a video does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from contracts.errors import UserError
from events.database import Database
from events.evidence import Photos
from streams import view_stages
from streams.pipeline import CameraPipeline

SCHEMA = """
CREATE TABLE IF NOT EXISTS camera_state (
    camera_id TEXT PRIMARY KEY,
    origin    TEXT NOT NULL,
    last_t    REAL,
    state     TEXT NOT NULL,
    saved_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS held_photos (
    camera_id TEXT NOT NULL,
    zone_id   TEXT NOT NULL,
    rule      TEXT NOT NULL,
    object_id TEXT NOT NULL,
    snapshot  BLOB NOT NULL,
    crop      BLOB NOT NULL,
    PRIMARY KEY (camera_id, zone_id, rule, object_id)
);
"""

STATE_VERSION = 1  # the layout this code reads and writes; bump it (and refuse or migrate) when the layout changes

PhotoKey = tuple[str, str, str]


class StateVersionError(UserError):
    """The state file was written in a layout this streetorder does not read."""


@dataclass
class CameraState:
    """One camera's saved state (``memory`` and ``monitor`` are the snapshots of those stages)."""

    origin: datetime
    last_t: float | None = None
    memory: dict | None = None
    monitor: dict | None = None
    held: dict[PhotoKey, Photos] = field(default_factory=dict)


class StateStore:
    """Camera states in SQLite (WAL, synchronous writes: a saved state survives a crash or a power cut) or on a
    PostgreSQL server (``target``: a path or a ``postgresql://`` URL).

    Example:
        >>> store = StateStore(":memory:")
        >>> store.save({"cam-01": CameraState(datetime(2026, 11, 22, 8, 0, tzinfo=UTC), 42.0)})
        >>> store.load("cam-01").last_t, store.load("cam-02")
        (42.0, None)
    """

    def __init__(self, target: str | Path):
        self.db = Database(target, postgresql_only=_META)
        self.path = self.db.label
        try:
            _check_version(self.db, self.path)
        except StateVersionError:
            self.db.close()
            raise
        self.db.apply(SCHEMA)
        _write_version(self.db)
        self._photos_saved: dict[str, set[PhotoKey]] = {}

    def load(self, camera_id: str) -> CameraState | None:
        row = self.db.execute("SELECT origin, last_t, state FROM camera_state WHERE camera_id = ?",
                              (camera_id,)).fetchone()
        photos = self.db.execute("SELECT zone_id, rule, object_id, snapshot, crop FROM held_photos "
                                 "WHERE camera_id = ?", (camera_id,)).fetchall()
        if row is None:
            return None
        data = json.loads(row[2])
        held = {(zone, rule, obj): Photos(bytes(snapshot), bytes(crop)) for zone, rule, obj, snapshot, crop in photos}
        self._photos_saved[camera_id] = set(held)
        return CameraState(datetime.fromisoformat(row[0]), row[1], data.get("memory"), data.get("monitor"), held)

    def save(self, states: dict[str, CameraState]) -> None:
        """Write the states of several cameras in one transaction: all of them or, after a crash, none."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            with self.db.transaction() as tx:
                for camera_id, state in states.items():
                    body = json.dumps({"memory": state.memory, "monitor": state.monitor}, default=_plain)
                    tx.execute("INSERT INTO camera_state (camera_id, origin, last_t, state, saved_at) "
                               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (camera_id) DO UPDATE SET origin = excluded.origin, "
                               "last_t = excluded.last_t, state = excluded.state, saved_at = excluded.saved_at",
                               (camera_id, state.origin.isoformat(), state.last_t, body, now))
                    self._save_photos(tx, camera_id, state.held)
        except BaseException:
            self._photos_saved.clear()  # unknown what was written: compare afresh next time
            raise

    def _save_photos(self, tx, camera_id: str, held: dict[PhotoKey, Photos]) -> None:
        """Photos are written once each and deleted when their timer has decided (warned or dropped)."""
        saved = self._photos_saved.get(camera_id)
        if saved is None:
            rows = tx.execute("SELECT zone_id, rule, object_id FROM held_photos WHERE camera_id = ?",
                              (camera_id,)).fetchall()
            saved = {tuple(r) for r in rows}
        for key in saved - set(held):
            tx.execute("DELETE FROM held_photos WHERE camera_id = ? AND zone_id = ? AND rule = ? AND object_id = ?",
                       (camera_id, *key))
        for key in set(held) - saved:
            tx.execute("INSERT INTO held_photos (camera_id, zone_id, rule, object_id, snapshot, crop) "
                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (camera_id, zone_id, rule, object_id) DO UPDATE SET "
                       "snapshot = excluded.snapshot, crop = excluded.crop",
                       (camera_id, *key, held[key].snapshot, held[key].crop))
        self._photos_saved[camera_id] = set(held)

    def close(self) -> None:
        self.db.close()


def capture(pipeline: CameraPipeline, origin: datetime) -> CameraState:
    """The state of one camera's stages, ready to save."""
    memory, monitor = view_stages.snapshot(pipeline.stages)  # a PTZ camera's per preset
    return CameraState(origin, memory["last_t"], memory, monitor, pipeline.recorder.evidence.held())


def resume(pipeline: CameraPipeline, state: CameraState | None, first_object_id: int = 1) -> None:
    """Take up a saved state in freshly built stages. ``first_object_id`` is a floor for new object ids (one above
    every id already in the event store), so even a lost state file can never make an event id repeat."""
    memory = state.memory if state and state.memory else {"last_t": None, "objects": []}
    view_stages.restore(pipeline.stages, memory, state.monitor if state else None, first_object_id)
    if state is not None:
        pipeline.recorder.evidence.hold_again(state.held)


_META = "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"


def _stored_version(db: Database) -> int:
    if db.dialect == "sqlite":
        return db.execute("PRAGMA user_version").fetchone()[0] or 1  # 0: written before state files had versions
    row = db.execute("SELECT value FROM store_meta WHERE key = 'state_version'").fetchone()
    return int(row[0]) if row else STATE_VERSION


def _write_version(db: Database) -> None:
    if db.dialect == "sqlite":
        db.execute(f"PRAGMA user_version = {STATE_VERSION}")
    else:
        db.execute("INSERT INTO store_meta (key, value) VALUES ('state_version', ?) ON CONFLICT (key) DO UPDATE "
                   "SET value = excluded.value", (str(STATE_VERSION),))


def _check_version(db: Database, path: str) -> None:
    found = _stored_version(db)
    if found != STATE_VERSION:
        raise StateVersionError(
            f"{path}: this live state file is of version {found} and this streetorder reads version {STATE_VERSION}; "
            "run the streetorder version that wrote it, or move the file away to start without the saved resting "
            "objects and timers")


def _plain(value):
    """JSON for numpy scalars and arrays that slipped into a snapshot."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} cannot be saved in the state")
