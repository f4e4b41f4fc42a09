"""The adaptive analysis rate (``detect.idle_fps``, streams/rate.py): the controller goes idle only after a quiet
``idle_after`` with every resting object confirmed, and busy at once on a change; a quiet recording is analysed on
far fewer frames (the skipped ones not even decoded) with the same events, and a car arriving while idle is
picked up within one idle period.

The recording is synthetic (a fixed textured street, fresh sensor noise on every frame): a red car parked from the
start, a blue one arriving at 62.5 s, half-way through an idle period. The detector finds the cars by colour, so
the test is about the rate, not the network."""

from __future__ import annotations

import json
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from detector.detections import Detections
from events.store import EventStore
from streams.batch import process_recorded
from streams.frames import Frame
from streams.live_runner import LiveRunner
from streams.rate import AnalysisRate, SkipAhead
from streams.state import StateStore
from zones.config import parse_config

SIZE, FPS, SECONDS = (320, 180), 5, 180
RED_CAR, BLUE_CAR = (40, 110, 100, 150), (180, 115, 250, 160)
BLUE_ARRIVES = 62.5
STILL = np.full((180, 320, 3), 90, np.uint8)


def street_video(path, gop: int = FPS, seconds: int = SECONDS, blue_arrives: float = BLUE_ARRIVES):
    """The quiet street: the red car from the start, the blue one from ``blue_arrives``."""
    rng = np.random.default_rng(3)
    background = rng.integers(60, 140, (SIZE[1] // 4, SIZE[0] // 4, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"g": str(gop), "keyint_min": str(gop),
                                                                      "sc_threshold": "0", "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        for index in range(seconds * FPS):
            image = np.clip(background + rng.normal(0, 2, background.shape), 0, 255).astype(np.uint8)
            x1, y1, x2, y2 = RED_CAR
            image[y1:y2, x1:x2] = (30, 30, 220)
            if index / FPS >= blue_arrives:
                x1, y1, x2, y2 = BLUE_CAR
                image[y1:y2, x1:x2] = (220, 40, 30)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


class ColourCars:
    """Finds the saturated red and blue boxes of ``street_video``."""

    def __init__(self):
        self.calls = 0

    def detect(self, image: np.ndarray) -> Detections:
        self.calls += 1
        boxes = []
        for mask in (image[:, :, 2] > 180) & (image[:, :, 0] < 80), (image[:, :, 0] > 180) & (image[:, :, 2] < 80):
            ys, xs = np.nonzero(mask)
            if len(xs) > 50:
                boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        n = len(boxes)
        return Detections.from_arrays(np.asarray(boxes, dtype=np.float32).reshape(-1, 4), [0.9] * n, [2] * n,
                                      ["car"] * n, ["vehicle"] * n)


def run(tmp_path, video, name: str, idle_fps: float | None, keyframes_only: bool = False, workers: int = 2):
    detect = {"view_check": False} | ({"idle_fps": idle_fps} if idle_fps else {})
    config = parse_config({"analysis_fps": 1, "detect": detect, "cameras": [{
        "id": "quiet", "source": str(video), "keyframes_only": keyframes_only,
        "zones": [{"id": "walk", "type": "sidewalk", "polygon": [[0, 100], [320, 100], [320, 180], [0, 180]],
                   "warn_after": "60s"}]}]})
    out = tmp_path / name
    out.mkdir()
    store = EventStore(out / "events.db")
    detector = ColourCars()
    try:
        (report,) = process_recorded(config, out, lambda camera: detector, store, workers=workers)
    finally:
        store.close()
    assert report.error is None
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return report, detector, [(e["type"], e["object_id"], e["since_t"], e["t"]) for e in events]


# -- the controller -----------------------------------------------------------------------------------------


def test_goes_idle_only_after_a_quiet_idle_after_with_every_object_confirmed():
    rate = AnalysisRate(busy_fps=1.0, idle_fps=0.2, idle_after=10.0)
    states = []
    for t in range(0, 12):
        rate.analysed(float(t), STILL, confirmed=t != 4)  # a resting object missed once, at 4 s
        states.append(rate.state)
    assert states[:11] == ["busy"] * 11  # quiet counts from 4 s (the miss), not from 0 s
    assert rate.analysed(14.0, STILL, confirmed=True) == 19.0 and rate.state == "idle"
    assert not rate.wants(18.0) and rate.wants(19.0)


def test_back_to_busy_at_once_on_a_change_or_a_missed_object():
    rate = AnalysisRate(busy_fps=1.0, idle_fps=0.2, idle_after=3.0)
    for t in (0.0, 1.0, 2.0, 3.0):
        rate.analysed(t, STILL, confirmed=True)
    assert rate.state == "idle" and rate.next_t == 8.0
    assert rate.changed(STILL) is False
    moved = STILL.copy()
    moved[60:120, 100:160] = 220
    assert rate.changed(moved) is True  # the live reader's cheap check, without analysing
    assert rate.analysed(8.0, moved, confirmed=True) == 9.0 and rate.state == "busy"
    for t in (9.0, 10.0, 11.0, 12.0):
        rate.analysed(t, moved, confirmed=True)
    assert rate.state == "idle"
    assert rate.analysed(17.0, moved, confirmed=False) == 18.0 and rate.state == "busy"  # missed: busy


def test_an_idle_camera_is_analysed_when_a_timer_is_due_on_the_full_rate_grid():
    rate = AnalysisRate(busy_fps=2.0, idle_fps=0.1, idle_after=1.0)
    for t in (0.0, 0.5, 1.0):
        rate.analysed(t, STILL, confirmed=True)
    assert rate.state == "idle" and rate.next_t == 11.0
    assert rate.analysed(11.0, STILL, confirmed=True, deadline=14.2) == 14.5  # the warn due at 14.2
    assert rate.analysed(14.5, STILL, confirmed=True, deadline=14.2) == 15.0  # due already: the full rate


def test_the_decoder_drops_the_packets_of_skipped_frames_and_resumes_at_a_key_frame(tmp_path):
    video = street_video(tmp_path / "street.mp4")
    rate = AnalysisRate(busy_fps=1.0, idle_fps=0.1)
    skip = SkipAhead(rate)
    rate.next_t = 100.0
    skip.decided(0.0)
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        kept = [float(p.pts * p.time_base) for p in skip.packets(container.demux(stream), 0.0, SECONDS, 5.0)
                if p.pts is not None]
    # the first GOP is read (the GOP is known from the second key frame on); decoding resumes at the key frame
    # 0.5 to 1.5 GOPs before 100 s, and every packet after it is read
    assert kept[:FPS] == [i / FPS for i in range(FPS)] and kept[FPS] == 99.0
    assert kept[-1] == SECONDS - 1 / FPS and len(kept) == FPS + (SECONDS - 99) * FPS
    assert skip.skipped_packets == 98 * FPS


# -- batch ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("keyframes_only", [False, True], ids=["all-frames", "key-frames"])
def test_a_quiet_recording_analyses_far_fewer_frames_with_the_same_events(tmp_path, keyframes_only):
    video = street_video(tmp_path / "street.mp4")
    full, _, full_events = run(tmp_path, video, "full", None, keyframes_only)
    idle, detector, idle_events = run(tmp_path, video, "idle", 0.2, keyframes_only)
    assert full.frames == SECONDS
    assert idle.frames < 0.4 * full.frames
    assert detector.calls <= idle.frames + 4  # frames detected ahead while the rate went idle are dropped
    # the same events; the blue car arrives half-way through an idle period: seen within one (5 s) of arriving
    assert [e[:2] for e in idle_events] == [e[:2] for e in full_events] == [("warn", "1"), ("warn", "2")]
    (_, _, red_since, red_warn), (_, _, blue_since, blue_warn) = idle_events
    assert (red_since, red_warn) == full_events[0][2:] == (0.0, 60.0)
    assert BLUE_ARRIVES < full_events[1][2] <= blue_since <= full_events[1][2] + 5.0
    assert blue_warn == blue_since + 60.0  # the warn on its due frame, not at the next idle analysis


def test_the_same_events_with_one_worker_and_with_two(tmp_path):
    video = street_video(tmp_path / "street.mp4")
    one = run(tmp_path, video, "one", 0.2, workers=1)
    two = run(tmp_path, video, "two", 0.2, workers=2)
    assert one[2] == two[2] and one[0].frames == two[0].frames


# -- live -------------------------------------------------------------------------------------------------------


def test_a_live_camera_goes_idle_and_is_busy_within_a_check_when_a_car_arrives(tmp_path):
    video = street_video(tmp_path / "live.mp4", seconds=40, blue_arrives=16.0)
    config = parse_config({"analysis_fps": 2, "detect": {"view_check": False, "idle_fps": 0.1, "idle_after": "3s"},
                           "cameras": [{"id": "quiet", "source": str(video), "zones": [
                               {"id": "walk", "type": "sidewalk", "polygon": [[0, 100], [320, 100], [320, 180],
                                                                              [0, 180]]}]}]})
    store, states = EventStore(tmp_path / "events.db"), StateStore(tmp_path / "state.db")
    runner = LiveRunner(config, tmp_path, lambda camera: ColourCars(), store, states, include_files=True).start()
    stop = threading.Event()
    loop = threading.Thread(target=runner.run, args=(stop,))
    loop.start()
    try:
        (cam,) = runner.cameras
        while cam.last_t is None:  # the replay's media time 0 is about the first frame's arrival
            time.sleep(0.05)
            assert loop.is_alive()
        start = cam.last_t
        seen = []  # (media time, health) while it runs
        while cam.last_t < start + 23.0:
            seen.append((cam.last_t - start, cam.health()))
            time.sleep(0.1)
            assert loop.is_alive()
        health, metrics = cam.health(), runner.metrics.text()
        objects = {o.object_id: o for o in cam.pipeline.memory.objects}
    finally:
        stop.set()
        loop.join(30)
        store.close()
        states.close()
    idle = [h for t, h in seen if h["rate"] == "idle"]
    assert idle and idle[0]["rate_fps"] == 0.1 and idle[0]["analysis_fps"] == 2.0
    assert any(t < 16.0 for t, h in seen if h["rate"] == "idle")
    # busy again on the blue car's arrival at 16 s, for idle_after (rest_window 5 s and a frame)
    assert {h["rate"] for t, h in seen if 16.6 <= t <= 21.0} == {"busy"}
    assert f'streetorder_camera_rate{{camera="quiet",rate="{health["rate"]}"}} 1.0' in metrics
    # analysed at 2 fps for the first 6 s, idle until 16 s (one analysis at 16 s at most), then busy for 6 s: far
    # fewer than the 46 slots of 23 s
    assert health["frames_analysed"] < 32
    blue = objects[2]  # seen on the first check after it arrived (every 0.5 s), not 10 s later
    assert 16.0 <= blue.since_t - start <= 18.0  # a check every 0.5 s, on a loaded machine


def test_the_verdict_counts_the_objects_a_dwell_timer_watches_only():
    from types import SimpleNamespace

    from streams.rate import verdict
    from tests.replay import CAR, SIDEWALK, Replay, Thing, camera_config

    bike = Thing((300, 100, 340, 150), "bicycle", track=2)  # resting above the sidewalk: no rule watches it
    replay = Replay(camera_config([SIDEWALK])).run(0, 20, lambda t: [CAR, bike])
    pipeline = SimpleNamespace(view_state="ok", memory=replay.memory, stages={"": SimpleNamespace(
        monitor=replay.monitor)})
    assert len(replay.memory.objects) == 2
    replay.step(30.0, [CAR])  # the bike flickers off for 10 s: no event depends on it
    confirmed, due = verdict(pipeline, 30.0, within=6.0)
    assert confirmed and due == pytest.approx(60.0, abs=0.5)  # the car's warn
    replay.step(40.0, [bike])  # the parked car missed for 10 s: the camera must stay busy
    assert verdict(pipeline, 40.0, within=6.0)[0] is False
    pipeline.view_state = "moved"
    replay.step(41.0, [CAR, bike])
    assert verdict(pipeline, 41.0, within=6.0)[0] is False


def test_the_view_check_matches_features_as_often_per_analysed_frame_while_idle():
    from types import SimpleNamespace

    from detector.view_watch import ViewWatch
    from streams.rate import next_analysis

    pipeline = SimpleNamespace(view_state="ok", view=ViewWatch(every=5.0), memory=SimpleNamespace(objects=[]),
                               stages={}, camera=SimpleNamespace(detect=SimpleNamespace(view_check_every=5.0)))
    rate = AnalysisRate(busy_fps=1.0, idle_fps=0.2, idle_after=3.0)
    for t in range(3):
        next_analysis(rate, pipeline, Frame(STILL, float(t), t))
        assert rate.state == "busy" and pipeline.view.every == 5.0
    assert next_analysis(rate, pipeline, Frame(STILL, 3.0, 3)) == 8.0
    assert rate.state == "idle" and pipeline.view.every == 25.0  # every fifth idle frame, as every fifth busy one
    moved = STILL.copy()
    moved[60:120, 100:160] = 200
    next_analysis(rate, pipeline, Frame(moved, 8.0, 4))
    assert rate.state == "busy" and pipeline.view.every == 5.0


def test_a_sub_streams_frames_are_checked_as_decoded_with_the_zones_region_scaled_down():
    # zones drawn on a 1920x1080 main stream, frames from a 640x360 sub-stream: the watched region (the zone's box,
    # raised by its height) is found in the sub-stream's pixels, and the frames are never scaled up for the check
    region = (0.0, 500.0, 1920.0, 1080.0)
    rate = AnalysisRate(busy_fps=1.0, idle_fps=0.2, idle_after=2.0, region=region, frame_size=(1920, 1080))
    small = np.full((360, 640, 3), 90, np.uint8)
    for t in range(4):
        rate.analysed(float(t), small, confirmed=True)
    assert rate.state == "idle" and not rate.changed(small)
    above = small.copy()
    above[20:100, 300:380] = 220  # above the watched region (y < 500 / 3)
    assert not rate.changed(above)
    inside = small.copy()
    inside[250:320, 300:380] = 220
    assert rate.changed(inside)


def test_cells_changed_are_the_8x8_block_means_of_the_difference():
    from detector.change import CELL_CHANGE, CELL_PX, thumbnails_differ

    rng = np.random.default_rng(5)
    reference = rng.uniform(0, 255, (44, 83, 3)).astype(np.float32)
    for _ in range(50):
        thumb = reference + rng.normal(0, 4, reference.shape).astype(np.float32)
        y, x = rng.integers(0, 5), rng.integers(0, 10)
        thumb[y * CELL_PX:(y + 1) * CELL_PX, x * CELL_PX:(x + 1) * CELL_PX] += rng.uniform(0, 12)
        blocks = np.abs(thumb - reference)[:40, :80].reshape(5, CELL_PX, 10, CELL_PX, 3).mean(axis=(1, 3))
        assert thumbnails_differ(thumb, reference) == bool((blocks > CELL_CHANGE).any())
