"""Plates on patrol sightings, with replayed detections, exact GPS and a stand-in plate reader: the plate a pass
reads is the sighting's, chalk matching uses it (different plates: another car), the warn carries it and the ladder
counts it; marks keep it in the store between runs (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from detector.boxes import crop
from events.chalk_marks import ChalkMarkStore
from events.evidence import EvidenceWriter
from events.recorder import EventRecorder
from events.store import EventStore
from geo import GroundProjection
from plates import stage as plate_stage
from plates.views import BestViews
from streams.frames import Frame
from streams.patrol import PatrolPipeline
from tests.plate_replay import FixedReader
from tests.test_patrol_pipeline import (
    DURATION,
    FPS,
    MOUNT,
    PAVING,
    SIZE,
    SPEED,
    STAYS,
    T0,
    boxes_in_view,
    lonlat,
    write_track,
)
from zones.chalk import ChalkParams
from zones.config import parse_config

PLATE, OTHER = "浙C·D1234", "浙C·E5678"
MAX_READS = 3


def reader_saying(text: str | None) -> FixedReader:
    """A reader that reads ``text`` on every view it is given (None: finds no plate)."""
    return FixedReader([text] * 1000)


def drive(tmp_path, store_target: str, name: str, minutes: float, cars, reader: FixedReader, monkeypatch,
          plates: dict | None = None):
    """One recording of the pass ``minutes`` after T0, its plates read by ``reader`` (the engine as
    ``open_stage`` loads it); its events, in a store every pass shares."""
    monkeypatch.setattr(plate_stage, "engine_installed", lambda engine: True)
    monkeypatch.setattr(plate_stage, "shared_reader", lambda engine, pattern, min_score: reader)
    start = T0 + timedelta(minutes=minutes)
    write_track(tmp_path / f"{name}.csv", start)
    pavement = [lonlat(20, -8), lonlat(170, -8), lonlat(170, -3), lonlat(20, -3)]
    config = parse_config({"analysis_fps": FPS, "plates": {"enabled": True}, "cameras": [{
        "id": "patrol-07", "kind": "vehicle", "source": f"{name}.mp4", "gps": f"{name}.csv", "mount": MOUNT,
        "start_time": start.isoformat(), "plates": plates or {"max_reads": MAX_READS},
        "zones": [{"id": "south-pavement", "type": "sidewalk", "geo_polygon": pavement}]}]}, tmp_path / "c.yaml")
    camera = config.cameras[0]
    store = EventStore(store_target)
    marks = ChalkMarkStore(store.path)
    recorder = EventRecorder(camera.id, EvidenceWriter(tmp_path / "out", camera), store)
    pipeline = PatrolPipeline(config, camera, SIZE, DURATION, camera.start_time, recorder, marks, tmp_path / "out")
    view = GroundProjection(camera.mount.to_mount(), SIZE)
    events, frame = [], None
    for i in range(int(DURATION * FPS)):
        frame = Frame(PAVING, i / FPS, i)
        events += pipeline.step(frame, boxes_in_view(cars, SPEED * i / FPS, view, None))
    events += pipeline.finish(frame)
    marks.close()
    store.close()
    return events


def marks_of(store_target: str):
    store = ChalkMarkStore(store_target)
    try:
        return list(store.load("patrol-07", ChalkParams()).marks.values())
    finally:
        store.close()


def test_a_plate_read_on_two_passes_is_warned_with_it_and_the_ladder_counts_patrol_warns(tmp_path, store_target,
                                                                                         monkeypatch):
    first = reader_saying(PLATE)
    assert drive(tmp_path, store_target, "pass-1", 0, [STAYS], first, monkeypatch) == []
    assert len(first.crops) == MAX_READS  # the camera's max_reads, not one read per frame
    (mark,) = marks_of(store_target)  # a new store: the plate is kept with the mark between runs
    assert (mark.first.plate, mark.first.plate_score) == (PLATE, pytest.approx(0.95))
    assert (tmp_path / "out" / mark.first.plate_crop).read_bytes()[:2] == b"\xff\xd8"

    (warn,) = drive(tmp_path, store_target, "pass-2", 10, [STAYS], reader_saying(PLATE), monkeypatch)
    assert (warn.type, warn.plate, warn.offence, warn.action) == ("warn", PLATE, 1, "advise")
    assert warn.plate_score == pytest.approx(0.95)
    assert (tmp_path / "out" / warn.evidence["plate_crop"]).is_file()
    assert warn.evidence["plate_crop"] != mark.first.plate_crop  # this pass's plate photo

    (clear,) = drive(tmp_path, store_target, "pass-3", 30, [], reader_saying(None), monkeypatch)
    assert (clear.type, clear.plate, clear.offence) == ("clear", PLATE, None)
    drive(tmp_path, store_target, "pass-4", 40, [STAYS], reader_saying(PLATE), monkeypatch)  # back: chalked anew
    (again,) = drive(tmp_path, store_target, "pass-5", 50, [STAYS], reader_saying(PLATE), monkeypatch)
    assert (again.type, again.plate, again.offence, again.action) == ("warn", PLATE, 2, "educate")
    assert again.object_id != warn.object_id


def test_a_look_alike_with_another_plate_on_the_spot_is_chalked_anew_not_warned(tmp_path, store_target,
                                                                                monkeypatch):
    drive(tmp_path, store_target, "pass-1", 0, [STAYS], reader_saying(PLATE), monkeypatch)
    (chalked,) = marks_of(store_target)
    # the same spot, size and look (the same pixels): without plates this is the car of pass 1, warned
    assert drive(tmp_path, store_target, "pass-2", 10, [STAYS], reader_saying(OTHER), monkeypatch) == []
    (mark,) = marks_of(store_target)
    assert mark.mark_id != chalked.mark_id and mark.first.plate == OTHER
    assert mark.first.ts - chalked.first.ts == timedelta(minutes=10)  # its own clock, from pass 2
    (warn,) = drive(tmp_path, store_target, "pass-3", 20, [STAYS], reader_saying(OTHER), monkeypatch)
    assert (warn.plate, warn.offence, warn.object_id) == (OTHER, 1, mark.mark_id)
    assert warn.dwell_s == pytest.approx(600.0, abs=0.5)


def test_a_plate_read_on_one_pass_only_falls_back_to_appearance(tmp_path, store_target, monkeypatch):
    drive(tmp_path, store_target, "pass-1", 0, [STAYS], reader_saying(PLATE), monkeypatch)
    (warn,) = drive(tmp_path, store_target, "pass-2", 10, [STAYS], reader_saying(None), monkeypatch)
    (mark,) = marks_of(store_target)
    # matched by place, size and look; the plate is the one read when it was chalked, with that photo
    assert (warn.type, warn.plate, warn.offence) == ("warn", PLATE, 1)
    assert warn.evidence["plate_crop"] == mark.first.plate_crop
    assert mark.last.plate is None and mark.read == mark.first


def test_plates_never_read_warn_by_appearance_with_a_null_plate(tmp_path, store_target, monkeypatch):
    unread = reader_saying(None)
    drive(tmp_path, store_target, "pass-1", 0, [STAYS], unread, monkeypatch)
    (warn,) = drive(tmp_path, store_target, "pass-2", 10, [STAYS], reader_saying(None), monkeypatch)
    assert len(unread.crops) == MAX_READS
    assert (warn.plate, warn.plate_score, warn.offence, warn.action) == (None, None, None, None)
    assert "plate_crop" not in warn.evidence


def test_reads_that_disagree_are_no_plate(tmp_path, store_target, monkeypatch):
    drive(tmp_path, store_target, "pass-1", 0, [STAYS], FixedReader([PLATE, OTHER, "浙C·D1284"]), monkeypatch)
    (mark,) = marks_of(store_target)
    assert mark.first.plate is None and mark.first.plate_score is None
    assert mark.first.plate_crop is not None  # the region is there for a reviewer to read


def test_a_camera_with_plates_off_reads_nothing(tmp_path, monkeypatch):
    never = reader_saying(PLATE)
    target = str(tmp_path / "events.db")
    drive(tmp_path, target, "pass-1", 0, [STAYS], never, monkeypatch, plates={"enabled": False})
    assert never.crops == [] and marks_of(target)[0].first.plate is None


def test_the_largest_views_of_a_pass_are_read():
    views = BestViews(keep=2)
    image = np.zeros((100, 200, 3), np.uint8)
    for t, width in [(0.0, 30), (0.2, 50), (0.4, 40), (0.6, 10)]:
        views.see("car", image, (0, 0, width, 40), t)
    kept = views.pop("car")
    assert [t for t, _ in kept] == [0.2, 0.4]  # the two largest, in time order
    assert [view.shape for _, view in kept] == [crop(image, (0, 0, w, 40)).shape for w in (50, 40)]
    views.see("gone", image, (0, 0, 30, 30), 1.0)
    views.see("here", image, (0, 0, 30, 30), 1.0)
    views.seen("here", 3.0)
    views.forget_unseen_since(2.0)
    assert views.pop("gone") == [] and len(views.pop("here")) == 1
