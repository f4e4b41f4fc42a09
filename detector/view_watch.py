"""When to check a fixed camera's view, and the state it is in (DESIGN.md, "Camera status").

Matching features costs about a third of a detection (``scripts/view_check_cost.py``), so ``ViewWatch`` matches
them every ``every`` seconds and whenever the frame's thumbnail, outside the detection boxes, differs from that of
the last matched frame (a bump, a re-aim, a zoom), but not twice within ``RECHECK_S``: on busy footage the
thumbnail differs on most frames, and a move is then noticed up to 2 s late. Other frames keep the last state for
a fraction of a millisecond. On every frame a view that is the reference's up to a small translation is refined by
phase correlation (``ViewCheck.track``): the state keeps the match's label, its homography is the frame's own.
The reference view is the camera's saved one (``reference:`` in the config, or one per
PTZ preset), else the first frame it is given; either is renewed while the view is ``ok`` when the light changes
(in memory only). Without a saved one, a frame without enough texture for a reference (a blank test frame, a
camera still dark) leaves the view unchecked (``ok``) and the next frame, ``every`` seconds later, is tried
instead.

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

import logging
from dataclasses import replace

import cv2
import numpy as np

from detector.view import MIN_INLIERS, Boxes, ViewCheck, ViewReference, ViewState

RECHECK_S = 2.0  # seconds between two matches at least (a changed thumbnail waits this long)

log = logging.getLogger(__name__)


class ViewWatch:
    """One camera's view over time: ``update(frame, boxes, t)`` gives the ``ViewState`` of each analysed frame.

    ``references`` maps a view's key to a BGR image of it: ``{None: image}`` for a camera's saved reference view,
    ``{preset id: image, ...}`` for a PTZ camera's presets (each match compares the frame with every preset and
    ``preset`` is the one shown: the ok or shifted one with the best inlier share; None while ``moved``). Without
    references the first frame with enough texture is the reference. An image of another size than the frames is
    scaled to theirs."""

    def __init__(self, every: float = 5.0, references: dict[str | None, np.ndarray] | None = None):
        self.every = every
        self.images = references or {}
        self.checks: dict[str | None, ViewCheck] = {}
        self.state = ViewState("ok", np.eye(3))
        self.preset: str | None = None
        self.matched = 0  # frames whose features were matched
        self._current = next(iter(self.images), None)  # the view whose last match the thumbnail pre-check reuses
        self._size: tuple[int, int] | None = None
        self._matched_t = float("-inf")

    @property
    def check(self) -> ViewCheck | None:
        """The check of the view shown last (None until a reference is taken)."""
        return self.checks.get(self._current)

    def update(self, frame: np.ndarray, boxes: Boxes, t: float) -> ViewState:
        """The view of ``frame`` (BGR, at media time ``t``; ``boxes``: its detections, left out)."""
        size = (frame.shape[1], frame.shape[0])
        if self._size != size:
            if self.images:
                self.checks = {key: ViewCheck(_reference_of(key, image, size)) for key, image in self.images.items()}
                self._size, self._matched_t = size, float("-inf")
            else:  # the first frame with enough texture is the reference
                if not self.checks and t - self._matched_t < self.every:
                    return self.state
                reference = ViewReference.from_frame(frame, boxes)
                self.checks = {None: ViewCheck(reference)} if len(reference.points) >= MIN_INLIERS else {}
                self._size = size if self.checks else None
                self._matched_t = t
                self.state = ViewState("ok", np.eye(3))
                return self.state
        if t - self._matched_t < min(RECHECK_S, self.every):
            return self.checks[self._current].track(frame, boxes, replace(self.state, precheck=True))
        state = self.checks[self._current].check(frame, boxes, precheck=t - self._matched_t < self.every)
        if not state.precheck:
            self.matched += 1
            self._matched_t = t
            state = self._best_view(frame, boxes, state)
            self.checks[self._current].refresh(frame, boxes, state)
        self.state = state
        if self._current is not None:
            self.preset = None if state.state == "moved" else self._current
        return self.checks[self._current].track(frame, boxes, state)

    def _best_view(self, frame: np.ndarray, boxes: Boxes, state: ViewState) -> ViewState:
        """Of every view (``state``: the current one's), the ok or shifted one with the best inlier share; it
        becomes the current view. None fits: the current one's ``moved``."""
        states = {self._current: state}
        states.update({key: check.check(frame, boxes, precheck=False) for key, check in self.checks.items()
                       if key != self._current})
        fits = {key: s for key, s in states.items() if s.state != "moved"}
        if not fits:
            return state
        self._current = max(fits, key=lambda key: fits[key].inlier_share)
        return fits[self._current]


def _reference_of(key: str | None, image: np.ndarray, size: tuple[int, int]) -> ViewReference:
    if (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    reference = ViewReference.from_frame(image)
    if len(reference.points) < MIN_INLIERS:
        log.warning("the reference view%s has %d keypoints (< %d): every frame will read as moved; save a "
                    "frame with more texture (daylight, no fog)", f" of preset {key}" if key else "",
                    len(reference.points), MIN_INLIERS)
    return reference
