"""Short-term identity from Ultralytics' ByteTrack, on our ``Detections``."""

from __future__ import annotations

import numpy as np
from ultralytics.trackers.byte_tracker import BYTETracker
from ultralytics.utils import IterableSimpleNamespace

from detector.detections import Detections


class _TrackerInput:
    """The slice of Ultralytics' ``Boxes`` interface that BYTETracker reads."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray):
        self.xyxy, self.conf, self.cls = xyxy, conf, cls
        self.xywh = np.concatenate([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index) -> _TrackerInput:
        return _TrackerInput(self.xyxy[index], self.conf[index], self.cls[index])


class Tracker:
    """Give each detection a track id (``-1`` while a new track is unconfirmed).

    ``keep_lost_s`` is how long a lost track may be re-found, in seconds of sampled frames.

    Example:
        >>> tracker = Tracker(analysis_fps=2)
        >>> car = Detections.from_arrays([[100, 100, 200, 160]], [0.9], [2], ["car"], ["vehicle"])
        >>> tracker.update(car).tracker_id.tolist()
        [1]
    """

    def __init__(self, analysis_fps: float = 2.0, keep_lost_s: float = 4.0, match_thresh: float = 0.8):
        args = IterableSimpleNamespace(
            tracker_type="bytetrack",
            track_high_thresh=0.25,
            track_low_thresh=0.1,
            new_track_thresh=0.25,
            track_buffer=max(1, round(keep_lost_s * analysis_fps)),
            match_thresh=match_thresh,
            fuse_score=True,
        )
        self._tracker = BYTETracker(args)

    def update(self, detections: Detections) -> Detections:
        tracked = detections[np.arange(len(detections))]
        tracked.tracker_id = np.full(len(detections), -1, dtype=np.int64)
        if not len(detections):
            self._tracker.update(_TrackerInput(detections.xyxy, detections.confidence, detections.class_id))
            return tracked
        rows = self._tracker.update(
            _TrackerInput(detections.xyxy, detections.confidence, detections.class_id.astype(np.float32))
        )
        for row in rows:
            tracked.tracker_id[int(row[7])] = int(row[4])
        return tracked
