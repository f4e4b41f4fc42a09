"""The one event model: its exact JSON line, its SQLite row, and reading lines that carry more than it knows."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError

from events.record import Event, ViewRecord, event_from_change
from events.store import EventStore, JsonlWriter, event_from_row, read_jsonl
from zones.dwell import StateChange

# A warn as the dwell timer reports it: unrounded times, a numpy box, a non-ASCII evidence path.
CHANGE = StateChange("warn", "sidewalk_parking", "trottoir-1", "7", "car", 542.12345, 62.0004,
                     tuple(np.array([412.04, 290.55, 520.0, 350.0])), 0.87149)
ORIGIN = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
EVIDENCE = {"snapshot": "evidence/cam-01/café.jpg"}
# The line the dataclass Event wrote before the model (written by that code from CHANGE): its keys and values
# never change; the second wave of DESIGN.md appends its keys (possibly null) after them.
RELEASED_LINE = ('{"event_id": "cam-01/trottoir-1/7/warn", "type": "warn", "rule": "sidewalk_parking", '
                 '"camera_id": "cam-01", "zone_id": "trottoir-1", "object_id": "7", "class": "car", "t": 542.123, '
                 '"ts": "2026-11-22T08:09:02.123450+00:00", "since_t": 62.0, "dwell_s": 480.123, '
                 '"bbox": [412.0, 290.6, 520.0, 350.0], "score": 0.871, '
                 '"evidence": {"snapshot": "evidence/cam-01/café.jpg"}}')
LINE = RELEASED_LINE[:-1] + (', "since_ts": "2026-11-22T08:01:02.000400+00:00", "lon": 120.6712, "lat": 28.0011, '
                             '"sightings": null, "plate": null, "plate_score": null, "offence": null, "action": null, '
                             '"unit": null, "view": null}')
WHERE = (120.6712, 28.0011)  # the camera's geo

# The events table as released before the model derived it: database files written then must keep working.
RELEASED_TABLE = """
CREATE TABLE events (
    event_id    TEXT PRIMARY KEY, type TEXT NOT NULL, rule TEXT NOT NULL, camera_id TEXT NOT NULL,
    zone_id TEXT NOT NULL, object_id TEXT NOT NULL, class TEXT NOT NULL, t REAL NOT NULL, ts TEXT,
    since_t REAL NOT NULL, dwell_s REAL NOT NULL, bbox TEXT NOT NULL, score REAL NOT NULL, evidence TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
"""


def warn() -> Event:
    return event_from_change(CHANGE, "cam-01", ORIGIN, EVIDENCE, WHERE)


def test_the_jsonl_line_of_a_known_event_is_pinned_byte_for_byte(tmp_path):
    writer = JsonlWriter(tmp_path / "events.jsonl")
    assert writer.write(warn())
    writer.close()
    assert (tmp_path / "events.jsonl").read_text(encoding="utf-8") == LINE + "\n"
    assert read_jsonl(tmp_path / "events.jsonl") == [warn()]


def test_lines_written_before_the_second_wave_still_read():
    old = Event.model_validate_json(RELEASED_LINE)
    assert old.model_dump(exclude={"since_ts", "lon", "lat"}) == warn().model_dump(exclude={"since_ts", "lon", "lat"})
    assert (old.since_ts, old.lon, old.lat, old.sightings) == (None, None, None, None)


def test_the_store_gives_back_the_event_it_was_given_once(tmp_path, store_target):
    store = EventStore(store_target)
    assert store.add(warn()) and not store.add(warn())
    assert list(store.events()) == [warn()] and list(store.events("other")) == []
    store.close()


def test_a_fixed_cameras_view_at_the_event_round_trips_through_the_store(store_target):
    shifted = event_from_change(CHANGE, "cam-01", ORIGIN, EVIDENCE, WHERE, ViewRecord(state="shifted",
                                                                                       displacement_px=34.0))
    moved = warn().model_copy(update={"event_id": "cam-01/trottoir-1/8/warn", "view": ViewRecord(state="moved")})
    assert shifted.to_json()["view"] == {"state": "shifted", "displacement_px": 34.0, "preset": None}
    store = EventStore(store_target)
    assert store.add(shifted) and store.add(moved) and store.add(warn().model_copy(update={"event_id": "c/z/9/warn"}))
    assert {e.event_id: e.view for e in store.events()} == {
        "cam-01/trottoir-1/7/warn": ViewRecord(state="shifted", displacement_px=34.0),
        "cam-01/trottoir-1/8/warn": ViewRecord(state="moved", displacement_px=None), "c/z/9/warn": None}
    stored = store.db.execute("SELECT view FROM events WHERE event_id = ?", (shifted.event_id,)).fetchone()[0]
    assert json.loads(stored) == {"state": "shifted", "displacement_px": 34.0, "preset": None}  # JSON text
    store.close()


def test_a_database_file_of_the_released_layout_is_upgraded_in_place(tmp_path):
    path = tmp_path / "events.db"
    released = sqlite3.connect(path)
    released.executescript(RELEASED_TABLE)
    columns = [row[1:4] for row in released.execute("PRAGMA table_info(events)")]
    old = json.loads(RELEASED_LINE)
    released.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [*(json.dumps(v) if k in ("bbox", "evidence") else v for k, v in old.items()), "2026-11-22"])
    released.execute("DELETE FROM events WHERE rowid < 0")
    rowid = released.execute("SELECT rowid FROM events").fetchone()[0]
    released.commit()
    released.close()
    store = EventStore(path)
    upgraded = {name: (sql, not_null) for name, sql, not_null in
                (row[1:4] for row in store.db.execute("PRAGMA table_info(events)"))}
    assert upgraded == {**{name: (sql, not_null) for name, sql, not_null in columns}, "since_t": ("REAL", 0),
                        "since_ts": ("TEXT", 0), "lon": ("REAL", 0), "lat": ("REAL", 0), "sightings": ("TEXT", 0),
                        "plate": ("TEXT", 0), "plate_score": ("REAL", 0), "offence": ("INTEGER", 0),
                        "action": ("TEXT", 0), "unit": ("TEXT", 0), "view": ("TEXT", 0)}
    indexes = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "events_by_plate" in indexes  # a plate's history is one index lookup in upgraded files too
    assert store.db.execute("SELECT rowid FROM events").fetchone()[0] == rowid  # the review queue's order
    assert list(store.events()) == [Event.model_validate(old)]
    assert not store.add(warn())  # the same event id: still idempotent after the upgrade
    assert store.add(warn().model_copy(update={"event_id": "cam-01/trottoir-1/8/warn"}))
    store.close()
    fresh = EventStore(tmp_path / "fresh.db")
    assert {row[1]: (row[2], row[3]) for row in fresh.db.execute("PRAGMA table_info(events)")} == upgraded
    fresh.close()
    assert len(list(EventStore(path).events())) == 2  # opening an upgraded file again changes nothing


def test_a_row_of_a_join_decodes_to_its_event(tmp_path):
    store = EventStore(tmp_path / "events.db")
    store.add(warn())
    store.close()
    db = sqlite3.connect(tmp_path / "events.db")
    db.row_factory = sqlite3.Row
    row = db.execute("SELECT 5 AS seq, 'pending' AS status, e.* FROM events e").fetchone()
    assert event_from_row(row) == warn() and json.loads(row["bbox"]) == [412.0, 290.6, 520.0, 350.0]
    db.close()


def test_reading_ignores_unknown_keys_and_refuses_missing_ones_and_wrong_types():
    data = json.loads(LINE)
    assert Event.model_validate({**data, "tow_truck": None, "tow_score": 0.4}) == warn()
    with pytest.raises(ValidationError, match="class"):
        Event.model_validate({k: v for k, v in data.items() if k != "class"})
    with pytest.raises(ValidationError, match="rule"):
        Event.model_validate({**data, "rule": "jaywalking"})
    with pytest.raises(ValidationError, match="bbox"):
        Event.model_validate({**data, "bbox": [1.0, 2.0]})


def test_an_event_cannot_be_changed_once_made():
    with pytest.raises(ValidationError):
        warn().evidence = {}  # type: ignore[misc]
