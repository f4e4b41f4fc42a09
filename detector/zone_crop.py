"""Feed the network only the part of the frame the camera's zones need (``detect: {crop: zones}``).

The crop is the bounding box of the camera's non-ignore zones as they lie now (re-anchored when the view
shifted), grown by ``MARGIN`` of its width on the left and right and of its height above and below (objects
standing across a zone's edge) and raised by its height (an object standing in a zone reaches above it), clipped
to the frame. It is fed at the scale the whole frame would get, so every object is at least as large at the
network input as without the crop (the size ``streetorder models sizes`` recommends stays right), letterboxed to
its own aspect: fewer pixels, less work. Boxes come back in the frame's pixels. Objects outside the crop are not
detected at all: nothing there reaches the tracker, the view check's blanking or the evidence. When the view
moved (no zones to trust) or no zone has a polygon, the whole frame is fed. A fixed-shape model (an INT8 file) is
fed the crop at its own shape: the same work, larger objects.

Example:
    >>> crop_region([[(100, 200), (300, 200), (300, 250)]], (640, 360))
    (70, 142, 330, 258)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from detector.detections import Detections
from detector.load import Detector
from models.registry import STRIDE

MARGIN = 0.15  # of the zones' extent, on every side: a car half across a zone's edge is still seen whole

Polygons = Sequence[Sequence[tuple[float, float]]]


def crop_region(polygons: Polygons, frame_size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The whole pixels ``(left, top, right, bottom)`` of a ``(width, height)`` frame that the zones need (see the
    module docstring); None when there is no polygon."""
    points = np.asarray([p for polygon in polygons for p in polygon], dtype=np.float64).reshape(-1, 2)
    if not len(points):
        return None
    (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
    dx, dy = MARGIN * (x2 - x1), MARGIN * (y2 - y1)
    width, height = frame_size
    left, right = max(0, int(np.floor(x1 - dx))), min(width, int(np.ceil(x2 + dx)))
    top, bottom = max(0, int(np.floor(y1 - (y2 - y1) - dy))), min(height, int(np.ceil(y2 + dy)))
    return (left, top, right, bottom) if right - left >= STRIDE and bottom - top >= STRIDE else None


class ZoneCrop:
    """A detector that sees only the crop of each frame its camera's zones need.

    ``zones`` are the non-ignore zones' polygons (the config's); ``follow`` points it at a function giving them as
    they lie in the current frame, or None for the whole frame (a view that moved): the pipeline's.
    """

    def __init__(self, detector: Detector, zones: Polygons):
        self.detector = detector
        self.zones: Callable[[], Polygons | None] = lambda: zones
        self.class_names = detector.class_names

    def follow(self, zones: Callable[[], Polygons | None]) -> None:
        self.zones = zones

    def window(self, image: np.ndarray) -> tuple[int, int, int, int] | None:
        """The crop the next ``detect`` of a frame like ``image`` feeds (None: the whole frame)."""
        polygons = self.zones()
        return None if polygons is None else crop_region(polygons, (image.shape[1], image.shape[0]))

    def detect(self, image: np.ndarray) -> Detections:
        window = self.window(image)
        if window is None:
            return self.detector.detect(image)
        left, top, right, bottom = window
        part = image[top:bottom, left:right]
        shape = self._shape(image, part)
        found = self.detector.detect(part) if shape is None else self.detector.detect(part, shape)
        found.xyxy += np.array([left, top, left, top], dtype=np.float32)
        return found

    def _shape(self, image: np.ndarray, part: np.ndarray) -> tuple[int, int] | None:
        """The crop's network input at the whole frame's scale (None: the backend picks, e.g. a fixed-shape model's
        own shape, or Ultralytics' ``imgsz``)."""
        if getattr(self.detector, "input_size", True) is not None:
            return None
        full_h, full_w = self.detector.shape_for(image)
        scale = min(full_h / image.shape[0], full_w / image.shape[1])
        return tuple(-(-round(side * scale) // STRIDE) * STRIDE for side in part.shape[:2])  # type: ignore[return-value]


def zone_polygons(zones) -> list[list[tuple[float, float]]]:
    """The polygons of the zones that can hold an object the rules look at (all but ``ignore``)."""
    return [list(z.polygon) for z in zones if z.type != "ignore" and z.polygon]
