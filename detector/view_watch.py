"""When to check a fixed camera's view, and the state it is in (DESIGN.md, "Camera status").

Matching features costs about a third of a detection (``scripts/view_check_cost.py``), so ``ViewWatch`` matches
them every ``every`` seconds and whenever the frame's thumbnail, outside the detection boxes, differs from that of
the last matched frame (a bump, a re-aim, a zoom), but not twice within ``RECHECK_S``: on busy footage the
thumbnail differs on most frames, and a move is then noticed up to 2 s late. Other frames keep the last state for
a fraction of a millisecond. The reference view is the first frame it is given, renewed while the view is ``ok``
when the light changes. A frame without enough texture for a reference (a blank test frame, a camera still dark)
leaves the view unchecked (``ok``) and the next frame, ``every`` seconds later, is tried instead.

Example:
    >>> import cv2
    >>> frame = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 255, (360, 640, 3), np.uint8), (5, 5), 0)
    >>> watch = ViewWatch(every=5.0)
    >>> watch.update(frame, None, 0.0).state, watch.update(frame, None, 0.5).state
    ('ok', 'ok')
    >>> watch.update(cv2.warpAffine(frame, np.float32([[1, 0, 12], [0, 1, 0]]), (640, 360)), None, 2.0).state
    'shifted'
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from detector.view import MIN_INLIERS, Boxes, ViewCheck, ViewReference, ViewState

RECHECK_S = 2.0  # seconds between two matches at least (a changed thumbnail waits this long)


class ViewWatch:
    """One camera's view over time: ``update(frame, boxes, t)`` gives the ``ViewState`` of each analysed frame."""

    def __init__(self, every: float = 5.0):
        self.every = every
        self.check: ViewCheck | None = None
        self.state = ViewState("ok", np.eye(3))
        self.matched = 0  # frames whose features were matched
        self._matched_t = float("-inf")

    def update(self, frame: np.ndarray, boxes: Boxes, t: float) -> ViewState:
        """The view of ``frame`` (BGR, at media time ``t``; ``boxes``: its detections, left out)."""
        size = (frame.shape[1], frame.shape[0])
        if self.check is None or self.check.reference.size != size:
            if self.check is None and t - self._matched_t < self.every:
                return self.state
            reference = ViewReference.from_frame(frame, boxes)
            self.check = ViewCheck(reference) if len(reference.points) >= MIN_INLIERS else None
            self._matched_t = t
            self.state = ViewState("ok", np.eye(3))
            return self.state
        if t - self._matched_t < min(RECHECK_S, self.every):
            return replace(self.state, precheck=True)
        state = self.check.check(frame, boxes, precheck=t - self._matched_t < self.every)
        if not state.precheck:
            self.matched += 1
            self._matched_t = t
            self.check.refresh(frame, boxes, state)
        self.state = state
        return state
