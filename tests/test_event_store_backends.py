"""The event store on both backends: an older events table upgraded in place, several processes writing one
PostgreSQL store at once, and each new event written together with its outbox rows."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from events.database import Database
from events.record import Event, ViewRecord
from events.store import EVENT_COLUMNS, EventStore

# An events table of an older streetorder: fewer columns, and since_t NOT NULL (the model now allows null).
OLDER_TABLE = """
CREATE TABLE events (
    event_id TEXT PRIMARY KEY, type TEXT NOT NULL, rule TEXT NOT NULL, camera_id TEXT NOT NULL,
    zone_id TEXT NOT NULL, object_id TEXT NOT NULL, class TEXT NOT NULL, t REAL NOT NULL, ts TEXT,
    since_t REAL NOT NULL, dwell_s REAL NOT NULL, bbox TEXT NOT NULL, score REAL NOT NULL, evidence TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
"""


def event(obj: int, camera: str = "cam-01") -> Event:
    return Event(event_id=f"{camera}/walk/{obj}/warn", type="warn", rule="sidewalk_parking", camera_id=camera,
                 zone_id="walk", object_id=str(obj), class_name="car", t=float(obj), ts="2026-11-22T08:00:00+00:00",
                 since_t=0.0, dwell_s=480.0, bbox=[1.0, 2.0, 3.0, 4.0], score=0.9, evidence={})


def test_an_older_events_table_is_upgraded_in_place_with_its_rows(store_target):
    older = Database(store_target, OLDER_TABLE)
    for obj in (3, 1):
        row = {k: v for k, v in event(obj).to_json().items() if k in older.columns("events")}
        row = {**row, "bbox": json.dumps(row["bbox"]), "evidence": "{}", "recorded_at": "2026-11-22T08:00:01"}
        older.execute(f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                      tuple(row.values()))
    older.close()
    store = EventStore(store_target)
    columns = store.db.columns("events")
    assert set(EVENT_COLUMNS) | {"recorded_at"} <= set(columns)
    assert not columns["since_t"] and not columns["plate"] and columns["dwell_s"]  # loosened, added, kept
    assert [e.event_id for e in store.events()] == ["cam-01/walk/1/warn", "cam-01/walk/3/warn"]
    order = [r[0] for r in store.db.execute("SELECT event_id FROM events ORDER BY rowid")]
    assert order == ["cam-01/walk/3/warn", "cam-01/walk/1/warn"]  # the order of recording is kept
    view = ViewRecord(state="shifted", displacement_px=12.5)  # a column the older table did not have
    assert not store.add(event(3)) and store.add(event(5).model_copy(update={"since_t": None, "plate": "京E·MC139",
                                                                             "view": view}))
    assert [e.view for e in store.events()] == [None, None, view]
    assert [r[0] for r in store.db.execute("SELECT event_id FROM events ORDER BY rowid")][-1] == "cam-01/walk/5/warn"
    assert store.highest_object_id("cam-01") == 5
    store.close()
    again = EventStore(store_target)  # opening an upgraded table again changes nothing
    assert len(list(again.events())) == 3
    again.close()


def write_events(target: str, objects: list[int]) -> int:
    """One writer process: stores the events of ``objects`` and says how many were new to it."""
    store = EventStore(target, sinks=("hook",))
    try:
        return sum(store.add(event(obj)) for obj in objects)
    finally:
        store.close()


def test_four_processes_writing_overlapping_events_to_one_postgresql_store_store_each_once(postgres_server):
    target = postgres_server.fresh_url()
    batches = [list(range(start, start + 120)) for start in (0, 40, 80, 120)]  # each overlaps the next
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        new = pool.starmap(write_events, [(target, objects) for objects in batches])
    distinct = set().union(*batches)
    db = Database(target)
    assert sum(new) == len(distinct)  # every event was new to exactly one writer
    assert db.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()[:] == (len(distinct),) * 2
    assert db.execute("SELECT count(*) FROM outbox WHERE sink = 'hook'").fetchone()[0] == len(distinct)
    assert db.execute("SELECT count(DISTINCT rowid) FROM events").fetchone()[0] == len(distinct)
    db.close()


def test_an_event_and_its_outbox_rows_are_written_together(store_target, monkeypatch):
    store = EventStore(store_target, sinks=("a", "b"))
    assert store.add(event(1)) and not store.add(event(1))  # a replay adds no outbox rows
    rows = store.db.execute("SELECT sink, event_id, body FROM outbox ORDER BY sink").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("a", "cam-01/walk/1/warn"), ("b", "cam-01/walk/1/warn")]
    assert all(json.loads(r[2]) == event(1).to_json() for r in rows)

    def broken(*args):
        raise RuntimeError("the outbox cannot be written")
    monkeypatch.setattr("events.store.enqueue", broken)
    with pytest.raises(RuntimeError):
        store.add(event(2))
    assert [e.event_id for e in store.events()] == ["cam-01/walk/1/warn"]  # no event without its outbox rows
    monkeypatch.undo()
    assert store.add(event(2))
    assert store.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 4
    store.close()
    without = EventStore(store_target)  # a store with no sinks writes no outbox rows
    assert without.add(event(3)) and without.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 4
    without.close()


def test_recordings_keep_their_object_ids_and_a_new_one_starts_above_all_used(store_target):
    from events.recordings import RecordingStore
    store = RecordingStore(store_target)
    assert store.first_object_id("pole-3", "day-1", "day-1.mp4", 0) == 1  # the camera's first recording
    store.finish("pole-3", "day-1", 14)
    store.finish("pole-3", "day-1", 9)  # a shorter re-run does not lower what was used
    assert store.first_object_id("pole-3", "day-2", "day-2.mp4", 20) == 21  # above the events' ids too
    assert store.first_object_id("pole-3", "day-3", "day-3.mp4", 0) == 22
    store.close()
    again = RecordingStore(store_target)  # as the next process finds them
    assert again.first_object_id("pole-3", "day-1", "day-1.mp4", 30) == 1
    assert again.first_object_id("other", "day-1", "day-1.mp4", 0) == 1  # per camera
    again.close()
