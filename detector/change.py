"""Skip inference on frames where nothing changed, while still re-confirming resting objects by real inference.

A fixed camera at night, or over a quiet street, sends frames that differ only by noise where it matters: in and
above its zones (``watched_region``). ``ChangeGate`` compares a small colour thumbnail of that part of each frame
with the one of the last frame the detector saw, cell by cell; when no cell changed, the frame reuses that frame's
detections (the objects are where they were). At least every ``reconfirm_every`` seconds the detector runs anyway,
so resting objects are confirmed by real inference often enough for the timers, slow changes (dusk, a shadow)
cannot hide anything for longer than that, and a passing object outside the region, frozen at its last detected
place meanwhile, cannot seem to rest (keep ``reconfirm_every`` below ``resting.rest_window``).

Example:
    >>> gate = ChangeGate(reconfirm_every=5.0)
    >>> still = np.full((360, 640, 3), 90, np.uint8)
    >>> [gate.needs_inference(still, t) for t in (0.0, 1.0, 2.0)]
    [True, False, False]
    >>> moved = still.copy(); moved[200:260, 300:340] = 200       # a person walks in
    >>> gate.needs_inference(moved, 3.0), gate.needs_inference(moved, 4.0), gate.needs_inference(moved, 8.0)
    (True, False, True)
"""

from __future__ import annotations

import cv2
import numpy as np

from detector.boxes import covering_window

THUMB_WIDTH = 320  # a 1080p frame is averaged over 6x6 pixels: sensor noise and compression flicker vanish
CELL_PX = 8  # cells of 8x8 thumbnail pixels: 48x48 px of a 1080p frame, 16x16 of a 360p one
CELL_CHANGE = 6.0  # mean absolute difference of a cell (in its most changed colour channel) that is a change


class ChangeGate:
    """Decide per frame whether the detector must run (see the module docstring)."""

    def __init__(self, reconfirm_every: float = 5.0, cell_change: float = CELL_CHANGE,
                 region: tuple[float, float, float, float] | None = None):
        self.reconfirm_every = reconfirm_every
        self.cell_change = cell_change
        self.region = region  # x1, y1, x2, y2: only changes here count (the zones and what stands on them)
        self._reference: np.ndarray | None = None
        self._reference_t = float("-inf")
        self.inferred = 0
        self.skipped = 0

    def needs_inference(self, image: np.ndarray, t: float) -> bool:
        """True if the detector must run on this frame (then it becomes the reference for the next ones)."""
        thumb = region_thumbnail(image, self.region)
        due = t - self._reference_t >= self.reconfirm_every or t < self._reference_t
        if due or thumbnails_differ(thumb, self._reference, self.cell_change):
            self._reference, self._reference_t = thumb, t
            self.inferred += 1
            return True
        self.skipped += 1
        return False


def region_thumbnail(image: np.ndarray, region: tuple[float, float, float, float] | None) -> np.ndarray:
    """The ``thumbnail`` of the part of ``image`` in ``region`` (None: the whole frame)."""
    return thumbnail(_crop(image, region))


def thumbnails_differ(thumb: np.ndarray, reference: np.ndarray | None, cell_change: float = CELL_CHANGE) -> bool:
    """True when some cell of ``thumb`` changed by more than ``cell_change`` against ``reference`` (no reference,
    or another size: changed)."""
    if reference is None or thumb.shape != reference.shape:
        return True
    difference = cv2.absdiff(thumb, reference)
    h, w = difference.shape[0] // CELL_PX, difference.shape[1] // CELL_PX
    if not h or not w:
        return bool((difference.mean(axis=(0, 1)) > cell_change).any())
    cells = cv2.resize(difference[: h * CELL_PX, : w * CELL_PX], (w, h), interpolation=cv2.INTER_AREA)  # block means
    return bool((cells > cell_change).any())


def watched_region(polygons: list[list[tuple[float, float]]]) -> tuple[float, float, float, float] | None:
    """The part of the frame whose changes matter to zones: their bounding box, widened by a tenth of its size on
    every side and raised by its height (an object standing in a zone reaches above it).

    >>> watched_region([[(100, 200), (300, 200), (300, 250)]])
    (80.0, 145.0, 320.0, 255.0)
    """
    if not polygons:
        return None
    points = np.asarray([point for polygon in polygons for point in polygon], dtype=np.float64)
    (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
    w, h = x2 - x1, y2 - y1
    return float(x1 - 0.1 * w), float(y1 - h - 0.1 * h), float(x2 + 0.1 * w), float(y2 + 0.1 * h)


def _crop(image: np.ndarray, region: tuple[float, float, float, float] | None) -> np.ndarray:
    if region is None:
        return image
    x1, y1, x2, y2 = covering_window(region, (image.shape[1], image.shape[0]))
    return image[y1:y2, x1:x2] if x2 - x1 >= CELL_PX and y2 - y1 >= CELL_PX else image


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The frame at most ``THUMB_WIDTH`` wide (area-averaged), in colour, as float32: a red coat on a grey road of
    the same brightness is a change too."""
    h, w = image.shape[:2]
    if w > THUMB_WIDTH:  # only ever shrink: a small region keeps its own pixels
        image = cv2.resize(image, (THUMB_WIDTH, max(CELL_PX, round(h * THUMB_WIDTH / w))), interpolation=cv2.INTER_AREA)
    return image.astype(np.float32)
