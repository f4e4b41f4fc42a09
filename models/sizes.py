"""The input size a camera needs, from the sizes of the objects in its zones.

Inference cost grows with the square of the input side (320x192 runs about 4x faster than 640x384), but an object
shrinks with it: one whose side (the square root of its box area) falls under 32 px at the network's input is a
COCO "small" object, where nano models lose about half their AP. So each camera gets the smallest input size at
which the small end of its zones' objects (the 10th percentile) stays at or above that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CANDIDATES = (320, 480, 640)
MIN_SIDE_PX = 32.0  # COCO's boundary between small and medium objects (32x32 px)
PERCENTILE = 10.0


def object_sides(xyxy: np.ndarray) -> np.ndarray:
    """Square root of each box's area, in the frame's pixels.

    >>> object_sides(np.array([[0, 0, 40, 90], [10, 10, 20, 20]])).tolist()
    [60.0, 10.0]
    """
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.sqrt(np.clip(xyxy[:, 2] - xyxy[:, 0], 0, None) * np.clip(xyxy[:, 3] - xyxy[:, 1], 0, None))


def recommend_imgsz(sides: Sequence[float], frame_size: tuple[int, int],
                    candidates: Sequence[int] = CANDIDATES, min_side: float = MIN_SIDE_PX) -> int:
    """The smallest of ``candidates`` at which the 10th-percentile object side is at least ``min_side`` px at the
    network's input (the long side of a ``frame_size`` frame scaled to the candidate); the largest if none is, or
    if no object was seen.

    >>> recommend_imgsz([300, 200, 250], (1920, 1080))    # big objects in a 1080p frame: 320 keeps them >= 32 px
    320
    >>> recommend_imgsz([120, 140, 100], (1920, 1080))    # 100 px at 1080p is 25 px at 480, 33 px at 640
    640
    >>> recommend_imgsz([], (640, 360))
    640
    """
    ordered = sorted(candidates)
    if not len(sides):
        return ordered[-1]
    small = float(np.percentile(np.asarray(sides, dtype=np.float64), PERCENTILE))
    for size in ordered:
        if small * size / max(frame_size) >= min_side:
            return size
    return ordered[-1]
