"""Where events live: an SQLite database (the embedded default) and an ``events.jsonl`` file.

Both are idempotent on ``event_id``: a replay or a restart never writes an event twice.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from contracts.disk import disk_problem, is_disk_full
from contracts.errors import UserError
from events.record import Event

log = logging.getLogger(__name__)


def _column(name: str, field: FieldInfo) -> tuple[str, str, bool]:
    """(column, SQLite type, kept as JSON text) of one field of ``Event``: the column is named by the JSON key."""
    annotation, nullable = field.annotation, False
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not NoneType]
        annotation, nullable = members[0], len(members) < len(get_args(annotation))
    as_json = get_origin(annotation) in (list, dict)
    sql = {float: "REAL", int: "INTEGER"}.get(annotation, "TEXT")
    if name == "event_id":
        sql += " PRIMARY KEY"  # the idempotency key
    elif not nullable:
        sql += " NOT NULL"
    return field.alias or name, sql, as_json


# The one mapping of the event model to the columns of ``events``: the fields in order, then ``recorded_at``.
_COLUMNS = [_column(name, field) for name, field in Event.model_fields.items()]
EVENT_COLUMNS: tuple[str, ...] = tuple(column for column, _, _ in _COLUMNS)
_JSON_COLUMNS = frozenset(column for column, _, as_json in _COLUMNS if as_json)
_INSERT = (f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}, recorded_at) "
           f"VALUES ({', '.join(':' + column for column in EVENT_COLUMNS)}, :recorded_at)")

_EVENTS_TABLE = ",\n".join([*(f"    {column:<11} {sql}" for column, sql, _ in _COLUMNS),
                            "    recorded_at TEXT NOT NULL"])

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS events (
{_EVENTS_TABLE}
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


# Made after an upgrade (an older table has no ``plate`` column for it): the history of a plate, one lookup.
PLATE_INDEX = "CREATE INDEX IF NOT EXISTS events_by_plate ON events (plate, type)"


def upgrade_events_table(db: sqlite3.Connection) -> None:
    """Bring an ``events`` table written by an older streetorder to the model's columns, in place and in one
    transaction: new columns are added; a column the model now allows to be null is rebuilt without NOT NULL
    (rowids kept: the review queue orders by them). The plate index is made if missing."""
    _upgrade_columns(db)
    db.execute(PLATE_INDEX)


def _upgrade_columns(db: sqlite3.Connection) -> None:
    existing = {row[1]: bool(row[3]) for row in db.execute("PRAGMA table_info(events)")}
    wanted = {column: "NOT NULL" in sql for column, sql, _ in _COLUMNS}
    loosened = [c for c, not_null in wanted.items() if existing.get(c) and not not_null]
    missing = [c for c in wanted if c not in existing]
    if not existing or (not loosened and not missing):
        return
    shared = ", ".join(c for c in (*EVENT_COLUMNS, "recorded_at") if c in existing)
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE events RENAME TO events_before_upgrade")
        db.execute("DROP INDEX IF EXISTS events_by_camera")
        db.execute("DROP INDEX IF EXISTS events_by_type")
        db.execute("DROP INDEX IF EXISTS events_by_plate")
        db.execute(f"CREATE TABLE events (\n{_EVENTS_TABLE}\n)")
        db.execute(f"INSERT INTO events (rowid, {shared}) SELECT rowid, {shared} FROM events_before_upgrade")
        db.execute("DROP TABLE events_before_upgrade")
        db.execute("CREATE INDEX events_by_camera ON events (camera_id, t)")
        db.execute("CREATE INDEX events_by_type ON events (type, recorded_at)")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


class StoreError(UserError):
    """A database file that cannot be opened or made (a folder, not SQLite, not writable, a full disk)."""


def connect(path: str, schema: str) -> sqlite3.Connection:
    """An autocommit SQLite connection in WAL mode with every commit synced to disk (events and state must survive
    a power cut), shared by threads (callers hold a lock), with ``schema`` applied; the folder is created.
    Raises ``StoreError`` with a sentence naming ``path`` when it cannot be opened as a database."""
    db = None
    try:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(schema)
    except (sqlite3.Error, OSError) as exc:
        if db is not None:
            db.close()
        raise StoreError(_store_problem(path, exc)) from None
    return db


def _store_problem(path: str, exc: sqlite3.Error | OSError) -> str:
    if Path(path).is_dir():
        return f"{path} is a folder, not a database file; give the path of a file (new or existing) for the store"
    if isinstance(exc, OSError) or is_disk_full(exc):
        return disk_problem(exc, path)
    if "not a database" in str(exc) or "malformed" in str(exc):
        return (f"{path} is not an SQLite database ({exc}); give another path for the store, or move the file "
                "aside if it is damaged")
    return f"{path} cannot be opened as a database ({exc}); check that it and its folder are writable"


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
        upgrade_events_table(self._db)
        self._lock = threading.Lock()

    def add(self, event: Event) -> bool:
        """Store an event; returns False if an event with that id was already stored."""
        row = {**event_row(event), "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")}
        with self._lock:
            cursor = self._db.execute(_INSERT, row)
        return cursor.rowcount == 1

    def events(self, camera_id: str | None = None) -> Iterator[Event]:
        """All events, oldest first on each camera's timeline."""
        query = (f"SELECT {', '.join(EVENT_COLUMNS)} FROM events" + (" WHERE camera_id = ?" if camera_id else "")
                 + " ORDER BY camera_id, t")
        with self._lock:
            rows = self._db.execute(query, (camera_id,) if camera_id else ()).fetchall()
        for row in rows:
            yield event_from_row(dict(zip(EVENT_COLUMNS, row, strict=True)))

    def earlier_warns(self, plate: str, since: datetime, before: datetime, event_id: str | None = None) -> int:
        """Warns of ``plate`` (every camera) at ``since`` or later and before ``before``, not counting ``event_id``
        (the warn being graded) nor warns a reviewer rejected (``review_cases``, when the review app made it;
        pending and unreviewed ones count). A reviewer's plate correction (``review_plate_corrections``) replaces
        the event's read. An event's time is its ``ts``, else when it was stored."""
        rejected, matches, params = "", "plate = ?", (plate,)
        with self._lock:
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "review_cases" in tables:
                rejected = (" AND event_id NOT IN (SELECT event_id FROM review_cases WHERE status = 'rejected' "
                            "AND type = 'warn')")
            if "review_plate_corrections" in tables:
                matches = ("(plate = ? AND event_id NOT IN (SELECT event_id FROM review_plate_corrections) OR "
                           "event_id IN (SELECT event_id FROM review_plate_corrections WHERE plate = ?))")
                params = (plate, plate)
            rows = self._db.execute(f"SELECT event_id, coalesce(ts, recorded_at) FROM events WHERE {matches} AND "
                                    f"type = 'warn'{rejected}", params).fetchall()
        return sum(1 for other, when in rows if other != event_id and since <= store_time(when) < before)

    def highest_object_id(self, camera_id: str) -> int:
        """The highest numeric object id among the camera's events (0: none)."""
        with self._lock:
            row = self._db.execute("SELECT max(CAST(object_id AS INTEGER)) FROM events WHERE camera_id = ? AND "
                                   "object_id NOT GLOB '*[^0-9]*'", (camera_id,)).fetchone()
        return int(row[0] or 0)

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


def store_time(text: str) -> datetime:
    """An ISO time of the store; one without an offset is taken as UTC (as ``recorded_at`` is)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def event_row(event: Event) -> dict[str, Any]:
    """The ``events`` columns of an event (without ``recorded_at``): lists and dicts as JSON text."""
    return {k: json.dumps(v) if k in _JSON_COLUMNS and v is not None else v for k, v in event.to_json().items()}


def event_from_row(row: Mapping[str, Any] | sqlite3.Row) -> Event:
    """The event of an ``events`` row (a dict or an ``sqlite3.Row``; other columns of a join are ignored)."""
    return Event.model_validate({c: json.loads(row[c]) if c in _JSON_COLUMNS and row[c] is not None else row[c]
                                 for c in EVENT_COLUMNS})


class JsonlWriter:
    """Append events to ``events.jsonl``, one JSON object per line, skipping ids already in the file.

    A file damaged by a power cut or a full disk (a truncated last line, bytes that are no event) is repaired when
    it is opened: its good lines are kept, the damaged ones are moved to ``events.jsonl.damaged-<time>`` with a
    warning, and writing goes on (the store, written first, still holds those events). Lines are written unbuffered,
    so a failed write leaves nothing behind to fail again on ``close``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._ids: set[str] = set()
        if self.path.exists():
            self._ids = self._read_ids()
        self._file = self.path.open("ab", buffering=0)

    def _read_ids(self) -> set[str]:
        """The event ids of the file's good lines; damaged lines are set aside (see the class)."""
        ids, good, damaged = set(), [], []
        data = self.path.read_bytes()
        for line in data.splitlines(keepends=True):
            event_id = _event_id(line)
            if event_id is None:
                damaged.append(line)
            elif line.strip():
                ids.add(event_id)
                good.append(line if line.endswith(b"\n") else line + b"\n")
        if damaged:
            self._set_aside(good, damaged)
        elif good and not data.endswith(b"\n"):  # a whole event, cut before its newline
            with self.path.open("ab") as file:
                file.write(b"\n")
        return ids

    def _set_aside(self, good: list[bytes], damaged: list[bytes]) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        aside.write_bytes(b"".join(damaged))  # first: nothing is lost if the repair stops half-way
        partial = self.path.with_name(f"{self.path.name}.repairing")
        partial.write_bytes(b"".join(good))
        partial.replace(self.path)
        log.warning("%s: %d damaged line(s) (a power cut or a full disk?) moved to %s; its %d good line(s) are kept "
                    "and writing goes on. The events of damaged lines are still in the store (events.db), the "
                    "source of truth: a line lost from the file is not an event lost", self.path, len(damaged),
                    aside, len(good))

    def write(self, event: Event) -> bool:
        if event.event_id in self._ids:
            return False
        line = memoryview((json.dumps(event.to_json(), ensure_ascii=False) + "\n").encode("utf-8"))
        while line:  # a raw file may write part of a line; a full disk raises on the rest
            line = line[self._file.write(line):]
        self._ids.add(event.event_id)
        return True

    def close(self) -> None:
        self._file.close()


def _event_id(line: bytes) -> str | None:
    """The ``event_id`` of one line of ``events.jsonl``, "" for a blank line, None for a damaged one."""
    if not line.strip():
        return "" if line.endswith(b"\n") else None
    try:
        event_id = json.loads(line.decode("utf-8")).get("event_id")
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None
    return event_id if isinstance(event_id, str) and event_id else None


def read_jsonl(path: str | Path) -> list[Event]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [Event.model_validate(json.loads(line)) for line in lines if line.strip()]
