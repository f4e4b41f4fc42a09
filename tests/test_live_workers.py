"""The live loop's worker threads (streams/live_runner.py): each camera's stages up to the dwell timers run beside
the other cameras' on the workers, its events are recorded in the loop's own thread (the store's).

Two synthetic recordings replayed at real-time pace (tests/test_adaptive_rate.py's quiet street, a parked red car),
the colour detector; each camera's ``observe`` is slowed down so that two of them overlap when they run side by
side and never when one thread runs them in turn."""

from __future__ import annotations

import threading
import time

from events.store import EventStore
from streams.live_runner import LiveRunner
from streams.state import StateStore
from tests.test_adaptive_rate import ColourCars, street_video
from zones.config import parse_config

WALK = {"id": "walk", "type": "sidewalk", "polygon": [[0, 100], [320, 100], [320, 180], [0, 180]]}


def test_two_cameras_are_observed_side_by_side_and_recorded_in_the_loop_thread(tmp_path):
    video = street_video(tmp_path / "street.mp4", seconds=30)
    config = parse_config({"analysis_fps": 2, "detect": {"view_check": False},
                           "cameras": [{"id": name, "source": str(video), "zones": [WALK]} for name in ("a", "b")]})
    store, states = EventStore(tmp_path / "events.db"), StateStore(tmp_path / "state.db")
    runner = LiveRunner(config, tmp_path, lambda camera: ColourCars(), store, states, include_files=True,
                        workers=2).start()
    observed, recorded = [], []  # (camera, thread, start, end) of each observe; (camera, thread) of each record
    for cam in runner.cameras:
        def observe(frame, detections, clock=None, cam=cam, inner=cam.pipeline.observe):
            start = time.monotonic()
            time.sleep(0.15)  # a slow view check: long enough for the other camera's to overlap it
            result = inner(frame, detections, clock)
            observed.append((cam.camera.id, threading.current_thread().name, start, time.monotonic()))
            return result

        def record(result, clock=None, cam=cam, inner=cam.pipeline.record):
            recorded.append((cam.camera.id, threading.current_thread().name))
            return inner(result, clock)

        cam.pipeline.observe, cam.pipeline.record = observe, record
    deadline = time.monotonic() + 30
    while any(c.source.latest() is None for c in runner.cameras) and time.monotonic() < deadline:
        time.sleep(0.02)  # both cameras due in the loop's first turn: else one runs a turn behind the other for good
    stop = threading.Event()
    loop = threading.Thread(target=runner.run, args=(stop,), name="the-loop")
    loop.start()
    try:
        deadline = time.monotonic() + 60
        while min(c.frames_analysed for c in runner.cameras) < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
            assert loop.is_alive()
    finally:
        stop.set()
        loop.join(30)
        store.close()
        states.close()
    assert min(c.frames_analysed for c in runner.cameras) >= 12
    assert {thread for _, thread, _, _ in observed} <= {f"detect_{i}" for i in range(2)}
    assert {thread for _, thread in recorded} == {"the-loop"}
    a = [(start, end) for camera, _, start, end in observed if camera == "a"]
    b = [(start, end) for camera, _, start, end in observed if camera == "b"]
    overlapping = sum(1 for sa, ea in a for sb, eb in b if sa < eb and sb < ea)
    assert overlapping >= len(a) // 2  # most turns analyse both cameras, side by side
    for cam in runner.cameras:
        assert sum(1 for camera, _ in recorded if camera == cam.camera.id) == cam.frames_analysed
