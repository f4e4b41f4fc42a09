"""The retention purge (events/purge.py): after enforcement.retention, events no reviewer confirmed lose their plates
and photos; confirmed and recent ones keep them; no path leads the purge out of the evidence folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from events.database import Database as StoreDatabase
from events.purge import DailyPurge, Purge
from events.record import Event
from events.store import EventStore
from review.accounts import User
from review.db import Database
from review.verdicts import Verdicts
from streams.live_runner import daily_purge
from streetorder.cli import main
from zones.config import parse_config

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
RETENTION = 30 * 86400.0
OLD, RECENT = NOW - timedelta(days=45), NOW - timedelta(days=3)


def warn(obj: str, when: datetime, kind: str = "warn", plate: str | None = "京E·MC139",
         evidence: dict[str, str] | None = None) -> Event:
    return Event(event_id=f"cam/walk/{obj}/{kind}", type=kind, rule="sidewalk_parking", camera_id="cam",
                 zone_id="walk", object_id=obj, class_name="car", t=1.0, ts=when.isoformat(), since_t=0.0,
                 dwell_s=480.0, bbox=[1, 2, 3, 4], score=0.9, plate=plate, plate_score=None if plate is None else 0.95,
                 evidence=evidence if evidence is not None else photos(obj, kind))


def photos(obj: str, kind: str) -> dict[str, str]:
    return {"snapshot": f"evidence/cam/walk/{obj}-{kind}.jpg", "crop": f"evidence/cam/walk/{obj}-{kind}-crop.jpg",
            "plate_crop": f"evidence/cam/walk/{obj}-plate.jpg"}


@pytest.fixture
def target(store_target, tmp_path) -> str:
    """The store of the run folder ``out``: its events.db, or a fresh schema on a real PostgreSQL."""
    return str(tmp_path / "out" / "events.db") if store_target.endswith(".db") else store_target


@pytest.fixture
def out(tmp_path, target) -> Path:
    """A store of a run folder: events with their photos on disk, and no review tables."""
    root = tmp_path / "out"
    store = EventStore(target)
    store.save_camera("cam", "cam.mp4", [], str(root.resolve()))
    for event in (warn("1", OLD), warn("1", OLD + timedelta(minutes=5), "clear"),  # rejected
                  warn("2", OLD), warn("2", OLD + timedelta(minutes=5), "clear"),  # confirmed
                  warn("3", OLD),                                                  # never reviewed
                  warn("4", RECENT)):                                              # rejected, but recent
        store.add(event)
        for path in event.evidence.values():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(b"\xff\xd8 jpeg")
    store.close()
    return root


def review(target: str, verdicts: dict[str, str]) -> None:
    db = Database(target)
    db.execute("INSERT INTO review_users (user_id, name, role, password_hash, created_at) "
               "VALUES (1, 'rita', 'reviewer', 'x', '2026-01-01')")
    for event_id, verdict in verdicts.items():
        Verdicts(db).record(event_id, User(1, "rita", "reviewer"), verdict, "other" if verdict == "reject" else None,
                            "a note" if verdict == "reject" else None)


def stored(target: str) -> dict[str, Event]:
    store = EventStore(target)
    try:
        return {e.event_id: e for e in store.events()}
    finally:
        store.close()


def purge_log(target: str) -> list[tuple]:
    db = StoreDatabase(target)
    try:
        return [tuple(r) for r in db.execute("SELECT event_id, status, plate, files FROM purge_log ORDER BY purge_id")]
    finally:
        db.close()


def on_disk(out: Path, obj: str, kind: str = "warn") -> list[bool]:
    return [(out / path).is_file() for path in photos(obj, kind).values()]


def purge(target: str, **options) -> list:
    job = Purge(target, RETENTION, **options)
    try:
        return job.run(now=NOW)
    finally:
        job.close()


def test_old_rejected_and_unreviewed_events_lose_plates_and_photos_confirmed_and_recent_keep_them(target, out):
    review(target, {"cam/walk/1/warn": "reject", "cam/walk/2/warn": "confirm", "cam/walk/4/warn": "reject"})
    purged = purge(target)
    assert sorted(p.event_id for p in purged) == ["cam/walk/1/clear", "cam/walk/1/warn", "cam/walk/3/warn"]
    events = stored(target)
    for event_id in ("cam/walk/1/warn", "cam/walk/1/clear", "cam/walk/3/warn"):
        event = events[event_id]
        assert (event.plate, event.plate_score, event.evidence) == (None, None, {})
        assert event.ts is not None and event.t == 1.0  # the row, its times and ids stay
    assert on_disk(out, "1") == [False] * 3 and on_disk(out, "1", "clear")[:2] == [False] * 2
    assert on_disk(out, "3") == [False] * 3
    for event_id in ("cam/walk/2/warn", "cam/walk/2/clear", "cam/walk/4/warn"):  # the confirmed object's clear too
        assert events[event_id].plate == "京E·MC139" and events[event_id].evidence
    assert on_disk(out, "2") == [True] * 3 and on_disk(out, "2", "clear") == [True] * 3 and on_disk(out, "4")
    log = {event_id: (status, plate, json.loads(files)) for event_id, status, plate, files in purge_log(target)}
    assert log["cam/walk/1/warn"][:2] == ("rejected", 1) and log["cam/walk/3/warn"][0] == "pending"
    assert set(log["cam/walk/1/warn"][2].values()) == {"deleted"}
    assert "京E" not in json.dumps(log, ensure_ascii=False)  # the log does not keep the plate it purged


def test_a_reviewers_correction_of_the_plate_goes_with_the_plate(target, out):
    review(target, {"cam/walk/1/warn": "reject", "cam/walk/2/warn": "confirm"})
    db = Database(target)
    for event_id in ("cam/walk/1/warn", "cam/walk/2/warn", "cam/walk/3/warn"):
        db.execute("INSERT INTO review_plate_corrections VALUES (?, '京E·MC138', 1, '2026-05-01')",
                   (event_id,))
    db.execute("UPDATE events SET plate = NULL, plate_score = NULL WHERE event_id = 'cam/walk/3/warn'")
    purged = {p.event_id: p for p in purge(target)}
    assert purged["cam/walk/1/warn"].plate and purged["cam/walk/3/warn"].plate  # 3: only its correction held one
    left = [row[0] for row in db.execute("SELECT event_id FROM review_plate_corrections")]
    assert left == ["cam/walk/2/warn"]


def test_a_second_purge_finds_nothing_left(target, out):
    review(target, {"cam/walk/2/warn": "confirm"})
    assert len(purge(target)) == 3
    assert purge(target) == [] and len(purge_log(target)) == 3


def test_without_review_tables_every_old_event_counts_as_unconfirmed_and_batches_cover_them_all(target, out):
    purged = purge(target, batch=2)
    assert sorted(p.event_id for p in purged) == ["cam/walk/1/clear", "cam/walk/1/warn", "cam/walk/2/clear",
                                                  "cam/walk/2/warn", "cam/walk/3/warn"]
    assert {p.status for p in purged} == {"unreviewed"}
    assert stored(target)["cam/walk/4/warn"].plate == "京E·MC139" and on_disk(out, "4") == [True] * 3


def test_paths_out_of_the_evidence_folder_are_never_followed(target, out, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("secret.jpg", "linked.jpg", "events.jpg"):
        (outside / name).write_bytes(b"keep me")
    (out / "evidence" / "cam" / "walk" / "link.jpg").symlink_to(outside / "linked.jpg")
    (out / "evidence" / "cam" / "walk" / "dir-link").symlink_to(outside)
    evidence = {"up": "../outside/secret.jpg", "link": "evidence/cam/walk/link.jpg",
                "through": "evidence/cam/walk/dir-link/events.jpg", "absolute": str(outside / "secret.jpg"),
                "store": "events.db"}
    store = EventStore(target)
    store.add(warn("9", OLD, evidence=evidence))
    store.close()
    if not (out / "events.db").exists():  # a PostgreSQL store: a file of that name stands in for it
        (out / "events.db").write_bytes(b"keep me")
    (purged,) = [p for p in purge(target) if p.event_id == "cam/walk/9/warn"]
    assert set(purged.files.values()) == {"refused"}
    assert all((outside / name).read_bytes() == b"keep me" for name in ("secret.jpg", "linked.jpg", "events.jpg"))
    assert (out / "events.db").is_file() and stored(target)["cam/walk/9/warn"].evidence == {}


def test_a_dry_run_deletes_and_changes_nothing(target, out):
    job = Purge(target, RETENTION)
    would = job.run(dry_run=True, now=NOW)
    job.close()
    assert len(would) == 5 and {what for p in would for what in p.files.values()} == {"to delete"}
    assert all(on_disk(out, obj) == [True] * 3 for obj in "1234")
    assert all(event.plate == "京E·MC139" for event in stored(target).values()) and purge_log(target) == []


def test_the_command_prints_what_it_purged_and_its_dry_run_keeps_everything(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("streetorder.cli.setup_logging", lambda verbose: None)  # keep the root logger's stream
    out = tmp_path / "out"
    path = out / "events.db"
    store = EventStore(path)
    store.save_camera("cam", "cam.mp4", [], str(out.resolve()))
    store.add(warn("1", datetime.now(UTC) - timedelta(days=31), evidence={}))
    store.add(warn("2", datetime.now(UTC) - timedelta(days=29), evidence={}))
    store.close()
    assert main(["purge", "--store", str(out / "events.db"), "--dry-run"]) == 0
    assert "would purge 1 event(s)" in capsys.readouterr().out and stored(str(path))["cam/walk/1/warn"].plate
    assert main(["purge", "--store", str(out / "events.db")]) == 0
    printed = capsys.readouterr().out
    assert "cam/walk/1/warn" in printed and "purged 1 event(s)" in printed and "1 plate(s)" in printed
    after = stored(str(path))
    assert after["cam/walk/1/warn"].plate is None and after["cam/walk/2/warn"].plate == "京E·MC139"
    assert main(["purge", "--store", str(tmp_path / "none.db")]) == 2


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_daily_purge_runs_at_start_then_once_a_day_one_batch_a_tick(tmp_path):
    out = tmp_path / "out"
    store = EventStore(out / "events.db")
    for obj in "123":
        store.add(warn(obj, datetime.now(UTC) - timedelta(days=40), evidence={}))
    clock = FakeClock()
    daily = DailyPurge(lambda: Purge(out / "events.db", RETENTION, batch=1), clock=clock)
    plates = lambda: sum(e.plate is not None for e in store.events())  # noqa: E731
    daily.tick()
    assert daily.runs == 1 and plates() == 2  # at start, and one event per tick
    daily.tick()
    daily.tick()
    assert plates() == 0
    daily.tick()  # finds no more rows: this run is over
    store.add(warn("4", datetime.now(UTC) - timedelta(days=40), evidence={}))
    for _ in range(5):
        daily.tick()
    clock.now += 86399
    daily.tick()
    assert daily.runs == 1 and plates() == 1  # not due again within the day
    clock.now += 1
    daily.tick()
    daily.tick()
    assert daily.runs == 2 and plates() == 0
    daily.close()
    store.close()


def test_run_purges_daily_unless_retention_is_null(tmp_path):
    store = EventStore(tmp_path / "events.db")
    camera = {"id": "c", "source": "rtsp://h/x"}
    assert isinstance(daily_purge(parse_config({"cameras": [camera]}), store), DailyPurge)
    assert daily_purge(parse_config({"cameras": [camera], "enforcement": {"retention": None}}), store) is None
    assert parse_config({"cameras": [camera], "enforcement": {"retention": "720h"}}).enforcement.retention == RETENTION
    store.close()


def test_the_command_purges_a_postgresql_store_named_by_its_url(postgres_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("streetorder.cli.setup_logging", lambda verbose: None)
    url = postgres_server.fresh_url()
    store = EventStore(url)
    store.save_camera("cam", "cam.mp4", [], str(tmp_path.resolve()))
    store.add(warn("1", datetime.now(UTC) - timedelta(days=31), evidence={}))
    store.add(warn("2", datetime.now(UTC) - timedelta(days=29), evidence={}))
    store.close()
    assert main(["purge", "--store", url]) == 0
    assert "purged 1 event(s)" in capsys.readouterr().out
    after = stored(url)
    assert after["cam/walk/1/warn"].plate is None and after["cam/walk/2/warn"].plate == "京E·MC139"
