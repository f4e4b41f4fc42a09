"""Decoding ahead and detecting side by side change nothing but speed: frames keep their order, every frame gets
its own detections (or, through the change gate, those of the last frame the detector saw), errors arrive where
they would without threads, and an early stop ends the threads."""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest

from detector.change import ChangeGate
from detector.detections import Detections
from streams.frames import Frame
from streams.overlap import detect_in_order, prefetch


def frames(count: int, changing: bool = True) -> list[Frame]:
    """Frames whose pixels encode their index (when ``changing``), one second apart."""
    out = []
    for i in range(count):
        image = np.full((90, 160, 3), 40, np.uint8)
        if changing:
            image[:, : 10 * (i % 16)] = 220
        out.append(Frame(image, float(i), i))
    return out


class SlowDetector:
    """Returns one box whose score is the frame's own brightness, after a random pause; counts its calls."""

    def __init__(self):
        self.calls = 0
        self.lock = threading.Lock()
        self.busy = 0
        self.most_at_once = 0

    def detect(self, image: np.ndarray) -> Detections:
        with self.lock:
            self.calls += 1
            self.busy += 1
            self.most_at_once = max(self.most_at_once, self.busy)
        time.sleep(random.uniform(0.001, 0.02))
        with self.lock:
            self.busy -= 1
        return Detections.from_arrays([[0, 0, 10, 10]], [float(image.mean())], [2], ["car"], ["vehicle"])


def test_frames_come_out_in_order_each_with_its_own_detections_and_workers_overlap():
    detector = SlowDetector()
    given = frames(40)
    out = list(detect_in_order(prefetch(given), detector.detect, workers=3))
    assert [f.index for f, _ in out] == list(range(40))
    assert all(d.confidence[0] == pytest.approx(f.image.mean()) for f, d in out)
    assert detector.calls == 40 and detector.most_at_once > 1


def test_the_change_gate_reuses_detections_of_unchanged_frames_and_reconfirms_on_time():
    detector = SlowDetector()
    still = frames(12, changing=False)
    out = list(detect_in_order(iter(still), detector.detect, workers=2, gate=ChangeGate(reconfirm_every=5.0)))
    assert [f.index for f, _ in out] == list(range(12))
    # detected at t=0, then re-confirmed by real inference at t=5 and t=10; the others reuse those detections
    assert detector.calls == 3
    assert out[1][1] is out[0][1] and out[5][1] is not out[4][1] and out[6][1] is out[5][1]


def test_an_error_of_the_source_arrives_after_the_frames_before_it():
    def broken():
        yield from frames(3)
        raise RuntimeError("file ends early")

    seen = []
    with pytest.raises(RuntimeError, match="file ends early"):
        for frame, _ in detect_in_order(prefetch(broken()), SlowDetector().detect, workers=2):
            seen.append(frame.index)
    assert seen == [0, 1, 2]


def test_a_detector_error_reaches_the_consumer():
    def fail(image):
        raise ValueError("bad frame")

    with pytest.raises(ValueError, match="bad frame"):
        list(detect_in_order(frames(3), fail, workers=2))


def test_stopping_early_stops_the_decoder_thread_and_closes_the_source():
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield Frame(np.zeros((8, 8, 3), np.uint8), float(i), i)
                i += 1
        finally:
            closed.set()

    before = threading.active_count()
    for frame, _ in detect_in_order(prefetch(endless()), SlowDetector().detect, workers=2):
        if frame.index == 5:
            break
    assert closed.wait(5)
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_stage_waits_are_counted():
    def decoded():  # a source that takes a moment per frame, as a decoder does
        for frame in frames(5):
            time.sleep(0.002)
            yield frame

    seconds = {"decode": 0.0, "detect": 0.0}
    list(detect_in_order(decoded(), SlowDetector().detect, workers=1, seconds=seconds))
    assert seconds["detect"] > 0 and seconds["decode"] > 0
