"""State that outlives the process: snapshots of the memory and the timers, the SQLite state store, and a whole
camera pipeline saved and taken up again (dwell semantics across a restart, driven with replayed detections)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import numpy as np
import pytest

from contracts.errors import UserError
from events.evidence import EvidenceWriter, Photos
from events.recorder import EventRecorder
from events.store import EventStore, JsonlWriter, read_jsonl
from streams.frames import Frame
from streams.pipeline import CameraPipeline
from streams.state import STATE_VERSION, CameraState, StateStore, StateVersionError, capture, resume
from streetorder.cli import main
from tests.replay import CAR, SIDEWALK, Replay, Thing, camera_config, detections

ORIGIN = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def parked(since: float, until: float, thing: Thing = CAR):
    return lambda t: [thing] if since <= t < until else []


def restarted(replay: Replay, raw_config: dict | None = None) -> Replay:
    """A new process: fresh stages that take up ``replay``'s state after a trip through JSON."""
    memory = json.loads(json.dumps(replay.memory.snapshot()))
    monitor = json.loads(json.dumps(replay.monitor.snapshot()))
    fresh = Replay(raw_config or camera_config([SIDEWALK]))
    fresh.memory.restore(memory)
    fresh.monitor.restore(monitor)
    return fresh


def test_a_restart_mid_dwell_warns_at_the_real_dwell_exactly_once():
    scene = parked(10, 1000)
    uninterrupted = Replay(camera_config([SIDEWALK])).run(0, 100, scene)
    before = Replay(camera_config([SIDEWALK])).run(0, 40, scene)  # rest began at 10, the process stops at 39.5
    after = restarted(before).run(55, 100, scene)  # back 15 s later (shorter than max_gap)
    (warn,) = after.of_kind("warn")
    (expected,) = uninterrupted.of_kind("warn")
    assert (warn.object_id, warn.since_t, warn.t) == (expected.object_id, 10.0, expected.t)
    assert before.of_kind("warn") == [] and after.of_kind("rest") == []  # no second timer was started


def test_a_warned_object_is_not_warned_again_after_a_restart_and_is_cleared_once():
    before = Replay(camera_config([SIDEWALK])).run(0, 80, parked(0, 100))
    assert len(before.of_kind("warn")) == 1
    after = restarted(before).run(90, 200, parked(0, 140))
    assert after.of_kind("warn") == []
    (clear,) = after.of_kind("clear")
    assert clear.object_id == before.of_kind("warn")[0].object_id and clear.t == 139.5


def test_an_outage_longer_than_max_gap_ends_the_timers_honestly():
    other = Thing((300, 180, 400, 250), track=2)  # a second car, resting since 30 s: not warned yet
    scene = lambda t: [CAR, *([other] if t >= 30 else [])]  # noqa: E731
    before = Replay(camera_config([SIDEWALK])).run(0, 70, scene)
    (warned,) = before.of_kind("warn")
    after = restarted(before).step(70 + 300, scene(370))  # down for five minutes (max_gap is two)
    kinds = {c.object_id: c.kind for c in after}
    assert kinds[warned.object_id] == "clear"
    assert [c.t for c in after if c.kind == "clear"] == [69.5]  # its last sighting, not the restart
    assert sorted(kinds.values()) == ["clear", "drop"]  # the unwarned car's timer ended without an event


def test_object_ids_go_on_after_a_restart():
    before = Replay(camera_config([SIDEWALK])).run(0, 20, parked(0, 100))
    after = restarted(before).run(25, 40, lambda t: [CAR, Thing((300, 180, 400, 250), track=5)])
    ids = sorted(int(c.object_id) for c in before.changes + after.changes if c.kind == "rest")
    assert ids == [1, 2]


def test_timers_of_a_zone_removed_from_the_config_are_dropped_and_new_settings_apply():
    before = Replay(camera_config([SIDEWALK])).run(0, 30, parked(0, 1000))
    longer = {**SIDEWALK, "warn_after": "90s"}
    after = restarted(before, camera_config([longer])).run(35, 100, parked(0, 1000))
    assert after.of_kind("warn")[0].t == pytest.approx(90.0, abs=1.0)  # the new warn_after, from the old rest start
    gone = restarted(before, camera_config([{**SIDEWALK, "id": "renamed"}]))
    assert gone.monitor.open_timers() == []


def test_state_store_saves_atomically_and_keeps_photos_until_their_timer_decides(tmp_path, store_target):
    store = StateStore(store_target)
    key = ("walk", "sidewalk_parking", "7")
    store.save({"cam-01": CameraState(ORIGIN, 12.5, {"objects": []}, {"zones": {}}, {key: Photos(b"rest", b"crop")})})
    loaded = StateStore(store_target).load("cam-01")  # as a new process would
    assert (loaded.origin, loaded.last_t, loaded.memory) == (ORIGIN, 12.5, {"objects": []})
    assert loaded.held == {key: Photos(b"rest", b"crop")}

    with pytest.raises(TypeError):  # something unsavable: nothing of this save is written
        store.save({"cam-01": CameraState(ORIGIN, 99.0, {"bad": object()}), "cam-02": CameraState(ORIGIN, 1.0)})
    again = StateStore(store_target)
    assert again.load("cam-01").last_t == 12.5 and again.load("cam-02") is None

    store.save({"cam-01": CameraState(ORIGIN, 20.0, held={})})  # the timer warned: its rest photos are written
    assert StateStore(store_target).load("cam-01").held == {}


def test_a_state_file_without_a_version_is_read_as_version_1_and_marked(tmp_path):
    """Files written before state files had versions hold the version 1 layout."""
    StateStore(tmp_path / "state.db").save({"cam-01": CameraState(ORIGIN, 12.5, {"objects": []})})
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("PRAGMA user_version = 0")
    assert StateStore(tmp_path / "state.db").load("cam-01").last_t == 12.5
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == STATE_VERSION == 1


def test_a_state_file_of_another_version_is_refused_with_what_to_do_and_left_alone(tmp_path):
    path = tmp_path / "state.db"
    StateStore(path).save({"cam-01": CameraState(ORIGIN, 12.5, {"objects": []})})
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {STATE_VERSION + 1}")
    with pytest.raises(StateVersionError) as refused:
        StateStore(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ") and f"version {STATE_VERSION + 1}" in message
    assert "move the file away" in message and isinstance(refused.value, UserError)
    with sqlite3.connect(path) as db:  # not upgraded behind the user's back
        assert db.execute("PRAGMA user_version").fetchone()[0] == STATE_VERSION + 1


def test_the_command_line_refuses_a_state_file_of_another_version_in_one_sentence(tmp_path, capsys):
    config = tmp_path / "cameras.yaml"
    config.write_text("cameras:\n  - id: street\n    source: rtsp://127.0.0.1:1/none\n    zones: []\n")
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 7")
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "out"), "--state", str(path),
                 "--health-port", "-1"]) == 2
    err = capsys.readouterr().err
    assert "version 7" in err and "Traceback" not in err


def test_a_camera_pipeline_resumes_with_its_rest_photo_and_never_reuses_an_event_id(tmp_path, store_target):
    config = Replay(camera_config([SIDEWALK])).config
    camera = config.cameras[0]
    image = np.full((352, 640, 3), 90, np.uint8)
    store = EventStore(store_target)

    def pipeline(jsonl: JsonlWriter) -> CameraPipeline:
        recorder = EventRecorder(camera.id, EvidenceWriter(tmp_path, camera), store, jsonl)
        return CameraPipeline(config, camera, recorder)

    first = pipeline(JsonlWriter(tmp_path / "events.jsonl"))
    for i in range(60):  # 30 s at 2 fps: the car rests from 0 s, its rest photo is held
        first.step(Frame(image, i / 2, i, ORIGIN), detections([CAR]))
    states = StateStore(store_target.replace("events.db", "state.db"))
    states.save({camera.id: capture(first, ORIGIN)})

    jsonl = JsonlWriter(tmp_path / "events.jsonl")
    second = pipeline(jsonl)
    resume(second, StateStore(store_target.replace("events.db", "state.db")).load(camera.id), first_object_id=1)
    for i in range(80, 160):  # back at 40 s; the warn is due at 60 s
        second.step(Frame(image, i / 2, i, ORIGIN), detections([CAR]))
    jsonl.close()
    (warn,) = read_jsonl(tmp_path / "events.jsonl")
    assert (warn.type, warn.since_t, warn.t, warn.ts) == ("warn", 0.0, 60.0, "2026-11-22T08:01:00+00:00")
    assert (tmp_path / warn.evidence["rest_snapshot"]).is_file()  # the photo taken before the restart

    third = pipeline(JsonlWriter(tmp_path / "other.jsonl"))
    resume(third, None, first_object_id=int(warn.object_id) + 1)  # the state file was lost
    third.step(Frame(image, 0.0, 0, ORIGIN), detections([]))
    assert third.memory.snapshot()["next_id"] > int(warn.object_id)


def test_a_vending_set_up_attended_before_a_restart_stays_attended():
    square = {"id": "square", "type": "no_vending", "polygon": [[0, 0], [640, 0], [640, 480], [0, 480]],
              "warn_after": "60s"}
    umbrella, table = Thing((100, 100, 220, 180), "umbrella", track=1), Thing((120, 200, 200, 260), "dining table",
                                                                              track=2)
    vendor = Thing((210, 150, 250, 270), "person", track=3)
    before = Replay(camera_config([square])).run(0, 30, lambda t: [umbrella, table, *([vendor] if t < 20 else [])])
    after = restarted(before, camera_config([square])).run(35, 100, lambda t: [umbrella, table])  # vendor away
    (warn,) = after.of_kind("warn")
    assert (warn.rule, warn.since_t) == ("street_vending", 0.0)
    assert warn.t == pytest.approx(60.0, abs=1.0)
