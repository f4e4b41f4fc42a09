"""Where an evidence crop is cut: pure arithmetic on an ``x1, y1, x2, y2`` box, so the pipeline that cuts the crop
and the reviewers' dataset export that labels the object inside it use one rule."""

from __future__ import annotations

import math
from collections.abc import Sequence

CROP_MARGIN = 0.2  # share of the box's width (height) added left and right (above and below) of an evidence crop


def crop_window(xyxy: Sequence[float], frame_size: tuple[int, int] | None = None,
                margin: float = CROP_MARGIN) -> tuple[int, int, int, int]:
    """The pixels ``(left, top, right, bottom)`` of the box grown by ``margin`` of its size on each side (a negative
    margin shrinks it), clipped to a frame of ``frame_size`` ``(width, height)`` (unclipped on the right and bottom
    without one). Coordinates are truncated to whole pixels; slice ``frame[top:bottom, left:right]``.

    >>> crop_window((100, 50, 200, 100))
    (80, 40, 220, 110)
    >>> crop_window((100, 50, 200, 100), frame_size=(210, 480))
    (80, 40, 210, 110)
    >>> crop_window((100, 50, 200, 100), frame_size=(640, 480), margin=-0.15)
    (115, 57, 185, 92)
    """
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    width, height = frame_size if frame_size is not None else (math.inf, math.inf)
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    return int(max(0, x1 - mx)), int(max(0, y1 - my)), int(min(width, x2 + mx)), int(min(height, y2 + my))
