"""Short-term identity from Ultralytics' ByteTrack, on our ``Detections``."""

from __future__ import annotations

import numpy as np

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
    """Give each detection a track id (``-1`` while a new track is unconfirmed), frame by frame at media time ``t``.

    ``keep_lost_s`` is how long a lost track may be re-found, in seconds. ByteTrack itself counts frames; the tracker
    advances its frame count by the number of sampling periods (``1 / analysis_fps``) since the last frame, at least
    one, so a gap in the video ages lost tracks by its length (a track lost for longer than ``keep_lost_s`` is
    dropped unless the frame after the gap re-finds it).

    Example:
        >>> tracker = Tracker(analysis_fps=2)
        >>> car = Detections.from_arrays([[100, 100, 200, 160]], [0.9], [2], ["car"], ["vehicle"])
        >>> tracker.update(car, 0.0).tracker_id.tolist(), tracker.update(car, 0.5).tracker_id.tolist()
        ([1], [1])
    """

    def __init__(self, analysis_fps: float = 2.0, keep_lost_s: float = 4.0, match_thresh: float = 0.8):
        # Ultralytics takes seconds to import: only a tracker needs it, not everyone who imports ``detector``
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import IterableSimpleNamespace

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
        self.analysis_fps = analysis_fps
        self._last_t: float | None = None

    def update(self, detections: Detections, t: float) -> Detections:
        """The detections of the frame at ``t`` with their track ids."""
        self._advance_to(t)
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

    def _advance_to(self, t: float) -> None:
        """Set ByteTrack's frame count so that its own increment lands on the frame at ``t``."""
        if self._last_t is not None:
            periods = max(1, round((t - self._last_t) * self.analysis_fps))
            self._tracker.frame_id += periods - 1
        self._last_t = t
