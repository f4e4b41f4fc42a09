"""Arithmetic on ``x1, y1, x2, y2`` boxes (numpy, source-frame pixels), for every stage that compares or cuts boxes.

Where an evidence crop is cut is ``contracts.boxes.crop_window`` (the reviewers' export needs it too).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from contracts.boxes import CROP_MARGIN, crop_window


def box_area(xyxy) -> np.ndarray:
    """Area of one box (a 0-d array) or of each of a set of boxes, in the boxes' own dtype.

    >>> float(box_area([10, 20, 50, 80]))
    2400.0
    >>> box_area(np.array([[0, 0, 2, 3], [1, 1, 2, 2]])).tolist()
    [6, 1]
    """
    b = np.asarray(xyxy)
    return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])


def box_iou(a, b) -> np.ndarray:
    """(len(a), len(b)) intersection over union of two sets of boxes (single boxes count as sets of one).

    >>> box_iou([0, 0, 10, 10], [[0, 0, 10, 5], [20, 20, 30, 30]]).tolist()
    [[0.5, 0.0]]
    """
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    inter = _intersection(a, b)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def box_coverage(a, b) -> np.ndarray:
    """(len(a), len(b)) share of each box in ``a`` covered by each box in ``b``.

    >>> box_coverage([0, 0, 10, 10], [[5, 0, 15, 10], [0, 0, 20, 20]]).tolist()
    [[0.5, 1.0]]
    """
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    return _intersection(a, b) / np.maximum(box_area(a)[:, None], 1e-9)


def boxes_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two boxes share some area (touching edges do not).

    >>> boxes_overlap([0, 0, 10, 10], [9, 9, 20, 20]), boxes_overlap([0, 0, 10, 10], [10, 0, 20, 10])
    (True, False)
    """
    return bool(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def enclosing_box(boxes: Sequence[np.ndarray]) -> np.ndarray:
    """The smallest box holding all ``boxes`` (float32).

    >>> enclosing_box([np.array([0, 5, 10, 10]), np.array([4, 0, 12, 8])]).tolist()
    [0.0, 0.0, 12.0, 10.0]
    """
    stacked = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return np.concatenate([stacked[:, :2].min(axis=0), stacked[:, 2:].max(axis=0)])


def expand_box(xyxy: np.ndarray, share: float) -> np.ndarray:
    """The box grown on every side by ``share`` of its longer side (float32).

    >>> expand_box(np.array([10, 10, 30, 20]), 0.5).tolist()
    [0.0, 0.0, 40.0, 30.0]
    """
    margin = share * max(float(xyxy[2] - xyxy[0]), float(xyxy[3] - xyxy[1]))
    return np.array([xyxy[0] - margin, xyxy[1] - margin, xyxy[2] + margin, xyxy[3] + margin], dtype=np.float32)


def crop(image: np.ndarray, xyxy: Sequence[float], margin: float = CROP_MARGIN) -> np.ndarray:
    """A copy of the box with ``margin`` of its size around it, clipped to the frame; a 1x1 speck when less than
    2 pixels of it are in the frame.

    >>> crop(np.zeros((100, 200, 3), np.uint8), [150, 40, 250, 60]).shape
    (28, 70, 3)
    """
    left, top, right, bottom = crop_window(xyxy, (image.shape[1], image.shape[0]), margin)
    if right - left < 2 or bottom - top < 2:
        return image[0:1, 0:1].copy()
    return image[top:bottom, left:right].copy()


def covering_window(xyxy: Sequence[float], frame_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The whole pixels ``(left, top, right, bottom)`` covering the box, clipped to a frame of ``(width, height)``.

    >>> covering_window((-3.5, 10.2, 20.1, 30.9), (640, 480))
    (0, 10, 21, 31)
    """
    width, height = frame_size
    left, top = max(0, int(xyxy[0])), max(0, int(xyxy[1]))
    return left, top, min(width, int(np.ceil(xyxy[2]))), min(height, int(np.ceil(xyxy[3])))


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    return np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
