"""The tracker on media time: a lost track may be re-found for ``keep_lost_s`` seconds, however many frames."""

from __future__ import annotations

from detector.detections import Detections
from detector.tracking import Tracker

CAR = Detections.from_arrays([[100, 100, 200, 160]], [0.9], [2], ["car"], ["vehicle"])


def _track_ids(frames: list[tuple[float, bool]], keep_lost_s: float = 4.0) -> list[int]:
    """The car's track id in each frame ``(t, seen)`` where it is seen."""
    tracker = Tracker(analysis_fps=2, keep_lost_s=keep_lost_s)
    ids = []
    for t, seen in frames:
        tracked = tracker.update(CAR if seen else Detections.empty(), t)
        if seen:
            ids.append(int(tracked.tracker_id[0]))
    return ids


def test_a_car_missed_for_a_moment_keeps_its_track():
    ids = _track_ids([(0.0, True), (0.5, True), (1.0, True), (1.5, False), (2.0, False), (2.5, True)])
    assert ids == [ids[0]] * 4 and ids[0] >= 0


def test_a_track_lost_over_a_gap_longer_than_keep_lost_s_is_dropped():
    """Four frames lost but 9.5 s of video: the track is gone, as it would be after 19 frames. (ByteTrack drops a
    track one frame after it expires.)"""
    ids = _track_ids([(0.0, True), (0.5, True), (1.0, True), (1.5, False), (10.0, False), (10.5, False), (11.0, True)])
    assert ids[:3] == [ids[0]] * 3
    assert ids[-1] != ids[0]


def test_a_gap_within_keep_lost_s_keeps_the_track():
    ids = _track_ids([(0.0, True), (0.5, True), (1.0, True), (1.5, False), (4.5, True)])
    assert ids == [ids[0]] * 4
