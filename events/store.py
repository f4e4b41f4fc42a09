"""Where events live: the store (an SQLite file, the embedded default, or PostgreSQL) and an ``events.jsonl`` file.

Both are idempotent on ``event_id``: a replay or a restart never writes an event twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from events.camera_status import SCHEMA as CAMERA_STATUS_SCHEMA
from events.database import Database, Row, StoreError, postgresql_ddl
from events.notice import notice
from events.outbox import SCHEMA as OUTBOX_SCHEMA
from events.outbox import SinkRoute, enqueue
from events.record import Event

__all__ = ["EVENT_COLUMNS", "SCHEMA", "EventStore", "JsonlWriter", "StoreError", "event_from_row", "event_row",
           "prepare_events", "read_jsonl", "store_time", "upgrade_events_table"]

log = logging.getLogger(__name__)


def _column(name: str, field: FieldInfo) -> tuple[str, str, bool]:
    """(column, SQLite type, kept as JSON text) of one field of ``Event``: the column is named by the JSON key."""
    annotation, nullable = field.annotation, False
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not NoneType]
        annotation, nullable = members[0], len(members) < len(get_args(annotation))
    record = isinstance(annotation, type) and issubclass(annotation, BaseModel)  # a nested record (``view``)
    as_json = get_origin(annotation) in (list, dict) or record
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
_INSERT = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}, recorded_at) "
           f"VALUES ({', '.join(':' + column for column in EVENT_COLUMNS)}, :recorded_at) "
           "ON CONFLICT (event_id) DO NOTHING")

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
# Finds an event's object's other events (the purge keeps a confirmed object's every event).
OBJECT_INDEX = "CREATE INDEX IF NOT EXISTS events_by_object ON events (camera_id, zone_id, object_id)"
# PostgreSQL has no implicit rowid: the order of recording is an identity column of that name, so the same SQL
# (the review queue's scan, the purge's batches) runs on both.
_POSTGRESQL_EVENTS = SCHEMA.replace("    recorded_at TEXT NOT NULL\n);", "    recorded_at TEXT NOT NULL,\n"
                                    "    rowid       BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE\n);")


def prepare_events(db: Database) -> None:
    """Make the ``events``, ``cameras``, ``outbox`` and ``camera_status`` tables, or bring older ones to the model's
    columns."""
    if db.dialect == "sqlite":
        db.apply(SCHEMA + OUTBOX_SCHEMA + CAMERA_STATUS_SCHEMA)
    else:
        db.apply("", postgresql_only=postgresql_ddl(_POSTGRESQL_EVENTS + OUTBOX_SCHEMA + CAMERA_STATUS_SCHEMA))
    upgrade_events_table(db)


def upgrade_events_table(db: Database) -> None:
    """Bring an ``events`` table written by an older streetorder to the model's columns, in place and in one
    transaction: new columns are added; a column the model now allows to be null loses NOT NULL (on SQLite the
    table is rebuilt, rowids kept: the review queue orders by them). The plate and object indexes are made."""
    existing = db.columns("events")
    wanted = {column: "NOT NULL" in sql or "PRIMARY KEY" in sql for column, sql, _ in _COLUMNS}
    loosened = [c for c, not_null in wanted.items() if existing.get(c) and not not_null]
    missing = [c for c in wanted if c not in existing]
    no_rowid = db.dialect == "postgresql" and "rowid" not in existing  # a table made before it had one
    if existing and (loosened or missing or no_rowid):
        if db.dialect == "sqlite":
            _rebuild_sqlite_events(db, existing)
        else:
            types = {column: sql for column, sql, _ in _COLUMNS}
            with db.transaction() as tx:
                for column in missing:  # new columns are nullable: older rows have no value for them
                    kind = postgresql_ddl(types[column].replace(" NOT NULL", ""))
                    tx.execute(f"ALTER TABLE events ADD COLUMN IF NOT EXISTS {column} {kind}")
                for column in loosened:
                    tx.execute(f"ALTER TABLE events ALTER COLUMN {column} DROP NOT NULL")
                if no_rowid:  # the older rows are numbered in the order they are stored
                    tx.execute("ALTER TABLE events ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE")
    db.execute(PLATE_INDEX)
    db.execute(OBJECT_INDEX)


def _rebuild_sqlite_events(db: Database, existing: dict[str, bool]) -> None:
    shared = ", ".join(c for c in (*EVENT_COLUMNS, "recorded_at") if c in existing)
    with db.transaction() as tx:
        tx.execute("ALTER TABLE events RENAME TO events_before_upgrade")
        for index in ("events_by_camera", "events_by_type", "events_by_plate", "events_by_object"):
            tx.execute(f"DROP INDEX IF EXISTS {index}")
        tx.execute(f"CREATE TABLE events (\n{_EVENTS_TABLE}\n)")
        tx.execute(f"INSERT INTO events (rowid, {shared}) SELECT rowid, {shared} FROM events_before_upgrade")
        tx.execute("DROP TABLE events_before_upgrade")
        tx.execute("CREATE INDEX events_by_camera ON events (camera_id, t)")
        tx.execute("CREATE INDEX events_by_type ON events (type, recorded_at)")


class EventStore:
    """Events, in an SQLite file or on a PostgreSQL server (``target``: a path or a ``postgresql://`` URL).

    Each new event is written together with one outbox row per sink of ``sinks`` that takes it (names, or routes
    with ``accepts``: the config's ``sinks[]``), in one transaction, so an event in the store always reaches every
    sink (``events/outbox.py``).

    Example:
        >>> store = EventStore(":memory:")
        >>> store.add(event)          # doctest: +SKIP
        True
        >>> store.add(event)          # the same event_id again: ignored   # doctest: +SKIP
        False
    """

    def __init__(self, target: str | Path, sinks: Sequence[str | SinkRoute] = ()):
        self.db = Database(target)
        self.path = self.db.target
        self.sinks = tuple(sinks)
        prepare_events(self.db)

    def add(self, event: Event) -> bool:
        """Store an event and its outbox rows; returns False if an event with that id was already stored."""
        row = {**event_row(event), "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")}
        with self.db.transaction() as tx:
            new = tx.execute(_INSERT, row).rowcount == 1
            if new and self.sinks:
                body = event.to_json()
                routes = [s for s in self.sinks if isinstance(s, str) or (s.when == "recorded" and s.accepts(body))]
                plain = [s if isinstance(s, str) else s.name for s in routes if not getattr(s, "notify", None)]
                enqueue(tx, event.camera_id, event.event_id, json.dumps(body, ensure_ascii=False), plain)
                for route in routes:  # a notify sink's message: the event with its notice for people
                    if not isinstance(route, str) and getattr(route, "notify", None):
                        noticed = {**body, "notice": notice(body, route.notify.leave_within)}
                        enqueue(tx, event.camera_id, event.event_id, json.dumps(noticed, ensure_ascii=False),
                                [route.name])
        return new

    def events(self, camera_id: str | None = None) -> Iterator[Event]:
        """All events, oldest first on each camera's timeline."""
        query = (f"SELECT {', '.join(EVENT_COLUMNS)} FROM events" + (" WHERE camera_id = ?" if camera_id else "")
                 + " ORDER BY camera_id, t")
        for row in self.db.execute(query, (camera_id,) if camera_id else ()):
            yield event_from_row(row)

    def earlier_warns(self, plate: str, since: datetime, before: datetime, event_id: str | None = None) -> int:
        """Warns of ``plate`` (every camera) at ``since`` or later and before ``before``, not counting ``event_id``
        (the warn being graded) nor warns a reviewer rejected (``review_cases``, when the review app made it;
        pending and unreviewed ones count). A reviewer's plate correction (``review_plate_corrections``) replaces
        the event's read. An event's time is its ``ts``, else when it was stored."""
        rejected, matches, params = "", "plate = ?", (plate,)
        tables = self.db.tables()
        if "review_cases" in tables:
            rejected = (" AND event_id NOT IN (SELECT event_id FROM review_cases WHERE status = 'rejected' "
                        "AND type = 'warn')")
        if "review_plate_corrections" in tables:
            matches = ("(plate = ? AND event_id NOT IN (SELECT event_id FROM review_plate_corrections) OR "
                       "event_id IN (SELECT event_id FROM review_plate_corrections WHERE plate = ?))")
            params = (plate, plate)
        rows = self.db.execute(f"SELECT event_id, coalesce(ts, recorded_at) FROM events WHERE {matches} AND "
                               f"type = 'warn'{rejected}", params).fetchall()
        return sum(1 for other, when in rows if other != event_id and since <= store_time(when) < before)

    def highest_object_id(self, camera_id: str) -> int:
        """The highest numeric object id among the camera's events (0: none)."""
        numeric = "object_id NOT GLOB '*[^0-9]*'" if self.db.dialect == "sqlite" else "object_id ~ '^[0-9]+$'"
        row = self.db.execute(f"SELECT max(CAST(object_id AS BIGINT)) FROM events WHERE camera_id = ? AND "
                              f"object_id != '' AND {numeric}", (camera_id,)).fetchone()
        return int(row[0] or 0)

    def save_camera(self, camera_id: str, source: str, zones: list[dict[str, Any]], evidence_root: str,
                    name: str | None = None, location: str | None = None, unit: str | None = None) -> None:
        """Remember a camera's names and zones for the reviewers (``source`` must already be masked)."""
        self.db.execute(
            "INSERT INTO cameras (camera_id, name, location, unit, source, zones, evidence_root) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (camera_id) DO UPDATE SET name = excluded.name, "
            "location = excluded.location, unit = excluded.unit, source = excluded.source, "
            "zones = excluded.zones, evidence_root = excluded.evidence_root",
            (camera_id, name, location, unit, source, json.dumps(zones), evidence_root),
        )

    def close(self) -> None:
        self.db.close()


def store_time(text: str) -> datetime:
    """An ISO time of the store; one without an offset is taken as UTC (as ``recorded_at`` is)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def event_row(event: Event) -> dict[str, Any]:
    """The ``events`` columns of an event (without ``recorded_at``): lists and dicts as JSON text."""
    return {k: json.dumps(v) if k in _JSON_COLUMNS and v is not None else v for k, v in event.to_json().items()}


def event_from_row(row: Mapping[str, Any] | Row) -> Event:
    """The event of an ``events`` row (a dict or a database ``Row``; other columns of a join are ignored)."""
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
