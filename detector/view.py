"""Where a fixed camera looks: its current view against a reference view, as ``ok``, ``shifted`` or ``moved``.

A camera re-aimed, zoomed or swayed makes its zones (pixels of the reference view) cover other ground.
``ViewReference`` keeps a camera's reference view (a grey, downscaled frame with ORB keypoints on its static
background: the frame's detection boxes are left out). ``ViewCheck.check(frame, boxes)`` measures the current view
against it (DESIGN.md, "Camera status"):

- ``ok``: the view is the reference's (its corners move less than ``OK_SHARE`` of the frame's diagonal);
- ``shifted``: a reliable homography maps the frame onto the reference, small enough to trust: re-anchor the zones
  and the resting objects' spots through it (``ViewState.to_frame``, ``reanchor``);
- ``moved``: no reliable homography, or beyond the limits: the camera's timers must stop.

A frame whose small thumbnail (``detector.change.thumbnail``) matches that of the last fully checked frame, outside
the detection boxes, gets that frame's state without feature matching (a few tenths of a millisecond).
``ViewCheck.track`` refines a view that is the reference's up to a small translation (a sway, a drift) on every
frame: phase correlation of the frame against the reference (``cv2.phaseCorrelate``, a 320 px wide grey with the
detection boxes blanked, about 2 ms), so zones and spots follow a sway between two feature matches.

Example:
    >>> frame = np.random.default_rng(1).integers(0, 255, (360, 640, 3), np.uint8)
    >>> frame = cv2.GaussianBlur(frame, (5, 5), 0)
    >>> check = ViewCheck(ViewReference.from_frame(frame))
    >>> check.check(frame).state
    'ok'
    >>> shifted = cv2.warpAffine(frame, np.float32([[1, 0, 12], [0, 1, 0]]), (640, 360))
    >>> state = check.check(shifted)
    >>> state.state, reanchor([(100, 100)], state.homography).round().tolist()
    ('shifted', [[88.0, 100.0]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from detector.change import CELL_CHANGE, CELL_PX, thumbnail

VIEW_WIDTH = 480  # the reference's width: ORB keypoints of a 480 px frame hold a homography to a pixel or two
FEATURES = 2000  # ORB keypoints per view: with 1000 the road texture got too few and the inliers clustered on trees
FAST_THRESHOLD = 10  # (OpenCV's default 20) so that low-contrast ground (asphalt, kerbs) gets keypoints too
RATIO = 0.8  # Lowe's ratio test: a match must be clearly better than the second best
METHOD = cv2.USAC_MAGSAC  # RANSAC's homography was 4-14 px off at the corners on known warps, MAGSAC's 1.2 px
RANSAC_PX = 3.0  # largest reprojection error of an inlier, in downscaled pixels (about 12 px of a 1080p frame)
BOX_MARGIN_PX = 16  # ORB describes a 31 px patch: keep its centre that far from a moving object's box
OK_SHARE = 0.005  # median corner displacement under 0.5 % of the diagonal: encoder jitter, sway of a pixel or two
SHIFT_LIMIT = 0.25  # beyond a quarter of the diagonal the zones would mostly cover ground the reference never saw
ZOOM_RANGE = (0.5, 2.0)  # more zoom than this and the reference's features are too small or too few to trust
MAX_ANISOTROPY = 2.0  # the homography's linear part may not stretch one direction twice the other: degenerate
MIN_INLIERS = 40  # a different scene gets a handful of chance inliers; a real view keeps hundreds
MIN_INLIER_SHARE = 0.4  # of the ratio-test matches: a different scene's matches are mostly noise
PERSPECTIVE_EXTENT = 0.5  # inliers spanning less of the frame's width or height fit a similarity, not a homography
MIN_SPREAD = 0.05  # the inliers' convex hull covers this share of the frame at least, not one object
PRECHECK_CHANGED = 0.02  # at most this share of thumbnail cells (outside boxes) may change for "the same view"
LIGHT_CHANGE = 0.15  # relative change of the mean brightness that makes ``ViewCheck.refresh`` renew the reference
PHASE_WIDTH = 320  # phase correlation's grey: 0.15 px off on a rendered sway at 320 px, 4x cheaper than at 480
MIN_RESPONSE = 0.3  # phase correlation's peak below this is no translation (a zoom gave 0.25, a sway 0.67-0.96)
TRACK_SHARE = 0.03  # a translation beyond this share of the diagonal is left to the feature match (a bump)

Boxes = np.ndarray | Sequence[Sequence[float]] | None


@dataclass(frozen=True)
class ViewReference:
    """A camera's reference view: grey downscaled frame, its ORB keypoints and descriptors, its thumbnail."""

    size: tuple[int, int]  # width, height of the full frame
    scale: float  # downscaled pixels per full-frame pixel
    grey: np.ndarray = field(repr=False)
    points: np.ndarray = field(repr=False)  # (N, 2) float32 keypoints, downscaled pixels
    descriptors: np.ndarray | None = field(repr=False)
    thumb: np.ndarray = field(repr=False)  # ``detector.change.thumbnail`` of the full frame
    brightness: float = 0.0  # mean grey level outside the boxes
    phase: np.ndarray | None = field(default=None, repr=False)  # ``_phase_image`` of the frame, for ``track``

    @classmethod
    def from_frame(cls, frame: np.ndarray, boxes: Boxes = None) -> ViewReference:
        """The reference view of ``frame`` (BGR), its detection ``boxes`` (x1, y1, x2, y2) left out."""
        scale = min(1.0, VIEW_WIDTH / frame.shape[1])
        grey = _grey(frame, scale)
        return cls._of_grey(grey, (frame.shape[1], frame.shape[0]), scale, boxes, thumbnail(frame),
                            _phase_image(frame, boxes))

    @classmethod
    def _of_grey(cls, grey: np.ndarray, size: tuple[int, int], scale: float, boxes: Boxes,
                 thumb: np.ndarray, phase: np.ndarray | None) -> ViewReference:
        mask = _static_mask(grey.shape, boxes, scale)
        points, descriptors = _features(grey, mask)
        return cls(size, scale, grey, points, descriptors, thumb, float(cv2.mean(grey, mask)[0]), phase)

    def refresh(self, frame: np.ndarray, boxes: Boxes = None, weight: float = 0.5) -> ViewReference:
        """A new reference blending ``frame`` (aligned with this one: its view was ``ok``) into this one with
        ``weight``, outside its boxes, so the reference follows the light of the day."""
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise ValueError(f"frame of {frame.shape[1]}x{frame.shape[0]}, reference of {self.size[0]}x{self.size[1]}")
        grey = _grey(frame, self.scale)
        keep = _static_mask(grey.shape, boxes, self.scale, margin=0) == 0
        blended = cv2.addWeighted(grey, weight, self.grey, 1.0 - weight, 0.0)
        blended[keep] = self.grey[keep]
        # the phase image stays: phase correlation whitens the spectrum, so the light hardly matters to it, and the
        # blended frame may be a pixel or two off the reference
        return ViewReference._of_grey(blended, self.size, self.scale, boxes, thumbnail(frame), self.phase)


@dataclass(frozen=True)
class ViewState:
    """The current view against the reference.

    ``homography`` maps current full-frame pixels to the reference's (identity when ``ok`` by the pre-check; None
    when ``moved`` for lack of one); ``inliers`` and ``inlier_share`` are those of the feature match the state
    comes from (0 when it comes from the reference itself); ``displacement_px`` is the median displacement of the
    frame's corners, ``displacement_share`` the same over the frame's diagonal; ``precheck`` is True when the
    thumbnail matched and no features were matched; ``reason`` says why the view is ``moved``; ``tracked`` is True
    when ``homography`` is this frame's translation from phase correlation (``ViewCheck.track``).
    """

    state: str  # ok | shifted | moved
    homography: np.ndarray | None = field(repr=False)
    inliers: int = 0
    inlier_share: float = 0.0
    displacement_px: float = 0.0
    displacement_share: float = 0.0
    zoom: float = 1.0  # linear scale of the current view over the reference's (> 1: zoomed in)
    precheck: bool = False
    reason: str = ""
    tracked: bool = False

    def to_frame(self, points) -> np.ndarray:
        """Reference-view points (a zone polygon, resting objects' spots) where they are in the current frame."""
        if self.homography is None:
            raise ValueError(f"the view is {self.state} ({self.reason}): no homography to re-anchor through")
        return reanchor(points, np.linalg.inv(self.homography))


def reanchor(points, homography: np.ndarray) -> np.ndarray:
    """``points`` (N, 2) mapped through the 3x3 ``homography``, as an (N, 2) float array.

    >>> zoom_about_centre = np.array([[2.0, 0, -320], [0, 2.0, -180], [0, 0, 1]])  # 2x about (320, 180)
    >>> reanchor([(320, 180), (330, 200), (0, 0)], zoom_about_centre).tolist()
    [[320.0, 180.0], [340.0, 220.0], [-320.0, -180.0]]
    """
    array = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
    if not len(array):
        return np.zeros((0, 2))
    return cv2.perspectiveTransform(array, np.asarray(homography, dtype=np.float64)).reshape(-1, 2)


def reanchor_boxes(boxes, homography: np.ndarray) -> np.ndarray:
    """(N, 4) boxes (x1, y1, x2, y2) mapped through ``homography``: the box around each one's mapped corners.

    >>> reanchor_boxes([[10, 20, 30, 40]], np.array([[2.0, 0, 5], [0, 2.0, 0], [0, 0, 1]])).tolist()
    [[25.0, 40.0, 65.0, 80.0]]
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    corners = reanchor(boxes[:, [0, 1, 2, 1, 2, 3, 0, 3]].reshape(-1, 2), homography).reshape(-1, 4, 2)
    return np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)


class ViewCheck:
    """Check each frame's view against a camera's ``ViewReference`` (see the module docstring)."""

    def __init__(self, reference: ViewReference):
        self.reference = reference
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        self._last_thumb = reference.thumb
        self._last = ViewState("ok", np.eye(3))
        self._window: np.ndarray | None = None

    def check(self, frame: np.ndarray, boxes: Boxes = None, precheck: bool = True) -> ViewState:
        """The view of ``frame`` (BGR), its detection ``boxes`` (moving objects) left out of the comparison;
        ``precheck=False`` matches features even when the thumbnail has not changed."""
        thumb = thumbnail(frame)
        if precheck and _same_view(thumb, self._last_thumb, boxes, frame.shape[1]):
            return replace(self._last, precheck=True)
        state = self._match(frame, boxes)
        self._last_thumb, self._last = thumb, state
        return state

    def refresh(self, frame: np.ndarray, boxes: Boxes, state: ViewState) -> bool:
        """Blend ``frame`` into the reference when its view is ``ok`` and the light changed; True if it did."""
        if state.state != "ok" or (frame.shape[1], frame.shape[0]) != self.reference.size:
            return False
        scale = self.reference.scale
        grey = _grey(frame, scale)
        brightness = cv2.mean(grey, _static_mask(grey.shape, boxes, scale))[0]
        if abs(brightness - self.reference.brightness) <= LIGHT_CHANGE * max(self.reference.brightness, 1.0):
            return False
        self.reference = self.reference.refresh(frame, boxes)
        self._last_thumb, self._last = self.reference.thumb, ViewState("ok", np.eye(3))
        return True

    def track(self, frame: np.ndarray, boxes: Boxes, state: ViewState) -> ViewState:
        """``state`` with this frame's translation off the reference as its homography (``tracked``), when the
        view is the reference's up to a translation (ok, or shifted by one) and phase correlation finds one that
        is clear (peak ``MIN_RESPONSE``) and small (``TRACK_SHARE`` of the diagonal); else ``state`` unchanged."""
        size = (frame.shape[1], frame.shape[0])
        if state.homography is None or self.reference.phase is None or not _translation_like(state.homography, size):
            return state
        current = _phase_image(frame, boxes)
        if current.shape != self.reference.phase.shape:
            return state
        if self._window is None or self._window.shape != current.shape:
            self._window = cv2.createHanningWindow((current.shape[1], current.shape[0]), cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(self.reference.phase, current, self._window)
        dx, dy = dx * frame.shape[1] / current.shape[1], dy * frame.shape[0] / current.shape[0]
        if response < MIN_RESPONSE or np.hypot(dx, dy) > TRACK_SHARE * np.hypot(*size):
            return state
        return replace(state, homography=np.array([[1.0, 0, -dx], [0, 1.0, -dy], [0, 0, 1.0]]), tracked=True)

    def _match(self, frame: np.ndarray, boxes: Boxes) -> ViewState:
        reference = self.reference
        scale = min(1.0, VIEW_WIDTH / frame.shape[1])
        grey = _grey(frame, scale)
        points, descriptors = _features(grey, _static_mask(grey.shape, boxes, scale))
        if descriptors is None or reference.descriptors is None or len(points) < MIN_INLIERS:
            return ViewState("moved", None, reason=f"{len(points)} keypoints on the static background")
        pairs = self._matcher.knnMatch(descriptors, reference.descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
        if len(good) < MIN_INLIERS:
            return ViewState("moved", None, reason=f"{len(good)} matches with the reference (< {MIN_INLIERS})")
        source = points[[m.queryIdx for m in good]]
        target = reference.points[[m.trainIdx for m in good]]
        homography, inlier_mask = cv2.findHomography(source, target, METHOD, RANSAC_PX, maxIters=2000,
                                                     confidence=0.999)
        if homography is None:
            return ViewState("moved", None, reason="no homography fits the matches")
        inlier_mask = inlier_mask.ravel().astype(bool)
        if _extent(source[inlier_mask], grey.shape) < PERSPECTIVE_EXTENT:
            homography = _similarity(source[inlier_mask], target[inlier_mask], homography)
        full = np.diag([1 / reference.scale, 1 / reference.scale, 1.0]) @ homography @ np.diag([scale, scale, 1.0])
        full /= full[2, 2]
        spread = _hull_share(source[inlier_mask], grey.shape)
        return _judge(full, (frame.shape[1], frame.shape[0]), int(inlier_mask.sum()),
                      float(inlier_mask.mean()), spread)


def _judge(homography: np.ndarray, size: tuple[int, int], inliers: int, share: float, spread: float) -> ViewState:
    """ok, shifted or moved for a homography fitted with ``inliers`` (``share`` of the matches, spread over
    ``spread`` of the frame)."""
    width, height = size
    corners = np.float64([[0, 0], [width, 0], [width, height], [0, height]])
    mapped = reanchor(corners, homography)
    displacement = float(np.median(np.linalg.norm(mapped - corners, axis=1)))
    diagonal = float(np.hypot(width, height))
    area = abs(cv2.contourArea(mapped.astype(np.float32)))
    zoom = float(np.sqrt(width * height / area)) if area > 0 else float("inf")
    singular = np.linalg.svd(homography[:2, :2], compute_uv=False)
    degenerate = not cv2.isContourConvex(mapped.astype(np.float32)) or singular[1] <= 0 \
        or singular[0] / singular[1] > MAX_ANISOTROPY
    reasons = [  # the first that holds makes the view "moved"
        (inliers < MIN_INLIERS, f"{inliers} inliers (< {MIN_INLIERS})"),
        (share < MIN_INLIER_SHARE, f"{share:.0%} of the matches are inliers (< {MIN_INLIER_SHARE:.0%})"),
        (spread < MIN_SPREAD, f"the inliers cover {spread:.0%} of the frame (< {MIN_SPREAD:.0%})"),
        (degenerate, "the homography is degenerate"),
        (not ZOOM_RANGE[0] <= zoom <= ZOOM_RANGE[1], f"zoom {zoom:.2f} outside {ZOOM_RANGE[0]}-{ZOOM_RANGE[1]}"),
        (displacement > SHIFT_LIMIT * diagonal,
         f"the corners moved {displacement / diagonal:.0%} of the diagonal (> {SHIFT_LIMIT:.0%})"),
    ]
    reason = next((why for holds, why in reasons if holds), "")
    state = "moved" if reason else "ok" if displacement < OK_SHARE * diagonal else "shifted"
    return ViewState(state, homography, inliers, share, displacement, displacement / diagonal, zoom, reason=reason)


def _translation_like(homography: np.ndarray, size: tuple[int, int]) -> bool:
    """True when ``homography`` moves the frame's corners like its translation at the centre does, within
    ``OK_SHARE`` of the diagonal (no zoom, rotation or perspective to speak of)."""
    width, height = size
    corners = np.float64([[0, 0], [width, 0], [width, height], [0, height]])
    centre = np.float64([[width / 2, height / 2]])
    shift = reanchor(centre, homography) - centre
    residual = np.linalg.norm(reanchor(corners, homography) - corners - shift, axis=1)
    return float(np.median(residual)) < OK_SHARE * float(np.hypot(width, height))


def _phase_image(frame: np.ndarray, boxes: Boxes) -> np.ndarray:
    """The frame's grey at ``PHASE_WIDTH`` as float32 around its mean, the detection boxes (moving objects) at 0."""
    scale = min(1.0, PHASE_WIDTH / frame.shape[1])
    grey = _grey(frame, scale).astype(np.float32)
    static = _static_mask(grey.shape, boxes, scale, margin=0) > 0
    grey -= float(grey[static].mean()) if static.any() else float(grey.mean())
    grey[~static] = 0.0
    return grey


def _extent(points: np.ndarray, shape: tuple[int, ...]) -> float:
    """The smaller of the width and height shares of the frame that ``points`` span."""
    if len(points) < 2:
        return 0.0
    span = points.max(axis=0) - points.min(axis=0)
    return float(min(span[0] / shape[1], span[1] / shape[0]))


def _similarity(source: np.ndarray, target: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Shift, zoom and rotation only, fitted to the inliers: from a strip of the frame a homography's perspective
    is free to swing the rest of the frame anywhere, a similarity extrapolates the way a PTZ camera moves."""
    affine, _ = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX)
    return fallback if affine is None else np.vstack([affine, [0.0, 0.0, 1.0]])


def _grey(frame: np.ndarray, scale: float) -> np.ndarray:
    if scale < 1.0:
        frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame


def _static_mask(shape: tuple[int, ...], boxes: Boxes, scale: float, margin: int | None = None) -> np.ndarray:
    """255 on the static background, 0 on the boxes (scaled, widened by ``margin``, default ``BOX_MARGIN_PX``)."""
    margin = BOX_MARGIN_PX if margin is None else margin
    mask = np.full(shape[:2], 255, np.uint8)
    for x1, y1, x2, y2 in np.asarray(boxes if boxes is not None else [], dtype=np.float64).reshape(-1, 4):
        left, top = max(0, int(x1 * scale) - margin), max(0, int(y1 * scale) - margin)
        mask[top: int(np.ceil(y2 * scale)) + margin, left: int(np.ceil(x2 * scale)) + margin] = 0
    return mask


def _features(grey: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    keypoints, descriptors = cv2.ORB_create(FEATURES, fastThreshold=FAST_THRESHOLD).detectAndCompute(grey, mask)
    return np.float32([k.pt for k in keypoints]).reshape(-1, 2), descriptors


def _hull_share(points: np.ndarray, shape: tuple[int, ...]) -> float:
    if len(points) < 3:
        return 0.0
    return float(cv2.contourArea(cv2.convexHull(points.astype(np.float32)))) / float(shape[0] * shape[1])


def _same_view(thumb: np.ndarray, last: np.ndarray, boxes: Boxes, frame_width: int) -> bool:
    """True when at most ``PRECHECK_CHANGED`` of the thumbnail's cells outside the boxes changed."""
    if thumb.shape != last.shape:
        return False
    h, w = thumb.shape[0] // CELL_PX, thumb.shape[1] // CELL_PX
    difference = cv2.absdiff(thumb[: h * CELL_PX, : w * CELL_PX], last[: h * CELL_PX, : w * CELL_PX])
    cells = cv2.resize(difference, (w, h), interpolation=cv2.INTER_AREA).reshape(h, w, -1).max(axis=2)
    static = _static_mask((h, w), boxes, thumb.shape[1] / frame_width / CELL_PX, margin=0) > 0
    return bool(static.any()) and float((cells[static] > CELL_CHANGE).mean()) <= PRECHECK_CHANGED
